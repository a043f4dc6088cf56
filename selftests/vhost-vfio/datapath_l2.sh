#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The data path end to end: function B mediated by vhost-vfio and handed to
# a nested KVM guest (L2) with stock QEMU's vfio-pci (sysfsdev=mdev),
# function A driven by virtio_net in L1.  L2 pings L1 and sends a random
# file whose checksum must match on both ends.  While L2 runs, the kicks
# must go through the mapped doorbell page (no trapped doorbell writes),
# the VF's interrupts must reach L2 through the eventfds with irq-bypass
# producers registered, and the DMA mirror must be populated (seen through
# the tracepoints); after L2 exits nothing may stay pinned or mapped.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.10.1
L2_IP=169.254.10.2
PORT=5001
SIZE_KB=${SIZE_KB:-16384}
UUID=${UUID:-5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad001}
MDEV=/sys/bus/mdev/devices/$UUID
DBG=/sys/kernel/debug/vhost_vfio/$UUID/counters

# vv_all_vectors_on_irqfd TRACE: every vector given an eventfd with an
# irq-bypass producer was also connected to a KVM irqfd, and some were.
vv_all_vectors_on_irqfd() {
	local set conn
	set=$(sed -n 's/.*vhost_vfio_irq_set: .* MSI-X vector \([0-9]*\) eventfd .* with irq bypass (0)$/\1/p' "$1" | sort -u)
	conn=$(sed -n 's/.*vhost_vfio_irq_bypass: .* MSI-X vector \([0-9]*\) connected to a KVM irqfd$/\1/p' "$1" | sort -u)
	vv_log "vectors with eventfds: $(echo "$set" | tr "\n" " "); connected to KVM irqfds: $(echo "$conn" | tr "\n" " ")"
	[ -n "$set" ] && [ -z "$(comm -23 <(echo "$set") <(echo "$conn"))" ]
}

# vv_kvm_registers_bypass: KVM in L1 registers an irq-bypass consumer for
# each irqfd.  6.1 always does (kvm_arch_has_irq_bypass() is true); 6.12
# only with APICv and IOMMU posted interrupts (enable_apicv &&
# IRQ_POSTING_CAP), which TCG's SVM (no AVIC) and the emulated intel-iommu
# do not offer, so on the Debian 13 host no producer of ours is ever
# connected and interrupts go eventfd -> irqfd injection.
vv_kvm_registers_bypass() {
	local apicv
	[ "$(printf '%s\n6.12\n' "$(uname -r)" | sort -V | head -n 1)" = 6.12 ] || return 0
	apicv=$(cat /sys/module/kvm_amd/parameters/avic \
		/sys/module/kvm_intel/parameters/enable_apicv 2> /dev/null | head -n 1)
	[ "$apicv" = Y ] || [ "$apicv" = 1 ]
}

vv_tap_begin
vv_check "modules load, /dev/kvm exists" \
	bash -c ". $(dirname "$0")/lib.sh; vv_load_modules && modprobe virtio_net && test -c /dev/kvm"
vv_check "function $B bound to vhost_vfio_virtio_pci" \
	vv_bind "$B" vhost_vfio_virtio_pci
echo "$UUID" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_log "doorbell_mode: $(cat "$MDEV/doorbell_mode")"
vv_log "vf_features: $(cat "$MDEV/vf_features") offered: $(cat "$MDEV/offered_features")"
vv_check "doorbell page is mapped, not trapped" \
	grep -qx mapped "$MDEV/doorbell_mode"

vv_traffic_begin "$A" "$L1_IP" "$PORT"

# Then reset and re-initialize the device: the mirror must be reused, the
# doorbell and interrupts must work again; a guest kernel warning (taint
# W) is a failure too.
{
	vv_l2_send_lines "$L1_IP" "$L2_IP" "$PORT" "$SIZE_KB"
	vv_l2_rebind_lines "$L1_IP" "$L2_IP"
} > "$VV_TMP/l2-test.sh"
vv_l2_initrd "$VV_TMP/l2.cpio.gz" "$VV_TMP/l2-test.sh"

# The tracepoints record what happened while L2 ran (mirror builds, irq
# set-up with bypass, the control path) without polling the counters.
TRACING=/sys/kernel/tracing
echo 0 > "$TRACING/tracing_on"
echo > "$TRACING/trace"
echo 1 > "$TRACING/events/vhost_vfio/enable"
echo 1 > "$TRACING/tracing_on"

log=$VV_OUT/l2-datapath.log
if vv_run_l2_watched "$log" "$VV_TMP/l2.cpio.gz" 300 "$VV_OUT/datapath-l2-stall" \
	"$B" "$A" "$UUID" -device "vfio-pci,sysfsdev=$MDEV"; then
	vv_ok "L2 booted with the mdev of $B and ran its test"
else
	vv_not_ok "L2 booted with the mdev of $B and ran its test"
fi
echo 0 > "$TRACING/tracing_on"
trace=$VV_OUT/datapath-trace.txt
grep -v '^#' "$TRACING/trace" > "$trace"
echo 0 > "$TRACING/events/vhost_vfio/enable"
vv_log "$(wc -l < "$trace") vhost_vfio trace events in $trace"
sed 's/^/# L2: /' "$log"
vv_check "L2 pinged L1 through the mediated function" grep -q '^L2-PING-OK' "$log"
vv_check "L2 pinged L1 again after a driver rebind (device reset)" \
	grep -q '^L2-REBIND-PING-OK' "$log"
vv_check "L2's kernel is not tainted (no warning in the guest)" \
	grep -q '^L2-TAINT=0' "$log"

vv_check "L2's transfer never stopped moving (no stall recorded)" \
	bash -c "! grep -q '^L2-STALL' '$log'"
vv_check "bulk transfer L2->L1 arrived intact (${SIZE_KB} KiB)" \
	vv_traffic_intact "$log"

after=$VV_TMP/counters-after.txt
cat "$DBG" > "$after"
sed 's/^/# after: /' "$after"
vv_check "no trapped doorbell writes" \
	test "$(vv_counter "$after" bar2_notify_writes)" = 0
vv_check "interrupts delivered to L2" \
	test "$(vv_counter "$after" irqs)" -gt 0
vv_check "irq-bypass producers registered while L2 ran (trace)" \
	grep -q 'vhost_vfio_irq_set: .* with irq bypass (0)' "$trace"
# KVM's irqfd on the same eventfd is the producer's consumer: each vector
# with an eventfd was connected to one, so no interrupt went through QEMU.
if vv_kvm_registers_bypass; then
	vv_check "every MSI-X vector L2 used was connected to a KVM irqfd (trace)" \
		vv_all_vectors_on_irqfd "$trace"
else
	vv_check "no vector connected to a KVM irqfd: $(uname -r) registers no irq-bypass consumer without APICv (trace)" \
		bash -c "! grep -q 'connected to a KVM irqfd' '$trace'"
fi
vv_check "DMA mirror pinned guest memory while L2 ran (trace)" \
	grep -q 'DMA mirror built (0): [1-9][0-9]* pages pinned' "$trace"
vv_check "control path traced: status, FEATURES_OK, queue enable, reset" \
	bash -c "grep -q 'vhost_vfio_status: ' '$trace' &&
		 grep -q 'vhost_vfio_features_ok: .* accepted' '$trace' &&
		 grep -q 'vhost_vfio_queue_enable: .*: enabled' '$trace' &&
		 grep -q 'vhost_vfio_reset: .* done' '$trace'"
vv_check "the rebind reused the DMA mirror" \
	test "$(vv_counter "$after" mirror_reuses)" -ge 1
vv_check "nothing pinned, mapped or registered after L2 exited" \
	test "$(vv_counter "$after" mirror_pinned_pages)" = 0 -a \
	"$(vv_counter "$after" mirror_maps)" = 0 -a \
	"$(vv_counter "$after" bypass_producers)" = 0

echo 1 > "$MDEV/remove"
vv_unload_modules || vv_log "could not unload the modules"
vv_tap_end
