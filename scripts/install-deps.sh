#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install everything vhost-vfio needs on a fresh Debian 12 machine (root).
# Idempotent: re-running only checks.
#
#   build:    gcc make linux-headers-amd64 (+ the matching linux-image-amd64,
#             which is also the kernel the test VM boots), sparse; and the
#             newest linux-headers-6.12.*+deb12-amd64 with dwarves (pahole,
#             which 6.12's module build needs): the second kernel series
#             the tree is built against
#   style:    linux-source-6.1 (checkpatch.pl, kselftest_harness.h)
#   test VM:  qemu-system-x86 busybox-static cpio kmod iproute2 iputils-ping
#             pciutils uuid-runtime mdevctl python3, ipxe-qemu (the
#             virtio-net boot ROM ipxe_l2.sh network-boots a guest with)
#   packaging: dkms, libvirt-clients (virt-xml-validate for the example),
#             python3-docutils (Documentation/*.rst must parse cleanly)
#   L1's emulator: QEMU 10 from bookworm-backports, unpacked into a cache
#             directory by scripts/vm/outer-qemu.sh, not installed (the
#             system's QEMU 7.2 wedges L1 on kernel text patching)
#   Debian 13 host: debootstrap (scripts/vm/debian13-root.sh builds that
#             host's root, with its own kernel, QEMU and compiler, outside
#             the work tree; `make check` and `make demo HOST=debian13` run
#             it, not this script)
set -euo pipefail

PKGS="build-essential gcc make kmod sparse linux-image-amd64 linux-headers-amd64
      linux-source-6.1 qemu-system-x86 busybox-static cpio iproute2
      iputils-ping pciutils uuid-runtime mdevctl xz-utils dkms python3
      libvirt-clients python3-docutils inotify-tools dwarves debootstrap
      ipxe-qemu"
SRC=/usr/src/linux-source-6.1

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || { echo "install-deps: need root to install:$missing" >&2; exit 1; }
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Debian 12 also carries 6.12 (its backports kernel): build against its newest.
if ! "$(dirname "$0")/kver.sh" 6.12 > /dev/null; then
	[ "$(id -u)" = 0 ] || { echo "install-deps: need root to install 6.12 headers" >&2; exit 1; }
	[ -n "$missing" ] || apt-get update -qq
	h612=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9.]+\+deb12-amd64$' |
	       awk '{print $1}' | sort -V | tail -n 1)
	[ -n "$h612" ] || { echo "install-deps: no linux-headers-6.12.*+deb12-amd64 in the archive" >&2; exit 1; }
	echo "install-deps: installing: $h612"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$h612" >/dev/null
fi

# The kernel image and headers must be the same version: the VM boots
# exactly the kernel we build against.
kver=$("$(dirname "$0")/kver.sh")
[ -d "/lib/modules/$kver/build" ] || { echo "install-deps: no headers for $kver" >&2; exit 1; }
[ -f "/boot/vmlinuz-$kver" ] || { echo "install-deps: no /boot/vmlinuz-$kver" >&2; exit 1; }

# Only a handful of files of the 6.1 source tree are used: checkpatch and the
# kselftest harness.  Extracting them still decompresses the whole tarball.
if [ ! -f "$SRC/scripts/checkpatch.pl" ] ||
   [ ! -f "$SRC/tools/testing/selftests/kselftest_harness.h" ]; then
	echo "install-deps: extracting checkpatch and kselftest headers from $SRC.tar.xz"
	tar -C /usr/src -xJf "$SRC.tar.xz" \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
fi
"$(dirname "$0")/vm/outer-qemu.sh"
echo "install-deps: ok (kernel $kver; also builds for $("$(dirname "$0")/kver.sh" 6.12))"
