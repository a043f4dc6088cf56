#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# splat-check.sh [--only-stuck-cpu] LOG: exit 1 if LOG holds a kernel splat,
# printing the matching lines (at most 20) and the first splat with the 60
# lines that follow it (its registers and call trace), so a CI log alone
# tells where.  --only-stuck-cpu: exit 0 only if every splat in LOG is a
# soft lockup (the CPU stopped scheduling) and there is at least one; print
# nothing.  scripts/check.sh uses it to recognise a wedged L1.  --pattern:
# print the extended regular expression that finds a splat.
set -u
only_stuck=0
if [ "${1:-}" = --only-stuck-cpu ]; then
	only_stuck=1
	shift
fi
pat='BUG: |WARNING: CPU|WARNING: at |Oops|general protection fault|scheduling while atomic'
pat="$pat|possible recursive locking|possible circular locking|inconsistent lock state"
pat="$pat|lockdep|refcount_t: |INFO: task .* blocked for more than|Kernel panic|kernel BUG at"
pat="$pat|UBSAN:|KASAN:|list_add corruption|list_del corruption|unreferenced object|pagealloc: "
if [ "${1:-}" = --pattern ]; then
	echo "$pat"
	exit 0
fi
hits=$(grep -E -a -n "$pat" "$1") || exit $only_stuck
if [ $only_stuck = 1 ]; then
	! echo "$hits" | grep -v -q 'BUG: soft lockup - CPU'
	exit
fi
n=$(echo "$hits" | wc -l)
echo "$hits" | head -n 20 | sed 's/^/    splat: /' >&2
[ "$n" -le 20 ] || echo "    splat: ... $((n - 20)) more" >&2
first=$(echo "$hits" | head -n 1 | cut -d: -f1)
echo "    first splat in context:" >&2
sed -n "$((first > 5 ? first - 5 : 1)),$((first + 60))p" "$1" | sed 's/^/    | /' >&2
# Again last, where a log's tail (all a CI summary may show) still has it.
echo "    first of $n splat lines (log line $first): $(echo "$hits" | head -n 1 | cut -d: -f2-)" >&2
exit 1
