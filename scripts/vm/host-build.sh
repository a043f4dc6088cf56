#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/vm/host-build.sh HOST [MAKE ARGUMENT...]
#
# Run `make MAKE ARGUMENT...` (default: modules selftests) for host HOST's
# kernel with HOST's own compiler (scripts/vm/hosts.sh).  For debian12 that
# is the build machine itself, in the tree.  For debian13 it runs in a
# chroot of the Debian 13 root (its gcc 14, its 6.12 headers, its sparse),
# on a copy of the tree's sources in .vm-out/build-debian13, so that the
# 6.1 build in the tree and the 6.12 build there coexist; L1 of that host
# loads the modules and runs the test binaries from there (vm-run.sh sets
# VV_KO_DIR and VV_BIN).  The copy keeps its objects between runs (only
# changed sources are rebuilt).  The chroot is an overlay on the cached
# root, in a private mount namespace: the root itself is never written.
# The kselftest harness header comes from the build machine's
# linux-source-6.1 (LINUX_SRC, shared read-only), as for the tree's build;
# checkpatch runs on the build machine only (the sources are the same).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vv_top=$top
# shellcheck source=scripts/vm/hosts.sh
. "$top/scripts/vm/hosts.sh"
[ $# -ge 1 ] || { sed -n '4,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
host=$1
shift
[ $# -gt 0 ] || set -- modules selftests
vv_host "$host"

if [ "$vv_host_root" = / ]; then
	exec make -C "$top" KVER="$vv_host_kver" "$@"
fi
[ "$(id -u)" = 0 ] || { echo "host-build: need root for the $host chroot" >&2; exit 1; }

build=$vv_host_build
src=${LINUX_SRC:-/usr/src/linux-source-6.1}
mkdir -p "$build"
# The sources (the copy's modification times are the tree's, so make
# rebuilds exactly what changed).  Sources removed from the tree are
# removed from the copy; objects stay.
(cd "$top" && tar -c --exclude-vcs --exclude=.vm-out \
	--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude='.*.cmd' --exclude='*.a' --exclude=modules.order \
	--exclude=Module.symvers --exclude='selftests/vhost-vfio/bin' \
	--exclude='.*.d' --exclude='*.o.d' --exclude=__pycache__ \
	Kbuild Kconfig Makefile dkms.conf drivers include selftests tools scripts) |
	tar -x -C "$build"
(cd "$build" && find drivers include selftests tools scripts -type f \
	\( -name '*.[ch]' -o -name '*.sh' -o -name '*.py' -o -name Makefile -o -name Kbuild \) |
	while read -r f; do [ -e "$top/$f" ] || rm -f "$f"; done)

echo "host-build: $host ($vv_host_kver, $(chroot "$vv_host_root" gcc --version | head -n 1)): make $*" >&2
binds=(-b "$build:$build")
[ ! -d "$src" ] || binds+=(-r "$src:$src")
# shellcheck disable=SC2016 # expanded in the chroot
vv_chroot "$vv_host_root" "${binds[@]}" -- \
	bash -c 'cd "$0" && exec make "$@"' "$build" "$@"
