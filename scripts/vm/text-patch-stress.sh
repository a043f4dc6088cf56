#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/vm/text-patch-stress.sh [N]: run inside L1.  Toggle the
# sched_switch tracepoint (a static branch and a static call inside
# __schedule) N times (default 3000) while two shell pipelines make both
# vCPUs context-switch, and stop at the first oops.  It tells whether the
# emulator of L1 survives cross-CPU kernel text patching; QEMU 7.2's
# multi-threaded TCG does not (Documentation/testing.rst, "Wedged L1"):
#
#   scripts/vm-run.sh --host debian12 --name stress --nics 1 -- \
#           scripts/vm/text-patch-stress.sh 3000
#
# Exits 0 after N clean toggles; an oops or a wedge fails the VM run.
set -u
n=${1:-3000}
ev=/sys/kernel/tracing/events/sched/sched_switch/enable
echo 0 > /sys/kernel/tracing/tracing_on
storm() {
	while :; do echo x; done | while read -r _; do :; done
}
storm & s1=$!
storm & s2=$!
t0=$(date +%s)
rc=0
for i in $(seq "$n"); do
	echo 1 > "$ev"
	echo 0 > "$ev"
	[ $((i % 500)) = 0 ] && echo "text-patch-stress: $i toggles, $(($(date +%s) - t0)) s"
	if dmesg | grep -q 'Oops'; then
		echo "text-patch-stress: oops after $i toggles"
		rc=1
		break
	fi
done
pkill -P "$s1"
pkill -P "$s2"
kill "$s1" "$s2" 2> /dev/null
[ $rc = 0 ] && echo "text-patch-stress: $n toggles, no oops"
exit $rc
