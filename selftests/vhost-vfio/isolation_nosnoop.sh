#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# An IOMMU that cannot enforce cache coherency (no snoop control).  Needs
# an L1 of its own, which scripts/check.sh starts with
#     vm-run.sh --nics 2 --iommu-opts intremap=on,caching-mode=on,snoop-control=off
# vhost_vfio refuses to open an mdev on function A (EPERM, a "cache
# coherency" log line), also with allow_unsafe_interrupts set, which is
# about interrupts only; vfio-pci passthrough of function B still opens
# (vfio_iommu_type1 tells KVM about non-coherent DMA instead).
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
VV=/sys/module/vhost_vfio/parameters/allow_unsafe_interrupts

# intremap_without_snoop: L1's IOMMU has interrupt remapping (ecap bit 3)
# and lacks snoop control (bit 7), so only the latter can be refused here.
intremap_without_snoop() {
	local ecap
	ecap=$(vv_dmar_ecap) || return 1
	vv_log "VT-d ecap $ecap"
	(((ecap & 0x8) && !(ecap & 0x80)))
}

drv_b=$(vv_driver_of "$B")
vv_setup_functions "$A"
vv_check "L1's IOMMU has interrupt remapping, no snoop control" intremap_without_snoop

uuid=$(cat /proc/sys/kernel/random/uuid)
vv_check "mdev created on $A" \
	bash -c "echo $uuid > /sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_kmsg_mark
vv_check "mdev: VFIO_GROUP_GET_DEVICE_FD refused with EPERM" \
	vv_open_says "$uuid" "refused VFIO_GROUP_GET_DEVICE_FD EPERM"
vv_log "new log lines: $(vv_kmsg_since | grep 'cache coherency')"
vv_check "mdev: the log says why (\"cache coherency\")" vv_kmsg_logged "cache coherency"
vv_check "vhost_vfio allow_unsafe_interrupts set to 1" bash -c "echo 1 > $VV"
vv_check "mdev: still refused with allow_unsafe_interrupts=1" \
	vv_open_says "$uuid" "refused VFIO_GROUP_GET_DEVICE_FD EPERM"
vv_check "vhost_vfio allow_unsafe_interrupts reset to N" bash -c "echo N > $VV"

vv_check "$B bound to vfio-pci" vv_bind "$B" vfio-pci
vv_check "vfio-pci $B: VFIO_SET_IOMMU succeeds (passthrough is not refused)" \
	vv_open_says "$B" open

vv_check "mdev removed" bash -c "echo 1 > /sys/bus/mdev/devices/$uuid/remove"
vv_check "$B given back to ${drv_b:-no driver}" vv_give_back "$B" "$drv_b"
# shellcheck disable=SC2119
vv_teardown_functions
