#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mkinitramfs.sh [--root DIR] KVER OUT.cpio.gz INIT MODULE...
#
# Build a tiny busybox initramfs for KVER holding INIT as /init and the named
# kernel modules with their dependencies (in load order, listed in
# /modules.order).  Used both for the host VM (L1: 9p + overlay to reach the
# build host's filesystem) and for the nested guest (L2: virtio_net).  The
# modules come from DIR/lib/modules/KVER (default: the build machine's);
# compressed ones (Debian 13 ships .ko.xz) are stored decompressed, since
# busybox insmod loads only plain ones.  busybox is always the build
# machine's static one.
set -euo pipefail

modroot=/
if [ "${1:-}" = --root ]; then
	modroot=$2
	shift 2
fi
kver=$1 out=$2 init=$3
shift 3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work"/{bin,dev,proc,sys,lib/modules,newroot,ro,rw,etc}
cp /bin/busybox "$work/bin/busybox"
for applet in sh mount umount mkdir insmod switch_root cat echo sleep \
	ip ping nc md5sum dd poweroff reboot grep sed head tail ls mknod \
	ifconfig wc tr cut printf seq udhcpc hexdump find uname; do
	ln -s busybox "$work/bin/$applet"
done
install -m 0755 "$init" "$work/init"

: > "$work/modules.order"
for mod in "$@"; do
	modprobe -d "$modroot" -S "$kver" --show-depends "$mod" | while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		base=$(basename "$path")
		name=${base%.xz}
		name=${name%.zst}
		grep -qx "$name" "$work/modules.order" && continue
		case "$path" in
		*.ko.xz) xz -dc "$path" > "$work/lib/modules/$name";;
		*.ko.zst) zstd -qdc "$path" > "$work/lib/modules/$name";;
		*) cp "$path" "$work/lib/modules/$name";;
		esac
		echo "$name" >> "$work/modules.order"
	done
done

(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
