#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/dkms.sh install|check
#   install: copy the module sources to /usr/src/vhost-vfio-<version> and
#            `dkms add/build/install` them for every installed kernel
#            dkms.conf supports (KVER=... for one kernel only).
#   check:   add + build under a throw-away version for every installed
#            kernel with headers, then remove it again (what CI runs): the
#            supported ones must build (at least two: 6.1 and 6.12), any
#            other must be skipped cleanly by BUILD_EXCLUSIVE_KERNEL.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-install}
command -v dkms > /dev/null || { echo "dkms.sh: dkms not installed (apt-get install dkms)" >&2; exit 1; }
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
kvers=${KVER:-$(ls /lib/modules | sort -V)}
[ "$mode" = check ] && ver="$ver.check$$"

src=/usr/src/vhost-vfio-$ver
rm -rf "$src"
mkdir -p "$src"
cp -r "$top"/{Kbuild,Kconfig,Makefile,drivers,include} "$src/"
sed "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$ver\"/" "$top/dkms.conf" > "$src/dkms.conf"
find "$src" -name '*.o' -o -name '*.ko' -o -name '*.cmd' -o -name '*.mod*' | xargs rm -f

cleanup_check() {
	dkms remove -m vhost-vfio -v "$ver" --all > /dev/null 2>&1 || true
	rm -rf "$src"
}
[ "$mode" = check ] && trap cleanup_check EXIT

# The kernels dkms.conf admits: those it must build for, the rest it skips.
exclusive=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"/\1/p' "$top/dkms.conf")
supported() { [[ $1 =~ $exclusive ]]; }

dkms add -m vhost-vfio -v "$ver"
if [ "$mode" = check ]; then
	# Every installed kernel with headers: supported ones must build,
	# others must be refused cleanly (dkms exits 77, "skipped").
	for s in 6.1.0-57-amd64 6.12.118+deb12-amd64 6.12.117+deb13-amd64; do
		supported "$s" || { echo "dkms.sh: BUILD_EXCLUSIVE_KERNEL refuses $s"; exit 1; }
	done
	for s in 5.10.0-30-amd64 6.0.0-1-amd64 6.13.0-1-amd64 6.16.1-amd64; do
		! supported "$s" || { echo "dkms.sh: BUILD_EXCLUSIVE_KERNEL admits $s"; exit 1; }
	done
	built=0
	for k in $(ls /lib/modules | sort -V); do
		[ -e "/lib/modules/$k/build/Makefile" ] || continue
		rc=0
		dkms build -m vhost-vfio -v "$ver" -k "$k" > "/tmp/dkms-$k.log" 2>&1 || rc=$?
		if supported "$k"; then
			[ $rc = 0 ] || { cat "/tmp/dkms-$k.log"; echo "dkms.sh: build for $k failed ($rc)"; exit 1; }
			ls "/var/lib/dkms/vhost-vfio/$ver/$k/x86_64/module/"
			echo "dkms.sh: dkms build of vhost-vfio $ver for $k ok"
			built=$((built + 1))
		else
			[ $rc = 77 ] || { cat "/tmp/dkms-$k.log"; echo "dkms.sh: $k should be skipped (77), got $rc"; exit 1; }
			echo "dkms.sh: $k skipped as unsupported"
		fi
		rm -f "/tmp/dkms-$k.log"
	done
	[ $built -ge 2 ] || { echo "dkms.sh: built for $built kernel(s); want 6.1 and 6.12 both installed"; exit 1; }
else
	for k in $kvers; do
		[ -e "/lib/modules/$k/build/Makefile" ] && supported "$k" || continue
		dkms build -m vhost-vfio -v "$ver" -k "$k"
		dkms install -m vhost-vfio -v "$ver" -k "$k"
	done
fi
