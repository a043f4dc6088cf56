#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/vm/debian13-root.sh [--dir|--kver|--stamp-ok]
#
# Build, once, the root file system of the second host generation: Debian 13
# (trixie: Linux 6.12, QEMU 10, gcc 14).  It serves as L1's root for
# `vm-run.sh --host debian13` (read-only over 9p, like the build machine's /
# for the Debian 12 host) and as the chroot the modules and selftests are
# built in for its kernel (scripts/vm/root-build.sh).
#
# Cached outside the work tree in $VV_DEBIAN13_ROOT (default
# /var/cache/vhost-vfio/debian13-root), shared by every checkout.  A stamp in
# the root records the recipe (suite, package lists, RECIPE); when the
# recipe in this script changes, the root is built again from scratch.
# Idempotent: an up-to-date root is left alone.  The new root is built
# beside the old one and swapped in when complete, so an interrupted build
# never leaves a half root in place; concurrent runs wait on a lock.
# Needs root, debootstrap and the network to the Debian mirror of
# /etc/apt/sources.list.d/debian.sources; about 5 minutes and 1.2 GB.
#
#   --dir       print the root's directory (does not build)
#   --kver      print the kernel version in the root (does not build)
#   --stamp-ok  exit 0 if the root is built and up to date (does not build)
set -euo pipefail

ROOT=${VV_DEBIAN13_ROOT:-/var/cache/vhost-vfio/debian13-root}
SUITE=trixie
# Bump when the steps below change in a way the package lists do not show.
RECIPE=1
# The kernel the VM boots and the headers we build against (same version);
# the compiler and kbuild's needs: pahole (dwarves) for the BTF step of the
# 6.12 headers, full perl for W=1's kernel-doc, sparse.
PKGS_BUILD="linux-image-amd64 linux-headers-amd64 gcc make libc6-dev dwarves
	perl sparse"
# What the suite and the demo run inside L1 (the Debian 12 host has the same
# from scripts/install-deps.sh).
PKGS_L1="qemu-system-x86 kmod iproute2 iputils-ping pciutils uuid-runtime
	mdevctl busybox-static cpio xz-utils gzip procps python3 inotify-tools
	hostname util-linux ipxe-qemu"

stamp_text() {
	printf 'suite %s\nrecipe %s\nbuild %s\nl1 %s\n' "$SUITE" "$RECIPE" \
		"$(echo $PKGS_BUILD)" "$(echo $PKGS_L1)"
}
stamp_file=etc/vhost-vfio-root.stamp

stamp_ok() {
	[ -f "$1/$stamp_file" ] && [ "$(cat "$1/$stamp_file")" = "$(stamp_text)" ]
}

root_kver() {
	ls "$1/lib/modules" 2> /dev/null | sort -V | tail -n 1
}

case "${1:-}" in
--dir) echo "$ROOT"; exit 0;;
--kver) k=$(root_kver "$ROOT"); [ -n "$k" ] && echo "$k"; exit $?;;
--stamp-ok) stamp_ok "$ROOT"; exit $?;;
"") ;;
*) sed -n '4,/^set -e/p' "$0" | sed 's/^# \{0,1\}//; /^set -e/d' >&2; exit 2;;
esac

if stamp_ok "$ROOT"; then
	echo "debian13-root: up to date: $ROOT (kernel $(root_kver "$ROOT"))"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "debian13-root: need root to build $ROOT" >&2; exit 1; }
command -v debootstrap > /dev/null ||
	{ echo "debian13-root: debootstrap missing (scripts/install-deps.sh)" >&2; exit 1; }

mkdir -p "$(dirname "$ROOT")"
exec 9> "$ROOT.lock"
flock 9
# Someone else may have built it while we waited.
if stamp_ok "$ROOT"; then
	echo "debian13-root: up to date: $ROOT (kernel $(root_kver "$ROOT"))"
	exit 0
fi

mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2> /dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
new=$ROOT.new
rm -rf "$new" "$ROOT.old"
start=$(date +%s)
echo "debian13-root: debootstrap $SUITE from $mirror into $new"
debootstrap --variant=minbase "$SUITE" "$new" "$mirror" > "$ROOT.log" 2>&1 ||
	{ tail -n 30 "$ROOT.log" >&2; echo "debian13-root: debootstrap failed (log $ROOT.log)" >&2; exit 1; }
echo "debian13-root: debootstrap done in $(($(date +%s) - start)) s"

# Chroot hygiene: no service starts, no recommends, no documentation, and no
# initramfs for the kernel (L1 boots with our own initramfs, and building
# one in a chroot costs a minute): update-initramfs is diverted to a no-op
# before initramfs-tools is even unpacked.
printf '#!/bin/sh\nexit 101\n' > "$new/usr/sbin/policy-rc.d"
chmod 0755 "$new/usr/sbin/policy-rc.d"
cat > "$new/etc/apt/apt.conf.d/90vhost-vfio" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
cat > "$new/etc/dpkg/dpkg.cfg.d/90vhost-vfio" <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
echo vv-l1 > "$new/etc/hostname"

# Everything that mounts runs in a private mount namespace: nothing leaks
# into the build machine, whatever happens.
in_root() {
	unshare -m --propagation private bash -c '
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount --rbind /dev "$r/dev"
		exec chroot "$r" "$@"' _ "$new" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}

in_root dpkg-divert --local --rename --add /usr/sbin/update-initramfs > /dev/null
printf '#!/bin/sh\nexit 0\n' > "$new/usr/sbin/update-initramfs"
chmod 0755 "$new/usr/sbin/update-initramfs"

t=$(date +%s)
# shellcheck disable=SC2086
if ! { in_root apt-get update -qq &&
       in_root apt-get install -y -qq $PKGS_BUILD $PKGS_L1; } >> "$ROOT.log" 2>&1; then
	tail -n 30 "$ROOT.log" >&2
	echo "debian13-root: apt-get in the root failed (log $ROOT.log)" >&2
	exit 1
fi
in_root apt-get clean
rm -rf "$new"/var/lib/apt/lists/*
echo "debian13-root: packages installed in $(($(date +%s) - t)) s"

kver=$(root_kver "$new")
[ -n "$kver" ] && [ -f "$new/boot/vmlinuz-$kver" ] && [ -d "$new/lib/modules/$kver/build" ] ||
	{ echo "debian13-root: no kernel with headers in the root" >&2; exit 1; }
in_root depmod -a "$kver"
chmod 0644 "$new/boot/vmlinuz-$kver"

stamp_text > "$new/$stamp_file"
[ -d "$ROOT" ] && mv "$ROOT" "$ROOT.old"
mv "$new" "$ROOT"
rm -rf "$ROOT.old"
echo "debian13-root: built $ROOT in $(($(date +%s) - start)) s: Debian $(cat "$ROOT/etc/debian_version"), kernel $kver, $(chroot "$ROOT" qemu-system-x86_64 --version | head -n 1), $(chroot "$ROOT" gcc --version | head -n 1)"
