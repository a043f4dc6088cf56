#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Hostile input against the vhost-vfio mdev (hostile_test): the device fd's
# regions, ioctls and mmap, the emulated virtio registers driven like a
# malicious guest, and garbage in the provisioning attributes.  Function 0
# of VV_NICS is handed to vhost_vfio_virtio_pci and given back at the end.
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"
drv_a=$(vv_driver_of "$A")
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
vv_check "$A bound to vhost_vfio_virtio_pci" vv_bind "$A" vhost_vfio_virtio_pci

export VV_BDF=$A
vv_run_ksft hostile "$VV_BIN/hostile_test"

# shellcheck disable=SC2016
vv_check "no mdev left on $A" bash -c '! ls -d /sys/bus/pci/devices/$1/*-*-*-*-* 2>/dev/null' _ "$A"
vv_remove_mdevs "$A"
if [ "$loaded_here" = 1 ]; then
	vv_check "modules unload" vv_unload_modules
fi
vv_check "$A given back to ${drv_a:-no driver}" vv_give_back "$A" "$drv_a"
vv_tap_end
