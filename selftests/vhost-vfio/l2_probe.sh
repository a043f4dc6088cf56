#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# End to end through stock QEMU: an mdev on function 0 with a provisioned
# MAC and without a control queue (DMA is not mirrored yet, and a control
# queue command would wait forever) is given to a nested guest (L2) with
# -device vfio-pci,sysfsdev=...; L2's virtio_net must probe it, show the
# provisioned MAC and have negotiated a subset of what the mdev offered.
#
# Round "ctrl_vq" masks only VIRTIO_NET_F_CTRL_VQ, as an operator would;
# the mdev must then stop offering what depends on it.  Round "ctrl_vq+deps"
# also masks the dependent bits itself, so the rest of the path is checked
# even where the first round fails.
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"
MAC=52:54:00:aa:bb:cc
CTRL_VQ=17
# CTRL_GUEST_OFFLOADS, CTRL_RX, CTRL_VLAN, CTRL_RX_EXTRA, GUEST_ANNOUNCE,
# MQ, CTRL_MAC_ADDR, NOTF_COAL, RSS: all require CTRL_VQ.
DEPS=$(( 1 << 2 | 1 << 18 | 1 << 19 | 1 << 20 | 1 << 21 | 1 << 22 |
	 1 << 23 | 1 << 53 | 1 << 60 ))
drv_a=$(vv_driver_of "$A")

vv_tap_begin
if grep -q '^vhost_vfio ' /proc/modules; then
	vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
	vv_unload_modules
fi
vv_check "modules load" vv_load_modules
vv_check "/dev/kvm present for the nested guest" test -c /dev/kvm
vv_check "$A bound to vhost_vfio_virtio_pci" vv_bind "$A" vhost_vfio_virtio_pci

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

# l2_round NAME MASK: one mdev, provisioned, through one L2 boot.
l2_round() {
	local name=$1 mask uuid M offered log l2_driver l2_mac l2_bits l2 i
	local l2_hex=
	mask=$(printf '0x%016x' $(( ~$2 )))
	uuid=$(cat /proc/sys/kernel/random/uuid)
	M=/sys/bus/mdev/devices/$uuid
	vv_check "$name: mdev created on $A" sysfs_create "$uuid"
	vv_check "$name: MAC $MAC and features_mask $mask provisioned" \
		provision "$M" "$mask"
	offered=$(cat "$M/offered_features" 2>/dev/null)
	vv_log "$name: offered_features $offered"

	log=$VV_OUT/l2-probe-$name.log
	rm -f "$log"
	vv_check "$name: L2 booted through the mdev and ran its test" \
		vv_run_l2 "$log" "$VV_TMP/l2-probe.cpio.gz" 300 \
		-device "vfio-pci,sysfsdev=$M"
	sed 's/^/# L2: /' "$log" 2>/dev/null | grep -v '^# L2: *$' | tail -n 40

	l2_driver=$(sed -n 's/^L2-DRIVER=\([a-z_]*\).*/\1/p' "$log" | tr -d '\r')
	l2_mac=$(sed -n 's/^L2-MAC=\([0-9a-f:]*\).*/\1/p' "$log" | tr -d '\r')
	l2_bits=$(sed -n 's/^L2-FEATURES=\([01]*\).*/\1/p' "$log" | tr -d '\r')
	vv_check "$name: L2 virtio_net bound the device (driver ${l2_driver:-none})" \
		test "$l2_driver" = virtio_net
	vv_check "$name: L2 eth0 has the provisioned MAC (${l2_mac:-none})" \
		test "$l2_mac" = "$MAC"

	# virtio features file: one character per bit, bit 0 first.
	if [ -n "$l2_bits" ]; then
		l2=0
		for ((i = 0; i < ${#l2_bits} && i < 64; i++)); do
			[ "${l2_bits:i:1}" = 1 ] && l2=$((l2 | (1 << i)))
		done
		l2_hex=$(printf '0x%016x' "$l2")
	fi
	vv_log "$name: L2 features $l2_hex, offered $offered"
	vv_check "$name: L2 features are a subset of offered, with VERSION_1" \
		subset "$l2_hex" "$offered"
	vv_check "$name: L2 has no control queue" \
		test -n "$l2_hex" -a $(( ${l2_hex:-0} >> CTRL_VQ & 1 )) = 0

	# QEMU closed the device: reset, nothing negotiated, writable again.
	vv_check "$name: after L2, status and negotiated_features are 0" \
		test "$(cat "$M/status" 2>/dev/null)" = 0x00 -a \
		"$(cat "$M/negotiated_features" 2>/dev/null)" = 0x0000000000000000
	vv_check "$name: after L2, provisioning is writable" \
		sysfs_set "$M/mtu" 1500
	vv_check "$name: mdev removed" sysfs_set "$M/remove" 1
}
sysfs_create() {
	echo "$1" > "/sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
}
sysfs_set() { echo "$2" > "$1"; }
provision() {
	echo "$MAC" > "$1/mac" && echo "$2" > "$1/features_mask" &&
		[ "$(cat "$1/mac")" = "$MAC" ] &&
		[ $(( $(cat "$1/offered_features") >> CTRL_VQ & 1 )) = 0 ]
}
subset() {
	[ -n "$1" ] && [ -n "$2" ] && [ $(( $1 & ~$2 )) = 0 ] &&
		[ $(( $1 >> 32 & 1 )) = 1 ]
}

l2_round ctrl_vq $(( 1 << CTRL_VQ ))
l2_round ctrl_vq+deps $(( 1 << CTRL_VQ | DEPS ))

vv_remove_mdevs "$A"
vv_check "modules unload" vv_unload_modules
vv_check "$A given back to ${drv_a:-no driver}" vv_give_back "$A" "$drv_a"
vv_tap_end
