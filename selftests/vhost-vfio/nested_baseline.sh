#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The SR-IOV-style baseline: function B passed to a nested KVM guest (L2)
# with plain vfio-pci, function A driven by virtio_net in L1.  L2 pings L1
# and sends a random file whose checksum must match on both ends.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.10.1
L2_IP=169.254.10.2
PORT=5001
SIZE_KB=2048

vv_plan 5
vv_check "deps load (vfio-pci, kvm_amd) and /dev/kvm exists" \
	bash -c 'modprobe -a vfio-pci kvm_amd virtio_net && test -c /dev/kvm'
vv_check "function $B bound to vfio-pci" vv_bind "$B" vfio-pci

ifname=$(vv_netdev_of "$A")
ip addr add "$L1_IP/24" dev "$ifname" && ip link set "$ifname" up
rm -f "$VV_TMP/rx.bin"
"$VV_BIN/tcp_sink" "$PORT" "$VV_TMP/rx.bin" 300 > "$VV_TMP/sink.txt" &
sink_pid=$!

cat > "$VV_TMP/l2-test.sh" <<L2
ip link set eth0 up
ip addr add $L2_IP/24 dev eth0
ping -c 3 -w 30 $L1_IP && echo L2-PING-OK
dd if=/dev/urandom of=/tmp/tx.bin bs=1024 count=$SIZE_KB 2>/dev/null
echo "L2-MD5=\$(md5sum /tmp/tx.bin | cut -d' ' -f1)"
nc -w 5 $L1_IP $PORT < /tmp/tx.bin && echo L2-SEND-OK
L2
vv_l2_initrd "$VV_TMP/l2.cpio.gz" "$VV_TMP/l2-test.sh"
log=$VV_OUT/l2-baseline.log
if vv_run_l2 "$log" "$VV_TMP/l2.cpio.gz" 240 -device "vfio-pci,host=$B"; then
	vv_ok "L2 booted with $B passed through and ran its test"
else
	vv_not_ok "L2 booted with $B passed through and ran its test"
fi
sed 's/^/# L2: /' "$log"
vv_check "L2 pinged L1 over the passed-through function" grep -q '^L2-PING-OK' "$log"

wait "$sink_pid"
vv_log "$(cat "$VV_TMP/sink.txt")"
tx=$(sed -n 's/^L2-MD5=\([0-9a-f]*\).*/\1/p' "$log" | tr -d '\r')
rx=$(md5sum "$VV_TMP/rx.bin" | cut -d' ' -f1)
vv_log "sent md5 $tx, received md5 $rx, $(stat -c %s "$VV_TMP/rx.bin") bytes"
vv_check "bulk transfer L2->L1 arrived intact (${SIZE_KB} KiB)" test -n "$tx" -a "$tx" = "$rx"
vv_exit
