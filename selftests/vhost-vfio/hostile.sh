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

vv_setup_functions "$A"

export VV_BDF=$A
vv_run_ksft hostile "$VV_BIN/hostile_test"

vv_teardown_functions
