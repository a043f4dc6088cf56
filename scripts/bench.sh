#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: the nested-guest network benchmark, mdev vs vfio-pci
# passthrough (and vhost-vdpa on the Debian 13 host), in one host-VM run.
# Numbers, not verdicts.  VV_HOST=debian13 (`make bench HOST=debian13`)
# runs it on the Debian 13 host, where the vDPA baseline driver is built
# first from Debian's kernel source package (scripts/vm/vdpa-build.sh).
# Function B has one notify page per queue (page-per-vq=on) in every
# column: vhost-vdpa maps only page-sized, page-aligned doorbells.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
host=${VV_HOST:-debian12}
name=bench
[ "$host" = debian12 ] || name=bench-$host
"$top/scripts/vm/host-prepare.sh" "$host"
[ "$host" = debian12 ] || "$top/scripts/vm/vdpa-build.sh" "$host" > /dev/null
scripts/vm-run.sh --quiet --host "$host" --name "$name" --timeout 5400 --mem 6G \
	--nic-opts 1:page-per-vq=on -- scripts/vm/bench-l1.sh
# Live migration needs a third function on the hub, which would take a
# copy of every frame of the table above: an L1 of its own.  QEMU 7.2
# (Debian 12) has no VFIO migration v2.
if [ "$host" != debian12 ]; then
	scripts/vm-run.sh --quiet --host "$host" --name "$name-migrate" --timeout 3600 \
		--nics 3 -- scripts/vm/bench-migrate-l1.sh
	cat ".vm-out/$name-migrate/bench-table.txt" >> ".vm-out/$name/bench-table.txt"
fi
cat ".vm-out/$name/bench-table.txt"
