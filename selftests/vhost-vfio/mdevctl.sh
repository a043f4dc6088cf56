#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# mdevctl round trip with our type and provisioning attributes: define,
# modify (attrs), start, list, the guest sees the MAC, stop, undefine.
. "$(dirname "$0")/lib.sh"

set -u
read -r _ B _ <<< "$VV_NICS"
TYPE=vhost_vfio_virtio_pci-net
MAC=52:54:00:aa:bb:02
UUID=$(cat /proc/sys/kernel/random/uuid)
# No control queue (and so none of the features that need one): a guest
# can probe but DMA is not mirrored yet.
MASK=$(printf '0x%x' $(( ~(1 << 17) & 0xffffffffffffffff )))

vv_tap_begin
vv_load_modules
vv_bind "$B" vhost_vfio_virtio_pci > /dev/null
vv_check "mdevctl define -u UUID -p $B -t $TYPE" \
	mdevctl define -u "$UUID" -p "$B" -t "$TYPE"
vv_check "mdevctl modify adds the mac, mtu and features_mask attrs" \
	bash -c "mdevctl modify -u $UUID --addattr=mac --value=$MAC &&
		 mdevctl modify -u $UUID --addattr=mtu --value=1400 &&
		 mdevctl modify -u $UUID --addattr=features_mask --value=$MASK"
vv_check "mdevctl list --defined shows it with its attrs" \
	bash -c "mdevctl list --defined --dumpjson | grep -q '\"mac\": \"$MAC\"'"
vv_check "mdevctl start creates the mdev" \
	bash -c "mdevctl start -u $UUID && test -d /sys/bus/mdev/devices/$UUID"
vv_check "the attrs reached the device (sysfs mac, mtu)" \
	test "$(cat "/sys/bus/mdev/devices/$UUID/mac") $(cat "/sys/bus/mdev/devices/$UUID/mtu")" = "$MAC 1400"
vv_check "mdevctl list shows it running" \
	bash -c "mdevctl list | grep -q '^$UUID $B $TYPE'"

cat > "$VV_TMP/mdevctl-l2.sh" <<'L2'
echo "L2-MAC=$(cat /sys/class/net/eth0/address)"
echo "L2-MTU-MAX=$(cat /sys/class/net/eth0/mtu)"
L2
vv_l2_initrd "$VV_TMP/mdevctl-l2.cpio.gz" "$VV_TMP/mdevctl-l2.sh"
log=$VV_OUT/mdevctl-l2.log
vv_run_l2 "$log" "$VV_TMP/mdevctl-l2.cpio.gz" 240 \
	-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$UUID" > /dev/null 2>&1
grep '^L2-' "$log" | sed 's/^/# /'
vv_check "the nested guest's virtio_net sees the provisioned MAC" \
	grep -q "^L2-MAC=$MAC" "$log"
vv_check "mdevctl stop removes the mdev" \
	bash -c "mdevctl stop -u $UUID && test ! -e /sys/bus/mdev/devices/$UUID"
vv_check "mdevctl undefine forgets it" \
	bash -c "mdevctl undefine -u $UUID && ! mdevctl list --defined | grep -q $UUID"
vv_unload_modules
vv_bind "$B" virtio-pci > /dev/null
vv_tap_end
