#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# VM pause and resume with the relay: vhost_vfio's relay=Y and
# migration=Y, function B's mdev in a nested KVM guest (L2).  While L2
# sends a random file to L1, L1 pauses and resumes L2 three times through
# QEMU's monitor (stop, cont: what virsh suspend and resume do).  QEMU 8
# and later (the Debian 13 host's 10) stop a VFIO device with migration v2
# at every pause: the relay must park the queues, and resume them in place
# with no DEVICE_NEEDS_RESET.  QEMU 7.2 (the Debian 12 host) has no
# migration v2: the pauses must not reach the device at all.  Either way
# the file arrives intact, L2's transfer never stalls and its kernel stays
# clean.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.13.1
L2_IP=169.254.13.2
PORT=5004
SIZE_KB=${SIZE_KB:-8192}
PAUSES=3
UUID=${UUID:-5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad013}
MDEV=/sys/bus/mdev/devices/$UUID
DBG=/sys/kernel/debug/vhost_vfio/$UUID
PARAMS=/sys/module/vhost_vfio/parameters

# QEMU's major version: 8 brought VFIO migration v2.
qemu_major=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)

vv_tap_begin
vv_check "modules load, /dev/kvm exists" \
	bash -c ". $(dirname "$0")/lib.sh; vv_load_modules && modprobe virtio_net && test -c /dev/kvm"
vv_mount_debugfs
vv_check "relay and migration set to Y" \
	bash -c "echo Y > $PARAMS/relay && echo Y > $PARAMS/migration && grep -qx Y $PARAMS/relay && grep -qx Y $PARAMS/migration"
vv_check "function $B bound to vhost_vfio_virtio_pci" \
	vv_bind "$B" vhost_vfio_virtio_pci
echo "$UUID" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_log "QEMU $qemu_major in L1; doorbell_mode: $(cat "$MDEV/doorbell_mode")"

vv_traffic_begin "$A" "$L1_IP" "$PORT"
vv_l2_send_lines "$L1_IP" "$L2_IP" "$PORT" "$SIZE_KB" > "$VV_TMP/l2-test.sh"
cat >> "$VV_TMP/l2-test.sh" <<L2
ping -c 3 -w 30 $L1_IP && echo L2-AFTER-PING-OK
dmesg | grep -A 12 -E 'WARNING|BUG|timed out' | head -40
echo "L2-TAINT=\$(cat /proc/sys/kernel/tainted)"
L2
vv_l2_initrd "$VV_TMP/l2.cpio.gz" "$VV_TMP/l2-test.sh"

# L1's part: once the transfer runs, pause and resume L2 PAUSES times,
# each after some more data arrived.
log=$VV_OUT/l2-pause.log
mon=$VV_TMP/l2-mon-$$.sock
res=$VV_TMP/pauses.txt
pauser() {
	local i ok=0 size
	vv_wait_console "$log" 300 "$1" '^L2-MD5=' || return
	for i in $(seq "$PAUSES"); do
		size=$(stat -c %s "$VV_TMP/rx.bin" 2> /dev/null || echo 0)
		# Some data between pauses: woken by the sink's writes.
		while [ "$(stat -c %s "$VV_TMP/rx.bin" 2> /dev/null || echo 0)" -le $((size + 262144)) ] &&
		      kill -0 "$1" 2> /dev/null; do
			inotifywait -q -t 5 -e modify "$VV_TMP/rx.bin" > /dev/null 2>&1
		done
		"$VV_PROJECT/scripts/vm/qmp.py" --json "$mon" '{"execute": "stop"}' > /dev/null &&
		"$VV_PROJECT/scripts/vm/qmp.py" --json "$mon" '{"execute": "query-status"}' |
			grep -q '"status": "paused"' &&
		"$VV_PROJECT/scripts/vm/qmp.py" --json "$mon" '{"execute": "cont"}' > /dev/null &&
		ok=$((ok + 1))
	done
	echo "$ok" > "$res"
}

rm -f "$res"
: > "$log"
vv_run_l2_watched "$log" "$VV_TMP/l2.cpio.gz" 300 "$VV_OUT/pause-l2-stall" \
	"$B" "$A" "$UUID" -device "vfio-pci,sysfsdev=$MDEV" &
l2=$!
pauser "$l2"
if wait "$l2"; then
	vv_ok "L2 booted with the relayed mdev of $B and ran its test"
else
	vv_not_ok "L2 booted with the relayed mdev of $B and ran its test"
fi
sed 's/^/# L2: /' "$log"
sed 's/^/# migration: /' "$DBG/migration"
grep -E '^relay_(parks|resumes|heads_reposted|errors)' "$DBG/counters" | sed 's/^/# after: /'

vv_check "L1 paused and resumed L2 $PAUSES times during the transfer" \
	test "$(cat "$res" 2> /dev/null)" = "$PAUSES"
vv_check "bulk transfer L2->L1 across the pauses arrived intact (${SIZE_KB} KiB)" \
	vv_traffic_intact "$log"
vv_check "L2's transfer never stopped moving (no stall recorded)" \
	bash -c "! grep -q '^L2-STALL' '$log'"
vv_check "L2 pinged L1 after the pauses" grep -q '^L2-AFTER-PING-OK' "$log"
vv_check "L2's kernel is not tainted (no warning, no tx timeout)" \
	bash -c "grep -q '^L2-TAINT=0' '$log' && ! grep -q 'timed out' '$log'"
m=$DBG/migration
if [ "${qemu_major:-0}" -ge 8 ]; then
	vv_check "every pause parked the relay and resumed it in place ($PAUSES)" \
		test "$(vv_counter "$m" resumed_in_place)" = "$PAUSES" -a \
		"$(vv_counter "$DBG/counters" relay_parks)" = "$PAUSES"
	vv_check "no pause raised DEVICE_NEEDS_RESET" \
		test "$(vv_counter "$m" needs_reset_raised)" = 0
else
	vv_check "QEMU $qemu_major has no VFIO migration v2: no pause reached the device" \
		test "$(vv_counter "$m" transitions)" = 0
fi
vv_check "no relayed queue stopped on an error" \
	test "$(vv_counter "$DBG/counters" relay_errors)" = 0

echo 1 > "$MDEV/remove"
echo N > "$PARAMS/relay"
echo N > "$PARAMS/migration"
vv_unload_modules || vv_log "could not unload the modules"
vv_tap_end
