#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Lifecycle races against the vhost-vfio mdev (races_test): device fd
# open/close against region I/O, SET_IRQS against reset, doorbell mmap
# against reset and close, mdev removal while open, DRIVER_OK against
# UNMAP_DMA.  Function 0 of VV_NICS is handed to vhost_vfio_virtio_pci and
# given back at the end; the modules must unload (nothing leaked).
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"

vv_setup_functions "$A"
vv_mount_debugfs || vv_log "debugfs not available; leak checks will skip"

export VV_BDF=$A
vv_run_ksft races "$VV_BIN/races_test"

vv_teardown_functions
