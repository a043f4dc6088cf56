#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# An IOMMU without interrupt remapping.  Needs an L1 of its own, which
# scripts/check.sh starts with
#     vm-run.sh --nics 2 --iommu-opts intremap=off,caching-mode=on,snoop-control=on
# Without interrupt remapping a device's DMA can raise host interrupts, so
# both ways of giving a function to a guest refuse by default, each with
# its own allow_unsafe_interrupts module parameter: vfio-pci passthrough of
# function B (vfio_iommu_type1 refuses VFIO_SET_IOMMU with EPERM) and an
# mdev on function A (vhost_vfio refuses VFIO_GROUP_GET_DEVICE_FD with
# EPERM and names the mdev in the log).  With both parameters set, both
# open.  The parameters are N again at the end.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
T1=/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
VV=/sys/module/vhost_vfio/parameters/allow_unsafe_interrupts
hold_open=$VV_BIN/hold_open

# params_are VALUE: both allow_unsafe_interrupts parameters read VALUE.
params_are() {
	vv_log "allow_unsafe_interrupts: vfio_iommu_type1 $(cat "$T1" 2>&1), vhost_vfio $(cat "$VV" 2>&1)"
	[ "$(cat "$T1" 2> /dev/null)" = "$1" ] && [ "$(cat "$VV" 2> /dev/null)" = "$1" ]
}

# set_params VALUE: write VALUE to both parameters.
set_params() {
	local ok=0
	echo "$1" > "$T1" || ok=1
	echo "$1" > "$VV" || ok=1
	return $ok
}

# no_intremap_with_snoop: L1's IOMMU lacks interrupt remapping (ecap bit 3)
# and has snoop control (bit 7), so only the former can be refused here.
no_intremap_with_snoop() {
	local ecap
	ecap=$(vv_dmar_ecap) || return 1
	vv_log "VT-d ecap $ecap"
	((!(ecap & 0x8) && (ecap & 0x80)))
}

# one_line_names PATTERN UUID: the kernel logged exactly one line with
# PATTERN since the mark, and it names UUID.
one_line_names() {
	local lines
	lines=$(vv_kmsg_since | grep -- "$1")
	vv_log "new log lines with '$1': ${lines:-none}"
	[ "$(grep -c . <<< "$lines")" = 1 ] && grep -q -- "$2" <<< "$lines"
}

drv_b=$(vv_driver_of "$B")
vv_setup_functions "$A"
vv_check "L1's IOMMU has no interrupt remapping, has snoop control" no_intremap_with_snoop
vv_check "allow_unsafe_interrupts is N by default in vfio_iommu_type1 and vhost_vfio" \
	params_are N
vv_check "$B bound to vfio-pci" vv_bind "$B" vfio-pci

# vfio-pci: vfio_iommu_type1 refuses the group without interrupt remapping.
vv_kmsg_mark
vv_check "vfio-pci $B: VFIO_SET_IOMMU refused with EPERM" \
	vv_open_says "$B" "refused VFIO_SET_IOMMU EPERM"
vv_check "vfio-pci $B: the log says \"No interrupt remapping support\"" \
	vv_kmsg_logged "No interrupt remapping support"

# The mdev: vhost_vfio refuses to open it.
uuid=$(cat /proc/sys/kernel/random/uuid)
vv_check "mdev created on $A" \
	bash -c "echo $uuid > /sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_kmsg_mark
vv_check "mdev: VFIO_GROUP_GET_DEVICE_FD refused with EPERM" \
	vv_open_says "$uuid" "refused VFIO_GROUP_GET_DEVICE_FD EPERM"
vv_check "mdev: one log line about interrupt remapping, naming the mdev" \
	one_line_names "interrupt remapping" "$uuid"

# The operator accepts unsafe interrupts: both open.
vv_check "allow_unsafe_interrupts set to 1 in both modules" set_params 1
vv_check "allow_unsafe_interrupts reads Y in both" params_are Y
vv_check "vfio-pci $B: VFIO_SET_IOMMU succeeds now" vv_open_says "$B" open
coproc HOLD { "$hold_open" "$uuid" 2>&1; }
holder=$HOLD_PID hold_out=${HOLD[0]} hold_in=${HOLD[1]}
read -r -t 60 -u "$hold_out" opened
vv_log "holder said: $opened"
vv_check "mdev opens now (held open like a VMM)" test "$opened" = open
exec {hold_in}>&-
vv_check "mdev closes cleanly" wait "$holder"

# Back to the default: refused again, at the next open.
vv_check "allow_unsafe_interrupts reset to N in both modules" set_params N
vv_check "allow_unsafe_interrupts reads N in both" params_are N
vv_check "vfio-pci $B: refused again" vv_open_says "$B" "refused VFIO_SET_IOMMU EPERM"
vv_check "mdev: refused again" vv_open_says "$uuid" "refused VFIO_GROUP_GET_DEVICE_FD EPERM"

vv_check "mdev removed" bash -c "echo 1 > /sys/bus/mdev/devices/$uuid/remove"
vv_check "$B given back to ${drv_b:-no driver}" vv_give_back "$B" "$drv_b"
# Whatever happened above, leave the defaults behind.
set_params N 2> /dev/null
# shellcheck disable=SC2119
vv_teardown_functions
