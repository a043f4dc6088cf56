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
# 4 MiB: this run shows the passthrough path works; datapath_l2.sh moves
# 16 MiB through the mdev.  16 MiB through passthrough once took the whole
# 300 s bound with four other VMs on the machine's two cores.
SIZE_KB=${SIZE_KB:-4096}

vv_tap_begin
vv_check "deps load (vfio-pci, kvm_amd) and /dev/kvm exists" \
	bash -c 'modprobe -a vfio-pci kvm_amd virtio_net && test -c /dev/kvm'
vv_check "function $B bound to vfio-pci" vv_bind "$B" vfio-pci

vv_traffic_begin "$A" "$L1_IP" "$PORT"

vv_l2_send_lines "$L1_IP" "$L2_IP" "$PORT" "$SIZE_KB" > "$VV_TMP/l2-test.sh"
vv_l2_initrd "$VV_TMP/l2.cpio.gz" "$VV_TMP/l2-test.sh"
log=$VV_OUT/l2-baseline.log
if vv_run_l2_watched "$log" "$VV_TMP/l2.cpio.gz" 300 "$VV_OUT/baseline-stall" \
	"$B" "$A" "" -device "vfio-pci,host=$B"; then
	vv_ok "L2 booted with $B passed through and ran its test"
else
	vv_not_ok "L2 booted with $B passed through and ran its test"
fi
sed 's/^/# L2: /' "$log"
vv_check "L2 pinged L1 over the passed-through function" grep -q '^L2-PING-OK' "$log"

vv_check "L2's transfer never stopped moving (no stall recorded)" \
	bash -c "! grep -q '^L2-STALL' '$log'"
vv_check "bulk transfer L2->L1 arrived intact (${SIZE_KB} KiB)" vv_traffic_intact "$log"
vv_tap_end
