#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/kver.sh [6.1|6.12]: the kernel release (as in /lib/modules) that
# builds and the Debian 12 host VM use.
#   6.1 (default): Debian 12's own kernel, the one the linux-image-amd64
#        metapackage stands for, even with newer kernels installed beside it;
#   6.12: the newest installed Debian 12 build of 6.12
#        (linux-headers-6.12.*+deb12-amd64).
# Prints nothing and fails when no such kernel's headers are installed.
set -euo pipefail
series=${1:-6.1}
pick() { # newest /lib/modules entry matching $1 with its headers
	local k best=
	for k in $(ls /lib/modules 2>/dev/null | sort -V); do
		[[ $k =~ $1 ]] && [ -e "/lib/modules/$k/build/Makefile" ] && best=$k
	done
	[ -n "$best" ] && echo "$best"
}
case "$series" in
6.1)
	k=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
	    sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p') || true
	if [ -n "$k" ] && [ -e "/lib/modules/$k/build/Makefile" ]; then
		echo "$k"
	else
		pick '^6\.1\.'
	fi
	;;
6.12) pick '^6\.12\..*\+deb12-amd64$' ;;
*) echo "kver.sh: unknown kernel series $series" >&2; exit 2 ;;
esac
