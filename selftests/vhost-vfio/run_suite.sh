#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run_suite.sh [TEST...]: run the vhost-vfio selftests inside the host VM
# (L1), each test's TAP stream passed through, and summarize.  A test that
# exits non-zero without reporting a failure, or reports fewer results than
# it planned, counts as one more failure.  "# SKIP" results are counted as
# skipped, never as passed.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir" || exit 1
if [ $# -eq 0 ]; then
	# shellcheck disable=SC2207
	set -- $(make -s --no-print-directory -f Makefile print-tests)
fi

# scripts/vm/l1-stage2 holds one empty KVM VM for as long as L1 runs, so
# the nested guests of the tests never patch kernel text (testing.rst).

passed=0 failed=0 skipped=0
for t in "$@"; do
	echo "# ==== $t"
	log=$(mktemp)
	start=$(date +%s)
	"./$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -E -c '^ok [0-9]+' "$log" | head -n 1)
	s=$(grep -E -c '^ok [0-9]+.*# [Ss][Kk][Ii][Pp]' "$log" | head -n 1)
	f=$(grep -E -c '^not ok [0-9]+' "$log" | head -n 1)
	plan=$(grep -E -m 1 '^1\.\.[0-9]+' "$log" | cut -d. -f3)
	p=$((p - s))
	if [ -n "$plan" ] && [ $((p + s + f)) -lt "$plan" ]; then
		echo "not ok - $t: planned $plan results, reported $((p + s + f))"
		f=$((f + 1))
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $t: exited with status $rc"
		f=$((f + 1))
	fi
	echo "# ==== $t: $p passed, $f failed, $s skipped ($(($(date +%s) - start)) s)"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	rm -f "$log"
done
echo "suite: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
