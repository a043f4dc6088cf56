#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# l2-initramfs.sh [--host NAME | KVER]: the nested guest's (L2) kernel and
# base initramfs, from host NAME's root (scripts/vm/hosts.sh; default
# debian12, the build machine's, whose kernel KVER may also be named), into
# .vm-out/: l2-initramfs-KVER.cpio.gz and l2-vmlinuz-KVER, a copy of the
# kernel, so that an L1 of either host can boot either kernel as L2.
# Prints the initramfs' path.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vv_top=$top
# shellcheck source=scripts/vm/hosts.sh
. "$top/scripts/vm/hosts.sh"
host=debian12
case "${1:-}" in
--host) host=$2;;
"") ;;
*) export KVER=$1;;
esac
vv_host "$host"
kver=$vv_host_kver
out=$top/.vm-out/l2-initramfs-$kver.cpio.gz
kernel=$top/.vm-out/l2-vmlinuz-$kver
mkdir -p "$top/.vm-out"
if [ ! -f "$out" ] || [ "$out" -ot "$top/selftests/vhost-vfio/l2-init" ] ||
   [ "$out" -ot "$vv_host_kernel" ]; then
	"$top/scripts/vm/mkinitramfs.sh" --root "$vv_host_root" "$kver" "$out" \
		"$top/selftests/vhost-vfio/l2-init" virtio_pci virtio_net
fi
if [ ! -f "$kernel" ] || ! cmp -s "$kernel" "$vv_host_kernel"; then
	cp "$vv_host_kernel" "$kernel.tmp"
	mv "$kernel.tmp" "$kernel"
fi
echo "$out"
