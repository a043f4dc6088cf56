#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The data path's uAPI on mdevs of function B (datapath_uapi_test): BAR2's
# doorbell mapping and its rules, SET_IRQS on the MSI-X vectors and the
# request irq, DRIVER_OK without a VM, revocation after close and after the
# VF's unbind, and the DMA mirror against a minimal KVM VM.  B is handed to
# vhost_vfio_virtio_pci and given back at the end.
. "$(dirname "$0")/lib.sh"

set -u
read -r _ B _ <<< "$VV_NICS"

vv_setup_functions "$B"
vv_mount_debugfs

export VV_BDF=$B
vv_run_ksft datapath_uapi "$VV_BIN/datapath_uapi_test"

vv_teardown_functions
