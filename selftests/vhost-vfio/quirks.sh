#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# Feature quirks from the vhost_vfio "quirks" module parameter.  Expects the
# suite's functions: 2 with packed=on (the VF offers RING_PACKED), 3 with
# iommu_platform=off (the VF lacks ACCESS_PLATFORM and ORDER_PLATFORM).
#
# Loaded with three entries:
#   clear RING_PACKED (34) and GUEST_TSO4 (7) on every 1af4:1041
#   set ACCESS_PLATFORM (33) and ORDER_PLATFORM (36) on 1af4:1041 with a
#     1af4 subsystem vendor and any subsystem device
#   clear VERSION_1 on subsystem vendor 8086, which must match nothing here
. "$(dirname "$0")/lib.sh"

set -u
read -r _ _ P N _ <<< "$VV_NICS"
bin=$VV_BIN
CLEAR=0x400000080
SET=0x1200000000
PARAM="quirks=1af4:1041:*:*:$CLEAR:0,1af4:1041:1af4:*:0:$SET,1af4:1041:8086:*:0x100000000:0"

vv_tap_begin
if [ -z "${N:-}" ]; then
	vv_not_ok "the suite's 4 functions are present (VV_NICS=$VV_NICS)"
	vv_tap_end
fi
drv_p=$(vv_driver_of "$P")
drv_n=$(vv_driver_of "$N")

if grep -q '^vhost_vfio ' /proc/modules; then
	vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
	vv_unload_modules
fi
vv_check "dependencies load" vv_load_deps

# insmod must refuse every malformed entry and leave nothing loaded.
bad_quirk() {
	if insmod "$VV_KO_DIR/vhost_vfio.ko" "quirks=$1" 2> /dev/null; then
		rmmod vhost_vfio
		return 1
	fi
	! grep -q '^vhost_vfio ' /proc/modules
}
for q in bogus 1af4:1041:*:*:0x1 1af4:1041:*:*:0:0:0 '*:1041:*:*:0:0' \
	 1af4:*:*:*:0:0 12345:1041:*:*:0:0 1af4:1041:*:*:xyz:0 \
	 1af4:1041:*:*:0:0x10000000000000000 1af4:1041:*:*:0:0,bogus \
	 1af4:1041:**:*:0:0; do
	vv_check "insmod refuses quirks=$q" bad_quirk "$q"
done

vv_check "vhost_vfio loads with $PARAM" \
	insmod "$VV_KO_DIR/vhost_vfio.ko" "$PARAM"
vv_check "vhost_vfio_virtio_pci loads" \
	insmod "$VV_KO_DIR/vhost_vfio_virtio_pci.ko"
vv_check "$P (packed=on) bound to vhost_vfio_virtio_pci" \
	vv_bind "$P" vhost_vfio_virtio_pci
vv_check "$N (iommu_platform=off) bound to vhost_vfio_virtio_pci" \
	vv_bind "$N" vhost_vfio_virtio_pci

# GUEST_TSO4 can only be shown taken away if the VF offers it (a hub
# backend without vnet headers turns guest offloads off).
t=/sys/bus/pci/devices/$P/mdev_supported_types/vhost_vfio_virtio_pci-net
vf=$(grep -o 'VF features 0x[0-9a-f]*' "$t/description" 2>/dev/null | cut -d' ' -f3)
vv_log "$P VF features: ${vf:-unknown}"
tso4=0
[ -n "$vf" ] && tso4=$(( (vf >> 7) & 1 ))

# Two entries match each function: the clear and the set one.
VV_BDF=$P VV_QUIRK_CLEAR=$CLEAR VV_QUIRK_SET=$SET VV_QUIRK_LINES=2 \
	VV_VF_HAS=0x400000000 VV_VF_LACKS=0 \
	vv_run_ksft "packed $P" "$bin/quirks_test"
if [ "$tso4" = 1 ]; then
	vv_ok "packed $P: the VF offers GUEST_TSO4 (7), so its clearing is shown"
else
	vv_ok "packed $P: the VF offers GUEST_TSO4 (7) # SKIP the VF has no guest offloads (hub backend)"
fi
VV_BDF=$N VV_QUIRK_CLEAR=$CLEAR VV_QUIRK_SET=$SET VV_QUIRK_LINES=2 \
	VV_VF_HAS=0 VV_VF_LACKS=$SET \
	vv_run_ksft "no-iommu-platform $N" "$bin/quirks_test"

vv_remove_mdevs "$P"
vv_remove_mdevs "$N"
vv_check "modules unload" vv_unload_modules
vv_check "$P given back to ${drv_p:-no driver}" vv_give_back "$P" "$drv_p"
vv_check "$N given back to ${drv_n:-no driver}" vv_give_back "$N" "$drv_n"
vv_tap_end
