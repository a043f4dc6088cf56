#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkinitramfs.sh KVER OUT.cpio.gz INIT MODULE...
#
# Build a tiny busybox initramfs for KVER holding INIT as /init and the named
# kernel modules with their dependencies (in load order, listed in
# /modules.order).  Used both for the host VM (L1: 9p + overlay to reach the
# build host's filesystem) and for the nested guest (L2: virtio_net).
set -euo pipefail

kver=$1 out=$2 init=$3
shift 3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work"/{bin,dev,proc,sys,lib/modules,newroot,ro,rw,etc}
cp /bin/busybox "$work/bin/busybox"
for applet in sh mount umount mkdir insmod switch_root cat echo sleep \
	ip ping nc md5sum dd poweroff reboot grep sed head tail ls mknod \
	ifconfig wc tr cut printf seq udhcpc hexdump find; do
	ln -s busybox "$work/bin/$applet"
done
install -m 0755 "$init" "$work/init"

: > "$work/modules.order"
for mod in "$@"; do
	modprobe -S "$kver" --show-depends "$mod" | while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		base=$(basename "$path")
		grep -qx "$base" "$work/modules.order" && continue
		case "$path" in
		*.ko.xz) xz -dc "$path" > "$work/lib/modules/${base%.xz}"
			 echo "${base%.xz}" >> "$work/modules.order";;
		*) cp "$path" "$work/lib/modules/$base"
		   echo "$base" >> "$work/modules.order";;
		esac
	done
done

(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
