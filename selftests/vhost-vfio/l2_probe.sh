#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End to end through stock QEMU: an mdev on function 0 with a provisioned
# MAC and without a control queue (DMA is not mirrored yet, and a control
# queue command would wait forever) is given to a nested guest (L2) with
# -device vfio-pci,sysfsdev=...; L2's virtio_net must probe it, show the
# provisioned MAC and have negotiated a subset of what the mdev offered.
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"
MAC=52:54:00:aa:bb:cc
CTRL_VQ=17
drv_a=$(vv_driver_of "$A")
uuid=
M=

vv_tap_begin
if grep -q '^vhost_vfio ' /proc/modules; then
	vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
	vv_unload_modules
fi
vv_check "modules load" vv_load_modules
vv_check "/dev/kvm present for the nested guest" test -c /dev/kvm
vv_check "$A bound to vhost_vfio_virtio_pci" vv_bind "$A" vhost_vfio_virtio_pci

create() {
	uuid=$(cat /proc/sys/kernel/random/uuid)
	M=/sys/bus/mdev/devices/$uuid
	echo "$uuid" > "/sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
}
provision() {
	local mask
	mask=$(printf '0x%016x' $(( ~(1 << CTRL_VQ) )))
	echo "$MAC" > "$M/mac" && echo "$mask" > "$M/features_mask" &&
		[ "$(cat "$M/mac")" = "$MAC" ] &&
		[ $(( $(cat "$M/offered_features") >> CTRL_VQ & 1 )) = 0 ]
}
vv_check "mdev created on $A" create
vv_check "MAC $MAC provisioned, CTRL_VQ masked out of offered features" provision
offered=$(cat "$M/offered_features" 2>/dev/null)
vv_log "offered_features $offered"

cat > "$VV_TMP/l2-probe.sh" <<'L2'
ok=0
d=/sys/bus/virtio/devices/virtio0
echo "L2-FEATURES=$(cat $d/features)"
echo "L2-DRIVER=$(basename "$(readlink $d/driver)")"
if [ -e /sys/class/net/eth0/address ]; then
	echo "L2-MAC=$(cat /sys/class/net/eth0/address)"
else
	echo "L2-NO-ETH0"
	ls /sys/class/net
	ok=1
fi
exit $ok
L2
vv_l2_initrd "$VV_TMP/l2-probe.cpio.gz" "$VV_TMP/l2-probe.sh"
log=$VV_OUT/l2-probe.log
rm -f "$log"
vv_check "L2 booted through the mdev and ran its test" \
	vv_run_l2 "$log" "$VV_TMP/l2-probe.cpio.gz" 300 \
	-device "vfio-pci,sysfsdev=$M"
sed 's/^/# L2: /' "$log" 2>/dev/null | tail -n 60

l2_driver=$(sed -n 's/^L2-DRIVER=\([a-z_]*\).*/\1/p' "$log" | tr -d '\r')
l2_mac=$(sed -n 's/^L2-MAC=\([0-9a-f:]*\).*/\1/p' "$log" | tr -d '\r')
l2_bits=$(sed -n 's/^L2-FEATURES=\([01]*\).*/\1/p' "$log" | tr -d '\r')
vv_check "L2: virtio_net bound the device (driver ${l2_driver:-none})" \
	test "$l2_driver" = virtio_net
vv_check "L2: eth0 has the provisioned MAC (${l2_mac:-none})" \
	test "$l2_mac" = "$MAC"

# /sys/bus/virtio/devices/*/features: one character per bit, bit 0 first.
l2_hex=
if [ -n "$l2_bits" ]; then
	l2=0
	for ((i = 0; i < ${#l2_bits} && i < 64; i++)); do
		[ "${l2_bits:i:1}" = 1 ] && l2=$((l2 | (1 << i)))
	done
	l2_hex=$(printf '0x%016x' "$l2")
fi
vv_log "L2 features $l2_hex, offered $offered"
subset() {
	[ -n "$l2_hex" ] && [ -n "$offered" ] &&
		[ $(( l2_hex & ~offered )) = 0 ] &&
		[ $(( l2_hex >> 32 & 1 )) = 1 ]
}
vv_check "L2: negotiated features are a subset of offered (and VERSION_1)" subset
vv_check "L2: no control queue negotiated" \
	test -n "$l2_hex" -a $(( ${l2_hex:-0} >> CTRL_VQ & 1 )) = 0

# QEMU closed the device: it is reset, negotiated_features reads 0 again.
vv_check "after L2: status and negotiated_features back to 0" \
	test "$(cat "$M/status" 2>/dev/null)" = 0x00 -a \
	"$(cat "$M/negotiated_features" 2>/dev/null)" = 0x0000000000000000
vv_check "after L2: provisioning still writable" \
	bash -c "echo 1500 > $M/mtu && echo 0 > $M/mtu"

vv_check "mdev removed" bash -c "echo 1 > $M/remove"
vv_check "modules unload" vv_unload_modules
vv_check "$A given back to ${drv_a:-no driver}" vv_give_back "$A" "$drv_a"
vv_tap_end
