#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The mdev's data path costs what passthrough's does, in counters: the
# same nested guest moves the same bulk TCP transfer to L1 once with
# function B passed through (vfio-pci) and once through a vhost-vfio mdev
# of B, in one L1 (scripts/vm/bench-net-l1.sh, one round, no timing
# asserted).  Over the transfer alone, L1 KVM's MMIO exits of the guest's
# VM are equal (no kick, no register access of the data path leaves the
# guest), and L2's QEMU does not wake up per function interrupt: over the
# transfer its main thread read()s the eventfds of the mdev's vectors
# fewer than once per ten interrupts (an interrupt KVM's irqfd takes is
# never read by QEMU; one QEMU handles itself costs a read).  Its
# wakeups are logged beside those of a phase as long, L2's vCPU busy with
# no traffic: on Debian 13 QEMU's own timers wake it thousands of times
# in either phase in one run and a dozen in the next, so they inform only.
# A third column, the mdev with QEMU's x-no-kvm-msix=on, is the control:
# there QEMU takes every interrupt, and the count must say so.
. "$(dirname "$0")/lib.sh"

set -u
raw=$VV_OUT/counters-l2.txt

vv_tap_begin
VV_BENCH_RAW=$raw VV_BENCH_COLUMNS="passthrough mdev userirq" VV_BENCH_ROUNDS=1 \
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
vv_log "QEMU wakeups (non-vCPU threads) over the transfer / a spin phase as long: mdev $(get mdev qwake)/$(get mdev qwake spin), passthrough $(get passthrough qwake)/$(get passthrough qwake spin)"
reads=$(sed -n 's/^mdev 1 tcp_eventfd_reads //p' "$raw")
vv_check "QEMU read the mdev's interrupt eventfds ${reads:-?} times for ${md_irq:-?} interrupts (KVM's irqfds took them)" \
	test -n "$reads" -a "${md_irq:-0}" -gt 0 -a $((10 * ${reads:-1})) -lt "${md_irq:-0}"
# The control: with x-no-kvm-msix=on QEMU takes the interrupts itself,
# and the count must show it.
ui_irq=$(get userirq devirq) ui_reads=$(sed -n 's/^userirq 1 tcp_eventfd_reads //p' "$raw")
vv_check "control: with x-no-kvm-msix=on QEMU read its eventfds ${ui_reads:-?} times for ${ui_irq:-?} interrupts (at least one per four)" \
	test -n "$ui_reads" -a "${ui_irq:-0}" -gt 0 -a $((4 * ${ui_reads:-0})) -ge "${ui_irq:-1}"
vv_tap_end
