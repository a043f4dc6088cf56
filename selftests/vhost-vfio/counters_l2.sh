#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The mdev's data path costs what passthrough's does, in counters: the
# same nested guest moves the same bulk TCP transfer to L1 once with
# function B passed through (vfio-pci) and once through a vhost-vfio mdev
# of B, in one L1 (scripts/vm/bench-net-l1.sh, one round, no timing
# asserted).  Over the transfer alone, L1 KVM's MMIO exits of the guest's
# VM are equal (no kick, no register access of the data path leaves the
# guest), and L2's QEMU (its threads other than the vCPU's) does not wake
# up in user space per function interrupt: over the transfer it wakes
# fewer than one time per two interrupts more than over an idle phase of
# the same length that follows it (the baseline of its own timers, which
# wake it hundreds of times a second in a loaded L1).  Passthrough's
# interrupts reach KVM through irqfds without QEMU; so must the mdev's.
. "$(dirname "$0")/lib.sh"

set -u
raw=$VV_OUT/counters-l2.txt

vv_tap_begin
VV_BENCH_RAW=$raw VV_BENCH_COLUMNS="passthrough mdev" VV_BENCH_ROUNDS=1 \
	VV_BENCH_BULK_MB=${VV_COUNTERS_MB:-2} VV_BENCH_UDP_SECONDS=1 \
	"$VV_PROJECT/scripts/vm/bench-net-l1.sh" 2>&1 | sed 's/^/# /'
sed 's/^/# raw: /' "$raw"

# get COLUMN COUNTER [PHASE]: the counter's delta over PHASE (tcp).
get() {
	awk -v c="$1" -v k="$2" -v p="${3:-tcp}" '$1 == c && $3 == "phase" && $4 == p {
		for (i = 5; i < NF; i += 2) if ($i == k) print $(i + 1) }' "$raw"
}
for c in passthrough mdev; do
	vv_check "$c: L2 sent its bulk transfer" \
		grep -q "^$c 1 tcp_MBps [0-9]" "$raw"
done
vv_check "mdev: the doorbells were mapped (0 trapped kicks)" \
	grep -q '^mdev 1 bar2_notify_writes 0$' "$raw"
pt_mmio=$(get passthrough mmio) md_mmio=$(get mdev mmio)
vv_check "MMIO exits over the transfer: mdev ${md_mmio:-?} = passthrough ${pt_mmio:-?}" \
	test -n "$md_mmio" -a "${md_mmio:-x}" = "${pt_mmio:-y}"
md_irq=$(get mdev devirq) pt_irq=$(get passthrough devirq)
vv_check "interrupts delivered over the transfer (mdev ${md_irq:-?}, passthrough ${pt_irq:-?})" \
	test "${md_irq:-0}" -gt 0 -a "${pt_irq:-0}" -gt 0
# extra COLUMN: QEMU's wakeups over the transfer beyond the idle phase's.
extra() {
	local busy idle
	busy=$(get "$1" qwake) idle=$(get "$1" qwake idle)
	[ -n "$busy" ] && [ -n "$idle" ] && echo $((busy - idle))
}
md_extra=$(extra mdev) pt_extra=$(extra passthrough)
vv_log "QEMU wakeups over the transfer / the idle phase: mdev $(get mdev qwake)/$(get mdev qwake idle), passthrough $(get passthrough qwake)/$(get passthrough qwake idle)"
vv_check "QEMU user-space wakeups beyond idle: mdev ${md_extra:-?} for ${md_irq:-?} interrupts (passthrough ${pt_extra:-?} for ${pt_irq:-?}): none per interrupt" \
	test -n "$md_extra" -a "${md_irq:-0}" -gt 0 -a $((2 * ${md_extra:-0})) -lt "${md_irq:-0}"
vv_tap_end
