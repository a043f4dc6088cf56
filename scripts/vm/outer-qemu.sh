#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/vm/outer-qemu.sh [--dir]
#
# Fetch, once, the QEMU that emulates L1: Debian 12's backport of QEMU 10
# (bookworm-backports), unpacked outside the work tree in $VV_OUTER_QEMU
# (default /var/cache/vhost-vfio/qemu-outer).  Nothing is installed: the
# build machine's own qemu-system-x86 (7.2) stays what it is, since the
# Debian 12 host's L1 runs on the build machine's root and its QEMU is the
# one the product supports there.
#
# Why: QEMU 7.2's multi-threaded TCG runs stale translated code after
# cross-CPU kernel text patching.  A 6.1 or 6.12 L1 toggling a tracepoint
# in __schedule while both vCPUs context-switch wedges (one CPU looping on
# the patch site's int3, the other waiting for its IPI) within 200 toggles
# on 7.2; 10.0 ran 3000 (Documentation/testing.rst, "Wedged L1").
#
# Uses apt with a private configuration (only the backports suite of the
# mirror in /etc/apt/sources.list.d/debian.sources, lists and cache in a
# temporary directory), so the machine's apt sources are not touched.  A
# stamp records the versions; an up-to-date copy is left alone.  Needs root
# the first time (the cache directory) and the network to the mirror.
#
#   --dir      print the directory it is unpacked in (usr/bin, usr/share/qemu,
#              usr/lib/x86_64-linux-gnu/qemu below it); fails if it is not
#              (does not fetch)
set -euo pipefail

DIR=${VV_OUTER_QEMU:-/var/cache/vhost-vfio/qemu-outer}
SUITE=bookworm-backports
PKGS="qemu-system-x86 qemu-system-common qemu-system-data"
BIN=$DIR/usr/bin/qemu-system-x86_64

unpacked() {
	[ -x "$BIN" ] && [ -f "$DIR/.stamp" ]
}

case "${1:-}" in
--dir) unpacked && echo "$DIR"; exit $?;;
"") ;;
*) sed -n '4,/^set -e/p' "$0" | sed 's/^# \{0,1\}//; /^set -e/d' >&2; exit 2;;
esac

if unpacked; then
	echo "outer-qemu: up to date: $BIN ($(head -n 1 "$DIR/.stamp"))"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "outer-qemu: need root to create $DIR" >&2; exit 1; }

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2> /dev/null |
	 grep -v security | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$DIR.new"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/parts" "$tmp/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $SUITE main" \
	> "$tmp/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/parts"
	-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "APT::Get::List-Cleanup=0"
	-o "APT::Sandbox::User=root")
apt-get -qq "${apt_private[@]}" update
targets=()
for p in $PKGS; do
	targets+=("$p/$SUITE")
done
(cd "$tmp/debs" && apt-get -qq "${apt_private[@]}" download "${targets[@]}")

rm -rf "$DIR.new"
mkdir -p "$DIR.new"
for deb in "$tmp"/debs/*.deb; do
	dpkg-deb -x "$deb" "$DIR.new"
	# shellcheck disable=SC2016 # dpkg's fields, not shell variables
	dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >> "$DIR.new/.stamp"
done
"$DIR.new/usr/bin/qemu-system-x86_64" --version > /dev/null
rm -rf "$DIR"
mv "$DIR.new" "$DIR"
echo "outer-qemu: unpacked in $DIR: $(paste -sd';' "$DIR/.stamp")"
