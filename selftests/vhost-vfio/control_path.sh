#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Control path of the vhost-vfio mdev, played by the mini-VMM: sysfs
# lifecycle, emulated configuration space, virtio common configuration and
# feature negotiation, provisioning.  Functions 0 and 1 of VV_NICS are
# handed to vhost_vfio_virtio_pci and given back to their drivers at the end.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
bin=$VV_BIN
drv_a=$(vv_driver_of "$A")
drv_b=$(vv_driver_of "$B")
loaded_here=0

vv_tap_begin
if grep -q '^vhost_vfio ' /proc/modules; then
	vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
	vv_unload_modules
fi
if vv_load_modules; then
	loaded_here=1
	vv_ok "vhost_vfio and vhost_vfio_virtio_pci load"
else
	vv_not_ok "vhost_vfio and vhost_vfio_virtio_pci load"
fi
vv_check "$A bound to vhost_vfio_virtio_pci" vv_bind "$A" vhost_vfio_virtio_pci
vv_check "$B bound to vhost_vfio_virtio_pci" vv_bind "$B" vhost_vfio_virtio_pci
vv_mount_debugfs || vv_log "debugfs not available; counter checks will skip"

export VV_BDF=$A VV_BDF2=$B
vv_run_ksft mdev_sysfs "$bin/mdev_sysfs_test"
vv_run_ksft config_space "$bin/config_space_test"
vv_run_ksft virtio_common "$bin/virtio_common_test"
vv_run_ksft provision "$bin/provision_test"

vv_check "no mdev left on $A or $B" \
	bash -c "! ls -d /sys/bus/pci/devices/{$A,$B}/*-*-*-*-* 2>/dev/null"
vv_remove_mdevs "$A"
vv_remove_mdevs "$B"
if [ "$loaded_here" = 1 ]; then
	vv_check "modules unload" vv_unload_modules
fi
vv_check "$A given back to ${drv_a:-no driver}" vv_give_back "$A" "$drv_a"
vv_check "$B given back to ${drv_b:-no driver}" vv_give_back "$B" "$drv_b"
vv_tap_end
