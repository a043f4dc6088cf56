#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/vm/vdpa-build.sh HOST
#
# Build the benchmark's comparison driver, vp_vdpa.ko (virtio-pci as a vDPA
# device, drivers/vdpa/virtio_pci/vp_vdpa.c), for host HOST's kernel
# (scripts/vm/hosts.sh): Debian's 6.12 kernels build vdpa and vhost_vdpa but
# not vp_vdpa.  The source comes from the distribution's own source package
# (linux-source-<series>, the version of the kernel image if the mirror
# still has it), fetched and unpacked at benchmark time in a throw-away
# overlay of HOST's root (the root itself is never written), and is built
# there with the root's compiler against the root's headers.  Only the
# module and a note of where it came from are kept, in
# .vm-out/vdpa-HOST/: a baseline for `make bench`, never shipped, never
# part of the tree.  A module already built for the same kernel is reused.
# Prints the module's path.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vv_top=$top
# shellcheck source=scripts/vm/hosts.sh
. "$top/scripts/vm/hosts.sh"
[ $# = 1 ] || { sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
host=$1
vv_host "$host"
out=$top/.vm-out/vdpa-$host
ko=$out/vp_vdpa.ko
if [ -f "$ko" ] && [ "$(cat "$out/kver" 2> /dev/null)" = "$vv_host_kver" ] &&
   [ "$out/vdpa-ringsize" -nt "$top/scripts/vm/vdpa-ringsize.c" ]; then
	echo "$ko"
	exit 0
fi
[ "$vv_host_root" != / ] || { echo "vdpa-build: $host has no vdpa in its kernel" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "vdpa-build: need root for the $host chroot" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
echo "vdpa-build: vp_vdpa.ko for $vv_host_kver from Debian's linux-source package" >&2
# shellcheck disable=SC2016 # expanded in the chroot
vv_chroot "$vv_host_root" -b "$out:/out" -r "$top/scripts/vm:/src" -- \
	env DEBIAN_FRONTEND=noninteractive KVER="$vv_host_kver" bash -c '
	set -e
	apt-get update -qq
	series=${KVER%.*}
	ver=$(dpkg-query -W -f="\${Version}" "linux-image-$KVER")
	# The image'"'"'s own source if the mirror has it, else the newest.
	if apt-get install -y -qq "linux-source-$series=$ver" > /out/apt.log 2>&1; then :; else
		apt-get install -y -qq "linux-source-$series" >> /out/apt.log 2>&1
	fi
	src=$(dpkg-query -W -f="\${Version}" "linux-source-$series")
	mkdir /tmp/vp
	tar -xf "/usr/src/linux-source-$series.tar.xz" -C /tmp/vp --strip-components=4 \
		"linux-source-$series/drivers/vdpa/virtio_pci/vp_vdpa.c"
	echo "obj-m := vp_vdpa.o" > /tmp/vp/Kbuild
	make -s -C "/lib/modules/$KVER/build" M=/tmp/vp modules 2>&1 | grep -v "Skipping BTF" || true
	cp /tmp/vp/vp_vdpa.ko /out/
	gcc -O2 -static -Wall -o /out/vdpa-ringsize /src/vdpa-ringsize.c
	echo "vp_vdpa.c from linux-source-$series $src (kernel image $ver)" > /out/source
	echo "$KVER" > /out/kver'
[ -f "$ko" ] || { echo "vdpa-build: no vp_vdpa.ko (see $out/apt.log)" >&2; exit 1; }
echo "vdpa-build: $(cat "$out/source")" >&2
echo "$ko"
