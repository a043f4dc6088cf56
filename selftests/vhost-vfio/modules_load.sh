#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The modules load and unload cleanly, twice, with a function bound: the
# backend registers an mdev parent on bind and removes it on unload, and the
# functions go back to virtio-pci afterwards.
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"
types=/sys/bus/pci/devices/$A/mdev_supported_types

bound_with_type() {
	vv_bind "$A" vhost_vfio_virtio_pci && test -d "$types/vhost_vfio_virtio_pci-net"
}

vv_plan 9
vv_check "dependencies load (vfio, mdev, irqbypass, virtio_pci_modern_dev)" vv_load_deps
for round in 1 2; do
	vv_check "round $round: vhost_vfio and vhost_vfio_virtio_pci load" vv_load_modules
	vv_check "round $round: $A binds to vhost_vfio_virtio_pci and offers an mdev type" \
		bound_with_type
	vv_check "round $round: both modules unload" vv_unload_modules
	vv_check "round $round: $A has no driver and no mdev types after unload" \
		test ! -e "/sys/bus/pci/devices/$A/driver" -a ! -e "$types"
done
vv_bind "$A" virtio-pci > /dev/null || vv_log "could not give $A back to virtio-pci"
vv_exit
