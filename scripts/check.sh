#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The whole test run (what `make check` and CI do), after scripts/install-deps.sh:
# build with W=1 -Werror, sparse, checkpatch, the selftest binaries, then the
# VM suite in one host VM, for each host generation (scripts/vm/hosts.sh):
# Debian 12 (Linux 6.1, QEMU 7.2, built here) and Debian 13 (Linux 6.12,
# QEMU 10, its root built by scripts/vm/debian13-root.sh, the modules built
# in it).  Each step is one result; each VM suite adds one result per test
# case.  Last line, for both hosts together: "N passed, M failed".
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

# The same for another host, in its root on its copy of the tree (the
# selftest binaries there are cleaned too: the next step rebuilds them).
build_strict_host() {
	scripts/vm/host-build.sh "$1" -s clean > /dev/null
	scripts/vm/host-build.sh "$1" WERROR=1 modules 2>&1 | tee ".vm-out/build-$1.out"
	[ "${PIPESTATUS[0]}" = 0 ] || return 1
	! grep -E 'warning:|error:' ".vm-out/build-$1.out"
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

# The Debian 13 host: its root (cached outside the tree; built on a fresh
# machine), then the same build steps with its compiler against its 6.12
# headers.  checkpatch, dkms, docs and the example are the tree's, checked
# once above.
# L1's emulator (QEMU 10 from bookworm-backports; install-deps fetched it).
step outer-qemu scripts/vm/outer-qemu.sh
step debian13-root scripts/vm/debian13-root.sh
step build-debian13 build_strict_host debian13
step sparse-debian13 scripts/vm/host-build.sh debian13 sparse
step selftests-build-debian13 scripts/vm/host-build.sh debian13 selftests
step l2-initramfs-debian13 scripts/vm/l2-initramfs.sh --host debian13

# The suite VM (scripts/vm/suite-shape.sh: functions 0-5 and what each is
# for).  On host $vm_host, with the nested guests' kernel of host $vm_l2
# (default: the same).
# shellcheck source=scripts/vm/suite-shape.sh
. "$top/scripts/vm/suite-shape.sh"
vm_host=debian12 vm_l2=
suite_vm() {
	local name=$1
	shift
	scripts/vm-run.sh --quiet --host "$vm_host" --l2 "${vm_l2:-$vm_host}" \
		--name "$name" "${vv_suite_vm[@]}" \
		-- selftests/vhost-vfio/run_suite.sh "$@"
}

# Add the results of the tests that completed in console log $1.  Print
# each test's start and counts, and every failure with the (up to) 8
# comment lines before it: what the test logged about it (an L2's last
# console lines, its QEMU's exit status), which a CI summary keeps.
tally() {
	local line p f
	tr -d '\r' < "$1" | awk '
		/^# ==== / { print; n = 0; next }
		/^# / { ctx[n % 8] = $0; n++; next }
		/^not ok/ {
			for (i = (n > 8 ? n - 8 : 0); i < n; i++)
				print "    " ctx[i % 8]
			print; n = 0; next
		}
		/^ok [0-9]/ { n = 0; next }
		/^ok/ { print }'
	while read -r line; do
		p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
		f=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
		passed=$((passed + p)) failed=$((failed + f))
	done < <(grep -E -a '^# ==== [^ ]+: [0-9]+ passed, [0-9]+ failed' "$1")
}

# vm_why NAME: why VM run .vm-out/NAME failed, in the lines a CI summary
# keeps: a wedge, the first splat, a missing exit status, the last words.
vm_why() {
	local out=.vm-out/$1 log=.vm-out/$1/console.log
	[ -f "$out/wedged" ] && echo "#   L1 wedged: $(cat "$out/wedged")"
	[ -f "$out/dmesg.txt" ] && log=$out/dmesg.txt
	scripts/vm/splat-check.sh "$log" 2>&1 | tail -n 1 | sed 's/^ */#   /'
	# The first splat's task and call trace, one line each.
	tr -d '\r' < "$log" | grep -a -E -A 40 -m 1 "$(scripts/vm/splat-check.sh --pattern)" |
		grep -a -E -m 1 ' Comm: ' | sed 's/^.*\] */#   /'
	tr -d '\r' < "$log" | grep -a -E -A 40 -m 1 "$(scripts/vm/splat-check.sh --pattern)" |
		sed -n 's/^.*\]  \(? \)\{0,1\}\([A-Za-z_.0-9]*+0x[0-9a-f]*\)\/.*/\2/p' |
		head -n 10 | paste -s -d' ' | sed 's/^./#   trace: &/'
	[ -f "$out/rc" ] || echo "#   L1 reported no exit status (killed, or past its timeout)"
	echo "#   the console's last lines:"
	tr -d '\r' < "$out/console.log" | grep -a -v '^$' | tail -n 6 | cut -c 1-160 |
		sed 's/^/#   | /'
}

# vm_verdict NAME RC: VM run .vm-out/NAME ended with status RC.  A splat, a
# timeout or a crashed runner fails the run even when all reported cases
# passed: one more failure unless a case already failed.
vm_verdict() {
	local log=.vm-out/$1/console.log
	if [ "$2" != 0 ] && { ! grep -q -a '^suite: ' "$log" ||
	   [ "$(grep -a '^suite: ' "$log" | tail -n 1 | cut -d' ' -f4)" = 0 ]; }; then
		vm_why "$1"
		echo "not ok - vm-$1 (VM run failed, see .vm-out/$1/)"
		failed=$((failed + 1))
	fi
}

# The test that was running when L1 stopped reporting, and those after it.
unfinished_tests() {
	local started all
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

# host_suite HOST NAME: the suite on HOST in VM run NAME, then the tests
# that need an L1 of their own, each in a small one.  A host whose modules
# were not built (a failed build step) boots no VM: one failure.
host_suite() {
	local name=$2 vm_rc log rest sfx=
	vm_host=$1 vm_l2=
	[ "$vm_host" = debian12 ] || sfx=-$vm_host
	echo "== vm-$name"
	if ! have_modules "$vm_host"; then
		echo "not ok - vm-$name (no modules built for $vm_host; see the build step)"
		failed=$((failed + 1))
		return
	fi
	suite_vm "$name"
	vm_rc=$?
	log=.vm-out/$name/console.log
	tally "$log"
	if [ $vm_rc != 0 ] && [ -f ".vm-out/$name/wedged" ] &&
	   ! grep -q -a '^suite: ' "$log" &&
	   { scripts/vm/splat-check.sh "$log" 2> /dev/null ||
	     scripts/vm/splat-check.sh --only-stuck-cpu "$log"; }; then
		# L1 wedged (vm-run.sh: a soft lockup, or no heartbeat) and nothing
		# else went wrong: no warning, oops, lockdep or refcount report.  Seen
		# in TCG's cross-modifying code (testing.rst, "Wedged L1"): rerun the
		# unfinished tests once in a fresh L1, and say so loudly.  A second
		# wedge, or any other splat, fails the run.
		rest=$(unfinished_tests "$log")
		echo "# WARNING: L1 ($vm_host) wedged ($(cat ".vm-out/$name/wedged")) during: ${rest%% *}"
		scripts/vm/splat-check.sh "$log" 2>&1 | sed 's/^/# /' | head -n 90
		echo "# its console is kept in .vm-out/$name-wedged/; rerunning in a fresh L1: $rest"
		rm -rf ".vm-out/$name-wedged"
		mv ".vm-out/$name" ".vm-out/$name-wedged"
		# shellcheck disable=SC2086
		suite_vm "$name" $rest
		vm_rc=$?
		tally "$log"
	fi
	vm_verdict "$name" $vm_rc

	extra_vm isolation_intremap.sh "$sfx"
	extra_vm isolation_nosnoop.sh "$sfx"
}

# have_modules HOST: both modules are built for HOST.
have_modules() {
	local d
	d=$(vv_top=$top; . scripts/vm/hosts.sh; vv_host "$1" 2> /dev/null && echo "$vv_host_build")
	[ -n "$d" ] && [ -f "$d/drivers/vhost-vfio/vhost_vfio.ko" ] &&
		[ -f "$d/drivers/vhost-vfio/vhost_vfio_virtio_pci.ko" ]
}

# Tests that need another emulated IOMMU (TEST_PROGS_EXTRA of the selftests
# Makefile), each in a small L1 of its own: functions 0 and 1 only.  Run
# name: the test's, with SUFFIX ("-debian13") for another host.
extra_vm() {
	local t=$1 name=${1%.sh}$2 rc opts
	opts=$(vv_extra_iommu "$t")
	echo "== vm-$name"
	scripts/vm-run.sh --quiet --host "$vm_host" --name "$name" --timeout 600 --nics 2 \
		--iommu-opts "$opts" -- selftests/vhost-vfio/run_suite.sh "$t"
	rc=$?
	tally ".vm-out/$name/console.log"
	vm_verdict "$name" $rc
}

# mixed_vm HOST L2: on HOST, the tests that boot nested guests, with the
# other host's kernel as L2 (a 6.12 guest on the 6.1 host and the other
# way round), in the suite's VM shape.  Run name mixed-HOST-l2-L2.
# Through the mdev only: passthrough (nested_baseline.sh) is not ours to
# test across kernels, and it timed out once in a loaded mixed run.
MIXED_TESTS="l2_probe.sh datapath_l2.sh unplug_l2.sh"
mixed_vm() {
	local name=mixed-$1-l2-$2 rc
	vm_host=$1 vm_l2=$2
	echo "== vm-$name"
	if ! have_modules "$vm_host"; then
		echo "not ok - vm-$name (no modules built for $vm_host; see the build step)"
		failed=$((failed + 1))
		return
	fi
	# shellcheck disable=SC2086
	suite_vm "$name" $MIXED_TESTS
	rc=$?
	tally ".vm-out/$name/console.log"
	vm_verdict "$name" $rc
}

host_suite debian12 suite
host_suite debian13 suite-debian13
mixed_vm debian12 debian13
mixed_vm debian13 debian12
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
