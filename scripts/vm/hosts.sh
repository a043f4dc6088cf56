# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Sourced, not executed.  The host generations the harness can boot as L1,
# by name:
#
#   debian12  the build machine's own /: Debian 12, Linux 6.1, QEMU 7.2;
#             the modules and selftests are built in the tree itself
#   debian13  the root of scripts/vm/debian13-root.sh: Debian 13, Linux
#             6.12, QEMU 10, gcc 14; built in that root on a copy of the
#             tree in .vm-out/build-debian13 (scripts/vm/host-build.sh)
#
# vv_host NAME sets, for host NAME:
#   vv_host_root    the directory that is L1's / (exported read-only over 9p)
#   vv_host_kver    its kernel (the one L1 boots, the one we build against)
#   vv_host_kernel  that kernel's image
#   vv_host_build   the tree the modules and selftests for it are built in
# and fails, with a message, for an unknown name or a root not built yet.
# $vv_top must be the project's top directory.

VV_HOSTS="debian12 debian13"

vv_host() {
	case "$1" in
	debian12)
		vv_host_root=/
		# Debian 12's own 6.1, even with its 6.12 installed beside it.
		vv_host_kver=${KVER:-$("$vv_top/scripts/kver.sh")}
		vv_host_build=$vv_top
		;;
	debian13)
		vv_host_root=$("$vv_top/scripts/vm/debian13-root.sh" --dir)
		if ! "$vv_top/scripts/vm/debian13-root.sh" --stamp-ok; then
			echo "host debian13: $vv_host_root is missing or out of date: run scripts/vm/debian13-root.sh (as root, about 5 minutes)" >&2
			return 1
		fi
		vv_host_kver=$("$vv_top/scripts/vm/debian13-root.sh" --kver)
		# shellcheck disable=SC2034 # for the scripts that source this
		vv_host_build=$vv_top/.vm-out/build-debian13
		;;
	*)
		echo "unknown host '$1' (known: $VV_HOSTS)" >&2
		return 1
		;;
	esac
	vv_host_kernel=${vv_host_root%/}/boot/vmlinuz-$vv_host_kver
	if [ ! -r "$vv_host_kernel" ]; then
		echo "host $1: $vv_host_kernel missing (run 'make deps')" >&2
		return 1
	fi
}

# vv_chroot ROOT [-b SRC:DST | -r SRC:DST]... -- COMMAND...: run COMMAND in
# a throw-away overlay of ROOT (ROOT itself is never written), in a private
# mount namespace: /proc, /sys, /dev and a fresh /tmp, SRC bound at DST (-b
# read-write, -r read-only), the build machine's resolv.conf (apt reaches
# the registry), and an environment of PATH, HOME and LC_ALL only (give
# COMMAND more with env).  The overlay goes away with COMMAND.
vv_chroot() {
	local root=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private bash -c '
		set -e
		root=$1
		shift
		t=$(mktemp -d)
		mount -t tmpfs tmpfs "$t"
		mkdir -p "$t/upper" "$t/work" "$t/root"
		mount -t overlay overlay \
			-o "lowerdir=$root,upperdir=$t/upper,workdir=$t/work" "$t/root"
		r=$t/root
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs tmpfs "$r/tmp"
		while [ "$1" != -- ]; do
			src=${2%%:*} dst=$r${2#*:}
			mkdir -p "$dst"
			case $1 in
			-b) mount --bind "$src" "$dst";;
			-r) mount --bind -o ro "$src" "$dst";;
			*) echo "vv_chroot: bad option $1" >&2; exit 2;;
			esac
			shift 2
		done
		shift
		cp /etc/resolv.conf "$r/etc/resolv.conf" 2> /dev/null || true
		exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 "$@"' _ "$root" "$@"
}
