#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The virtqueue relay end to end: vhost_vfio's relay=Y, function B's mdev
# handed to a nested KVM guest (L2) whose stock virtio_net negotiates what
# the mini-VMM does not (EVENT_IDX, indirect descriptors, the control
# queue).  L2 pings L1, sends a random file whose checksum must match on
# both ends, rebinds its driver (a device reset) and pings again.  Every
# kick must have been trapped and relayed, every interrupt must have gone
# through the relay's thread (no irq-bypass producer), no queue may have
# stopped on an error, and after L2 exits nothing may be held.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.12.1
L2_IP=169.254.12.2
PORT=5003
SIZE_KB=${SIZE_KB:-4096}
UUID=${UUID:-5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad012}
MDEV=/sys/bus/mdev/devices/$UUID
DBG=/sys/kernel/debug/vhost_vfio/$UUID/counters
RELAY=/sys/module/vhost_vfio/parameters/relay

vv_tap_begin
vv_check "modules load, /dev/kvm exists" \
	bash -c ". $(dirname "$0")/lib.sh; vv_load_modules && modprobe virtio_net && test -c /dev/kvm"
vv_mount_debugfs
vv_check "relay set to Y" bash -c "echo Y > $RELAY && grep -qx Y $RELAY"
vv_check "function $B bound to vhost_vfio_virtio_pci" \
	vv_bind "$B" vhost_vfio_virtio_pci
echo "$UUID" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_log "doorbell_mode: $(cat "$MDEV/doorbell_mode")"
vv_check "doorbells trapped for the relay" \
	grep -qx "trapped: virtqueue relay (relay module parameter)" \
	"$MDEV/doorbell_mode"
vv_check "packed rings not offered with the relay" \
	bash -c "(( ! ($(cat "$MDEV/offered_features") & (1 << 34)) ))"
MIG=/sys/kernel/debug/vhost_vfio/$UUID/migration

vv_traffic_begin "$A" "$L1_IP" "$PORT"

{
	vv_l2_send_lines "$L1_IP" "$L2_IP" "$PORT" "$SIZE_KB"
	echo "grep -o '^[01]*' /sys/bus/virtio/devices/*/features | head -1 | sed 's/^/L2-FEATURES=/'"
	vv_l2_rebind_lines "$L1_IP" "$L2_IP"
} > "$VV_TMP/l2-test.sh"
vv_l2_initrd "$VV_TMP/l2.cpio.gz" "$VV_TMP/l2-test.sh"

log=$VV_OUT/l2-relay.log
if vv_run_l2_watched "$log" "$VV_TMP/l2.cpio.gz" 300 "$VV_OUT/relay-l2-stall" \
	"$B" "$A" "$UUID" -device "vfio-pci,sysfsdev=$MDEV"; then
	vv_ok "L2 booted with the relayed mdev of $B and ran its test"
else
	vv_not_ok "L2 booted with the relayed mdev of $B and ran its test"
fi
sed 's/^/# L2: /' "$log"
# virtio's feature string is bit 0 first: EVENT_IDX is bit 29.
vv_check "L2's virtio_net negotiated EVENT_IDX (the relay's event paths ran)" \
	bash -c "grep '^L2-FEATURES=' '$log' | head -1 | cut -d= -f2 | cut -c30 | grep -qx 1"
vv_check "L2 pinged L1 through the relay" grep -q '^L2-PING-OK' "$log"
vv_check "L2 pinged L1 again after a driver rebind (device reset)" \
	grep -q '^L2-REBIND-PING-OK' "$log"
vv_check "L2's kernel is not tainted (no warning in the guest)" \
	grep -q '^L2-TAINT=0' "$log"
vv_check "L2's transfer never stopped moving (no stall recorded)" \
	bash -c "! grep -q '^L2-STALL' '$log'"
vv_check "bulk transfer L2->L1 through the relay arrived intact (${SIZE_KB} KiB)" \
	vv_traffic_intact "$log"

after=$VV_TMP/counters-after.txt
cat "$DBG" > "$after"
grep -E '^(relay|bar2_notify|irqs|bypass|kicks_replayed)' "$after" | sed 's/^/# after: /'
vv_check "the relay moved heads and used elements" \
	test "$(vv_counter "$after" relay_avail)" -gt 0 -a \
	"$(vv_counter "$after" relay_used)" -gt 0
vv_check "every trapped kick was a relay pass (plus one replay per queue)" \
	test "$(vv_counter "$after" relay_kicks)" = \
	"$(( $(vv_counter "$after" bar2_notify_writes) + $(vv_counter "$after" kicks_replayed) ))"
vv_check "every interrupt went through the relay's thread" \
	test "$(vv_counter "$after" relay_interrupts)" -gt 0 -a \
	"$(vv_counter "$after" relay_interrupts)" -le "$(vv_counter "$after" irqs)"
vv_check "no relayed queue stopped on an error" \
	test "$(vv_counter "$after" relay_errors)" = 0
vv_check "migration offered to the relayed device with migration=N" \
	test "$(cat /sys/module/vhost_vfio/parameters/migration)" = N -a \
	"$(vv_counter "$MIG" offered)" = 1
vv_check "nothing held after L2 exited (relay, mirror, bypass)" \
	test "$(vv_counter "$after" relay_queues_live)" = 0 -a \
	"$(vv_counter "$after" mirror_pinned_pages)" = 0 -a \
	"$(vv_counter "$after" bypass_producers)" = 0

echo 1 > "$MDEV/remove"
echo N > "$RELAY"
vv_unload_modules || vv_log "could not unload the modules"
vv_tap_end
