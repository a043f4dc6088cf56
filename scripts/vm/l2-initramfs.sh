#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the nested guest's (L2) base initramfs for KVER into .vm-out/.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
kver=${1:-$("$(dirname "$0")/../kver.sh")}
out=$top/.vm-out/l2-initramfs-$kver.cpio.gz
mkdir -p "$top/.vm-out"
if [ ! -f "$out" ] || [ "$out" -ot "$top/selftests/vhost-vfio/l2-init" ]; then
	"$top/scripts/vm/mkinitramfs.sh" "$kver" "$out" \
		"$top/selftests/vhost-vfio/l2-init" virtio_pci virtio_net
fi
echo "$out"
