#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Lifecycle races against the vhost-vfio mdev (races_test): device fd
# open/close against region I/O, SET_IRQS against reset, doorbell mmap
# against reset and close, mdev removal while open, DRIVER_OK against
# UNMAP_DMA, a VMM killed with the device running; then the backend module
# unloaded while a VMM keeps opening the mdev.  Function 0 of VV_NICS is
# handed to vhost_vfio_virtio_pci and given back at the end; the modules
# must unload (nothing leaked).
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"

vv_setup_functions "$A"
vv_mount_debugfs || vv_log "debugfs not available; leak checks will skip"

export VV_BDF=$A
vv_run_ksft races "$VV_BIN/races_test"

# Module unload racing open: a VMM opens and closes the mdev in a loop while
# the backend module goes away (unbinding the VF, removing the mdev).
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$uuid" > "/sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
fifo=$VV_TMP/opener.fifo
rm -f "$fifo"
mkfifo "$fifo"
"$VV_BIN/hold_open" --loop 120 "$uuid" > "$fifo" &
opener=$!
exec 3< "$fifo"
read -r -t 60 first <&3
vv_check "a VMM keeps opening and closing the mdev" test "$first" = open
t0=$(date +%s%N)
vv_check "the backend module unloads meanwhile (bounded: 60 s)" \
	timeout 60 rmmod vhost_vfio_virtio_pci
vv_log "rmmod took $((($(date +%s%N) - t0) / 1000000)) ms"
read -r -t 60 summary <&3
wait "$opener"
exec 3<&-
vv_log "opener: $summary"
vv_check "the opener saw the mdev go away" \
	test "${summary##*, }" = gone
vv_check "mdev removed and the VF released" \
	test ! -e "/sys/bus/mdev/devices/$uuid" -a -z "$(vv_driver_of "$A")"
vv_check "the backend loads again and takes the VF" \
	bash -c "insmod '$VV_KO_DIR/vhost_vfio_virtio_pci.ko' &&
		 . '$(dirname "$0")/lib.sh' && vv_bind '$A' vhost_vfio_virtio_pci"
echo "$uuid" > "/sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_check "the same UUID opens on the reloaded backend" \
	bash -c "'$VV_BIN/hold_open' '$uuid' < /dev/null | grep -qx open"
echo 1 > "/sys/bus/mdev/devices/$uuid/remove"

vv_teardown_functions
