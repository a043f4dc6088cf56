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

vv_setup_functions "$A" "$B"
vv_mount_debugfs || vv_log "debugfs not available; counter checks will skip"

export VV_BDF=$A VV_BDF2=$B
vv_run_ksft mdev_sysfs "$bin/mdev_sysfs_test"
vv_run_ksft config_space "$bin/config_space_test"
vv_run_ksft virtio_common "$bin/virtio_common_test"
vv_run_ksft provision "$bin/provision_test"

vv_teardown_functions
