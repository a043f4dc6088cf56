#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: the nested-guest network benchmark, mdev vs vfio-pci
# passthrough, in one host-VM run.  Numbers, not verdicts.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s WERROR=1 2>&1 | grep -v 'Skipping BTF' || true
make -s selftests > /dev/null
scripts/vm/l2-initramfs.sh > /dev/null
scripts/vm-run.sh --quiet --name bench --timeout 1800 --mem 6G -- scripts/vm/bench-l1.sh
cat .vm-out/bench/bench-table.txt
