#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: build, boot the hypervisor-host VM (L1), and inside it load
# vhost-vfio, turn a virtio-net function into an mdev through sysfs,
# provision it, and boot a nested guest (L2) on it with stock QEMU.
# VV_HOST=debian13 (`make demo HOST=debian13`): the same on the Debian 13
# host (its root built first if needed, the modules built in it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
host=${VV_HOST:-debian12}
name=demo
[ "$host" = debian12 ] || name=demo-$host
"$top/scripts/vm/host-prepare.sh" "$host"
echo "demo: booting the host VM ($host, TCG, about 10 s) ..."
exec scripts/vm-run.sh --host "$host" --name "$name" --timeout 900 -- scripts/vm/demo-l1.sh
