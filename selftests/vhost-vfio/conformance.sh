#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# Conformance with the function (conformance.c): function 0 of VV_NICS is
# swept under vfio-pci passthrough, then handed to vhost_vfio_virtio_pci and
# swept again through an mdev on it, every register a guest sees at every
# width and offset.  The two sweeps must not differ except as
# conformance_expected.txt lists (each difference with its reason, also in
# Documentation/design.rst).  Both sweeps stay in VV_OUT for a diff by hand.
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"
drv_a=$(vv_driver_of "$A")
ref=$VV_OUT/conformance-function.txt
med=$VV_OUT/conformance-mdev.txt
M=

vv_tap_begin
if grep -q '^vhost_vfio ' /proc/modules; then
	vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
	vv_unload_modules
fi
# sweep NAME OUT: one sweep, its lines counted in the log.
sweep() {
	"$VV_BIN/conformance" sweep "$1" > "$2" || return 1
	vv_log "$1: $(wc -l < "$2") observations in $2"
}
create() {
	M=/sys/bus/mdev/devices/$1
	echo "$1" > "/sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
}

vv_check "vfio-pci and kvm_amd load" vv_load_deps
vv_check "$A bound to vfio-pci" vv_bind "$A" vfio-pci
vv_check "sweep of $A under vfio-pci passthrough" sweep "$A" "$ref"
vv_check "vhost_vfio and vhost_vfio_virtio_pci load" vv_load_modules
vv_check "$A bound to vhost_vfio_virtio_pci" vv_bind "$A" vhost_vfio_virtio_pci
uuid=$(cat /proc/sys/kernel/random/uuid)
vv_check "mdev created on $A" create "$uuid"
vv_check "sweep of the mdev on $A" sweep "$uuid" "$med"
vv_check "mdev removed" bash -c "echo 1 > '$M/remove'"
vv_run_ksft conformance "$VV_BIN/conformance" diff "$ref" "$med" \
	"$VV_PROJECT/selftests/vhost-vfio/conformance_expected.txt"

vv_check "modules unload" vv_unload_modules
vv_check "$A given back to ${drv_a:-no driver}" vv_give_back "$A" "$drv_a"
vv_tap_end
