#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: the nested-guest network benchmark, mdev vs vfio-pci
# passthrough, in one host-VM run.  Numbers, not verdicts.  VV_HOST=debian13
# (`make bench HOST=debian13`) runs it on the Debian 13 host.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
host=${VV_HOST:-debian12}
name=bench
[ "$host" = debian12 ] || name=bench-$host
"$top/scripts/vm/host-prepare.sh" "$host"
scripts/vm-run.sh --quiet --host "$host" --name "$name" --timeout 1800 --mem 6G -- scripts/vm/bench-l1.sh
cat ".vm-out/$name/bench-table.txt"
