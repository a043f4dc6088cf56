#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The whole test run (what `make check` and CI do), after scripts/install-deps.sh:
# build with W=1 -Werror, sparse, checkpatch, the selftest binaries, then the
# VM suite in one host VM.  Each step is one result; the VM suite adds one
# result per test case.  Last line: "N passed, M failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
mkdir -p .vm-out
passed=0 failed=0

step() {
	local name=$1 log=.vm-out/step-$1.log
	shift
	echo "== $name: $*"
	if "$@" > "$log" 2>&1; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name (log: $log)"
		sed 's/^/    /' "$log" | tail -n 30
		failed=$((failed + 1))
	fi
}

# Any line the compiler prints (except the BTF note) is a finding.
# build_strict [KVER]: from scratch, so no warning hides behind an
# up-to-date object; W=1 -Werror against KVER's headers (default 6.1).
build_strict() {
	local kver=${1:-$(scripts/kver.sh)}

	make -s -C "/lib/modules/$kver/build" M="$top" clean > /dev/null
	make WERROR=1 KVER="$kver" 2>&1 | tee ".vm-out/build-$kver.out"
	[ "${PIPESTATUS[0]}" = 0 ] || return 1
	! grep -E 'warning:|error:' ".vm-out/build-$kver.out"
}

# The same tree against Debian 12's 6.12 kernel (the other series the compat
# layer serves), then back to the 6.1 build the VM suite loads.
kver612=$(scripts/kver.sh 6.12) || kver612=none
step build-6.12 build_strict "$kver612"
step sparse-6.12 make sparse KVER="$kver612"
step build build_strict
step sparse make sparse
step checkpatch make checkpatch
step selftests-build make selftests
step dkms-build scripts/dkms.sh check
step docs scripts/check-docs.sh
# Every example domain must parse against libvirt's schema.
validate_domains() {
	local f
	for f in Documentation/examples/libvirt-*.xml; do
		virt-xml-validate "$f" domain || return 1
	done
}
step libvirt-xml validate_domains
step l2-initramfs scripts/vm/l2-initramfs.sh

# The suite VM: functions 0 and 1 are plain virtio-net; 2 offers
# RING_PACKED; 3 lacks ACCESS_PLATFORM (quirk tests use them); 4 has two
# queue pairs (mq.sh); 5, behind its own root port (0000:01:00.0), lists a
# port-I/O notify capability first (doorbell_pio.sh).
suite_vm() {
	local name=$1
	shift
	scripts/vm-run.sh --quiet --name "$name" --timeout 2400 --nics 6 \
		--nic-opts 2:packed=on --nic-opts 3:iommu_platform=off \
		--mq-nic 4:2 --rp-nic 5 --nic-opts 5:modern-pio-notify=on \
		-- selftests/vhost-vfio/run_suite.sh "$@"
}

# Add the results of the tests that completed in console log $1.
tally() {
	local line p f
	grep -E -a '^(ok|not ok|# ====)' "$1" | grep -v '^ok [0-9]' || true
	while read -r line; do
		p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
		f=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
		passed=$((passed + p)) failed=$((failed + f))
	done < <(grep -E -a '^# ==== [^ ]+: [0-9]+ passed, [0-9]+ failed' "$1")
}

# vm_verdict NAME RC: VM run .vm-out/NAME ended with status RC.  A splat, a
# timeout or a crashed runner fails the run even when all reported cases
# passed: one more failure unless a case already failed.
vm_verdict() {
	local log=.vm-out/$1/console.log
	if [ "$2" != 0 ] && { ! grep -q -a '^suite: ' "$log" ||
	   [ "$(grep -a '^suite: ' "$log" | tail -n 1 | cut -d' ' -f4)" = 0 ]; }; then
		echo "not ok - vm-$1 (VM run failed, see .vm-out/$1/)"
		failed=$((failed + 1))
	fi
}

# The test that was running when L1 stopped reporting, and those after it.
unfinished_tests() {
	local started last all
	started=$(tr -d '\r' < "$1" | grep -E -a '^# ==== [^ :]+$' | tail -n 1 | cut -d' ' -f3)
	all=$(make -s --no-print-directory -C selftests/vhost-vfio print-tests)
	[ -n "$started" ] || { echo "$all"; return; }
	all=$(echo "$all" | tr ' ' '\n' | sed -n "/^$started\$/,\$p")
	# Wedged between two tests: the last one started had finished.
	if grep -q -a "^# ==== $started: " "$1"; then
		all=$(echo "$all" | tail -n +2)
	fi
	echo "$all" | tr '\n' ' '
}

echo "== vm-suite"
suite_vm suite
vm_rc=$?
log=.vm-out/suite/console.log
tally "$log"
if [ $vm_rc != 0 ] && [ -f .vm-out/suite/wedged ] &&
   ! grep -q -a '^suite: ' "$log" &&
   { scripts/vm/splat-check.sh "$log" 2> /dev/null ||
     scripts/vm/splat-check.sh --only-stuck-cpu "$log"; }; then
	# L1 wedged (vm-run.sh: a soft lockup, or no heartbeat) and nothing
	# else went wrong: no warning, oops, lockdep or refcount report.  Seen
	# in TCG's cross-modifying code (testing.rst, "Wedged L1"): rerun the
	# unfinished tests once in a fresh L1, and say so loudly.  A second
	# wedge, or any other splat, fails the run.
	rest=$(unfinished_tests "$log")
	echo "# WARNING: L1 wedged ($(cat .vm-out/suite/wedged)) during: ${rest%% *}"
	scripts/vm/splat-check.sh "$log" 2>&1 | sed 's/^/# /' | head -n 90
	echo "# its console is kept in .vm-out/suite-wedged/; rerunning in a fresh L1: $rest"
	rm -rf .vm-out/suite-wedged
	mv .vm-out/suite .vm-out/suite-wedged
	# shellcheck disable=SC2086
	suite_vm suite $rest
	vm_rc=$?
	log=.vm-out/suite/console.log
	tally "$log"
fi
vm_verdict suite $vm_rc

# Tests that need another emulated IOMMU (TEST_PROGS_EXTRA of the selftests
# Makefile), each in a small L1 of its own: functions 0 and 1 only.
extra_vm() {
	local t=$1 opts=$2 rc
	echo "== vm-${t%.sh}"
	scripts/vm-run.sh --quiet --name "${t%.sh}" --timeout 600 --nics 2 \
		--iommu-opts "$opts" -- selftests/vhost-vfio/run_suite.sh "$t"
	rc=$?
	tally ".vm-out/${t%.sh}/console.log"
	vm_verdict "${t%.sh}" $rc
}
extra_vm isolation_intremap.sh intremap=off,caching-mode=on,snoop-control=on
extra_vm isolation_nosnoop.sh intremap=on,caching-mode=on,snoop-control=off
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
