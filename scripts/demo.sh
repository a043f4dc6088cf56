#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: build, boot the hypervisor-host VM (L1), and inside it load
# vhost-vfio, turn a virtio-net function into an mdev through sysfs,
# provision it, and boot a nested guest (L2) on it with stock QEMU.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
echo "demo: building modules and test tools"
make -s WERROR=1 2>&1 | grep -v 'Skipping BTF' || true
make -s selftests > /dev/null
scripts/vm/l2-initramfs.sh > /dev/null
echo "demo: booting the host VM (TCG, about 10 s) ..."
exec scripts/vm-run.sh --name demo --timeout 900 -- scripts/vm/demo-l1.sh
