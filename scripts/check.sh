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
build_strict() {
	# From scratch, so no warning hides behind an up-to-date object.
	make -s -C "${KDIR:-/lib/modules/$(ls /lib/modules | sort -V | tail -n 1)/build}" \
		M="$top" clean > /dev/null
	make WERROR=1 2>&1 | tee .vm-out/build.out
	[ "${PIPESTATUS[0]}" = 0 ] || return 1
	! grep -E 'warning:|error:' .vm-out/build.out
}

step build build_strict
step sparse make sparse
step checkpatch make checkpatch
step selftests-build make selftests
step dkms-build scripts/dkms.sh check
step docs scripts/check-docs.sh
step libvirt-xml virt-xml-validate Documentation/examples/libvirt-domain.xml domain
step l2-initramfs scripts/vm/l2-initramfs.sh

# The suite VM: functions 0 and 1 are plain virtio-net; 2 offers
# RING_PACKED; 3 lacks ACCESS_PLATFORM (quirk tests use them).
echo "== vm-suite"
scripts/vm-run.sh --quiet --name suite --timeout 2400 --nics 4 \
	--nic-opts 2:packed=on --nic-opts 3:iommu_platform=off \
	-- selftests/vhost-vfio/run_suite.sh
vm_rc=$?
log=.vm-out/suite/console.log
grep -E '^(ok|not ok|# ====|suite:)' "$log" | grep -v '^ok [0-9]' || true
summary=$(grep -E -a '^suite: [0-9]+ passed' "$log" | tail -n 1)
if [ -n "$summary" ]; then
	set -- $summary
	passed=$((passed + $2)) failed=$((failed + $4))
fi
if [ $vm_rc != 0 ]; then
	# A splat, a timeout or a crashed runner fails the run even when all
	# reported cases passed.
	if [ -z "$summary" ] || [ "$(echo "$summary" | cut -d' ' -f4)" = 0 ]; then
		echo "not ok - vm-suite (VM run failed, see .vm-out/suite/)"
		failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
