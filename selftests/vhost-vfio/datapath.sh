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

vv_setup_functions "$A" "$B"
vv_mount_debugfs

dmesg_mark=$(dmesg | wc -l)
export VV_BDF=$A VV_BDF2=$B
vv_run_ksft datapath "$VV_BIN/datapath_test"
# Evidence of the isolation case, if the IOMMU logged the fault.
dmesg | tail -n +"$((dmesg_mark + 1))" | grep -m5 -E 'DMAR|DMA mirror' | sed 's/^/# dmesg: /'

vv_teardown_functions
