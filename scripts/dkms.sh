#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/dkms.sh install|check
#   install: copy the module sources to /usr/src/vhost-vfio-<version> and
#            `dkms add/build/install` them for the running/newest kernel.
#   check:   the same add + build under a throw-away version, then remove it
#            again (what CI runs: proves dkms.conf builds against the
#            installed headers without installing anything).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-install}
command -v dkms > /dev/null || { echo "dkms.sh: dkms not installed (apt-get install dkms)" >&2; exit 1; }
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
kver=${KVER:-$(ls /lib/modules | sort -V | tail -n 1)}
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

dkms add -m vhost-vfio -v "$ver"
dkms build -m vhost-vfio -v "$ver" -k "$kver"
if [ "$mode" = check ]; then
	ls "/var/lib/dkms/vhost-vfio/$ver/$kver/x86_64/module/"
	echo "dkms.sh: dkms build of vhost-vfio $ver for $kver ok"
else
	dkms install -m vhost-vfio -v "$ver" -k "$kver"
fi
