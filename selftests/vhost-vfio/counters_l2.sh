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
# up in user space per function interrupt: fewer than one wakeup per four
# interrupts, or, where QEMU's own timers wake it often (a loaded L1), no
# more per interrupt than with passthrough, whose interrupts reach KVM
# through irqfds without QEMU (half as much again allowed).
. "$(dirname "$0")/lib.sh"

set -u
raw=$VV_OUT/counters-l2.txt

vv_tap_begin
VV_BENCH_RAW=$raw VV_BENCH_COLUMNS="passthrough mdev" VV_BENCH_ROUNDS=1 \
	VV_BENCH_BULK_MB=${VV_COUNTERS_MB:-2} VV_BENCH_UDP_SECONDS=1 \
	"$VV_PROJECT/scripts/vm/bench-net-l1.sh" 2>&1 | sed 's/^/# /'
sed 's/^/# raw: /' "$raw"

# get COLUMN COUNTER: the counter's delta over the TCP phase.
get() {
	awk -v c="$1" -v k="$2" '$1 == c && $3 == "phase" && $4 == "tcp" {
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
md_irq=$(get mdev devirq) md_wake=$(get mdev qwake)
pt_irq=$(get passthrough devirq) pt_wake=$(get passthrough qwake)
vv_check "interrupts delivered over the transfer (mdev ${md_irq:-?}, passthrough ${pt_irq:-?})" \
	test "${md_irq:-0}" -gt 0 -a "${pt_irq:-0}" -gt 0
# Fewer than one wakeup per 4 interrupts, or (a loaded L1, where QEMU's
# timers wake it hundreds of times a second) no more per interrupt than
# passthrough's, with half as much again: md_wake / md_irq <= 1.5 *
# pt_wake / pt_irq, in integers.
wakes_ok() {
	[ -n "$md_wake" ] && [ -n "$md_irq" ] && [ -n "$pt_wake" ] && [ -n "$pt_irq" ] || return 1
	[ $((4 * ${md_wake:-1})) -lt "${md_irq:-0}" ] ||
		[ $((2 * ${md_wake:-1} * ${pt_irq:-0})) -le $((3 * ${pt_wake:-0} * ${md_irq:-1})) ]
}
vv_check "QEMU user-space wakeups per interrupt: mdev ${md_wake:-?}/${md_irq:-?} (passthrough ${pt_wake:-?}/${pt_irq:-?}): none per interrupt" \
	wakes_ok
vv_tap_end
