#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# splat-check.sh LOG: exit 1 (and print the lines) if LOG holds a kernel splat.
set -u
pat='BUG: |WARNING: CPU|WARNING: at |Oops|general protection fault|scheduling while atomic'
pat="$pat|possible recursive locking|possible circular locking|inconsistent lock state"
pat="$pat|lockdep|refcount_t: |INFO: task .* blocked for more than|Kernel panic|kernel BUG at"
pat="$pat|UBSAN:|KASAN:|list_add corruption|list_del corruption|unreferenced object"
if grep -E -n "$pat" "$1" > /tmp/splat.$$; then
	sed 's/^/    splat: /' /tmp/splat.$$ >&2
	rm -f /tmp/splat.$$
	exit 1
fi
rm -f /tmp/splat.$$
exit 0
