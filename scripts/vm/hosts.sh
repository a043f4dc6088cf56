# SPDX-License-Identifier: GPL-2.0-only
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
