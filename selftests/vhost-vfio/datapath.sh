#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The userspace data path (datapath_test): one mini-VMM with a KVM VM opens
# mdevs on functions 0 and 1 of VV_NICS, which share the QEMU hub, and
# exchanges frames between them through mapped doorbells, MSI-X eventfds
# and the DMA mirror.  Both functions are given back at the end.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
drv_a=$(vv_driver_of "$A")
drv_b=$(vv_driver_of "$B")
loaded_here=0

vv_tap_begin
if grep -q '^vhost_vfio ' /proc/modules; then
	vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
	vv_unload_modules
fi
# shellcheck disable=SC2119
if vv_load_modules; then
	loaded_here=1
	vv_ok "vhost_vfio and vhost_vfio_virtio_pci load"
else
	vv_not_ok "vhost_vfio and vhost_vfio_virtio_pci load"
fi
vv_mount_debugfs
vv_check "$A bound to vhost_vfio_virtio_pci" vv_bind "$A" vhost_vfio_virtio_pci
vv_check "$B bound to vhost_vfio_virtio_pci" vv_bind "$B" vhost_vfio_virtio_pci

dmesg_mark=$(dmesg | wc -l)
export VV_BDF=$A VV_BDF2=$B
vv_run_ksft datapath "$VV_BIN/datapath_test"
# Evidence of the isolation case, if the IOMMU logged the fault.
dmesg | tail -n +"$((dmesg_mark + 1))" | grep -m5 -E 'DMAR|DMA mirror' | sed 's/^/# dmesg: /'

for f in "$A" "$B"; do
	# shellcheck disable=SC2016
	vv_check "no mdev left on $f" bash -c '! ls -d /sys/bus/pci/devices/$1/*-*-*-*-* 2>/dev/null' _ "$f"
	vv_remove_mdevs "$f"
done
if [ "$loaded_here" = 1 ]; then
	vv_check "modules unload" vv_unload_modules
fi
vv_check "$A given back to ${drv_a:-no driver}" vv_give_back "$A" "$drv_a"
vv_check "$B given back to ${drv_b:-no driver}" vv_give_back "$B" "$drv_b"
vv_tap_end
