#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The userspace data path (datapath_test): one mini-VMM with a KVM VM opens
# mdevs on functions 0 and 1 of VV_NICS, which share the QEMU hub, and
# exchanges frames between them through mapped doorbells, MSI-X eventfds
# and the DMA mirror; then again with vhost_vfio's map_doorbells=N, where
# every kick must go through the driver's trapped BAR2 path; then with
# relay=Y, where every ring moves through the host's relay.  The sixth
# function, behind a PCIe root port, has FLR: it is VV_BDF_FLR, where a
# failed virtio reset must be recovered by a function reset.  The third,
# with a packed ring, is VV_BDF3: where the relay pass migrates a device.  The memory
# cgroup cases need cgroup v2, mounted here.  All functions are given back
# at the end.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B C _ _ F _ <<< "$VV_NICS"
C=${C:-}
F=${F:-}

vv_setup_functions "$A" "$B" ${C:+"$C"} ${F:+"$F"}
vv_mount_debugfs
vv_check "cgroup v2 with the memory controller" vv_mount_memcg

dmesg_mark=$(dmesg | wc -l)
export VV_BDF=$A VV_BDF2=$B VV_BDF3=$C VV_BDF_FLR=$F
# Function B's QEMU id, for the host to pull its cable (link_change_interrupt).
read -r _ VV_LINK_ID _ <<< "${VV_NIC_IDS:-}"
export VV_LINK_ID
vv_run_ksft datapath "$VV_BIN/datapath_test"
# Evidence of the isolation case, if the IOMMU logged the fault.
dmesg | tail -n +"$((dmesg_mark + 1))" | grep -m5 -E 'DMAR|DMA mirror' | sed 's/^/# dmesg: /'

param=/sys/module/vhost_vfio/parameters/map_doorbells
vv_check "map_doorbells set to N at run time" bash -c "echo N > $param && grep -qx N $param"
VV_DOORBELL=trapped vv_run_ksft "datapath, trapped doorbells" \
	"$VV_BIN/datapath_test"
echo Y > "$param"

# Every case again with every ring through the host's virtqueue relay.
# Migration is offered too: pausing must resume in place.
relay=/sys/module/vhost_vfio/parameters/relay
mig=/sys/module/vhost_vfio/parameters/migration
vv_check "relay and migration set to Y at run time" \
	bash -c "echo Y > $relay && echo Y > $mig && grep -qx Y $relay && grep -qx Y $mig"
VV_DOORBELL=trapped VV_RELAY=1 vv_run_ksft "datapath, relay" \
	"$VV_BIN/datapath_test"
echo N > "$relay"
echo N > "$mig"
# The FLR case limits the function's resets to FLR; all of them again.
[ -z "$F" ] || echo default > "/sys/bus/pci/devices/$F/reset_method"

vv_teardown_functions
