#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Data path uAPI checks on an mdev of function B without a VM (see
# datapath_uapi.py), plus the doorbell_mode attribute.
. "$(dirname "$0")/lib.sh"

set -u
read -r _ B _ <<< "$VV_NICS"
UUID=${UUID:-5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad002}
MDEV=/sys/bus/mdev/devices/$UUID

vv_load_modules || { echo "Bail out! modules"; exit 1; }
vv_bind "$B" vhost_vfio_virtio_pci || { echo "Bail out! bind"; exit 1; }
echo "$UUID" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_log "doorbell_mode: $(cat "$MDEV/doorbell_mode")"
# Ends by unbinding $B, which removes the mdev.
python3 "$(dirname "$0")/datapath_uapi.py" "$UUID" "$B"
rc=$?
[ -e "$MDEV" ] && echo 1 > "$MDEV/remove"
vv_unload_modules || { vv_log "could not unload the modules"; rc=1; }
exit $rc
