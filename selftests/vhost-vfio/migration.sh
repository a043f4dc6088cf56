#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# VFIO migration v2 of the mdev (migration_test), increment 1: the state
# machine on the mini-VMM.  vhost_vfio is loaded with migration=1; functions
# 0 and 1 of VV_NICS (identical) play the source and the destination.  A
# refused restore leaves a rate-limited line in the kernel log, naming the
# device.  All functions are given back at the end.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
drv_a=$(vv_driver_of "$A")
drv_b=$(vv_driver_of "$B")

vv_tap_begin
if grep -q '^vhost_vfio ' /proc/modules; then
	vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
	vv_unload_modules
fi
vv_check "vhost_vfio loads with migration=1" vv_load_modules migration=1
vv_check "the migration parameter reads Y" \
	grep -qx Y /sys/module/vhost_vfio/parameters/migration
vv_check "$A bound to vhost_vfio_virtio_pci" vv_bind "$A" vhost_vfio_virtio_pci
vv_check "$B bound to vhost_vfio_virtio_pci" vv_bind "$B" vhost_vfio_virtio_pci
vv_mount_debugfs

vv_kmsg_mark
VV_BDF=$A VV_BDF2=$B vv_run_ksft migration "$VV_BIN/migration_test"

# The refusing cases of migration_test: another MAC, features not offered,
# another offer, more queues, a newer version, 14 kinds of garbage, an
# oversize state and an empty one: 21.  The line is rate-limited (a VMM may
# loop bad state -> reset), so migration_test counts refusals exactly
# through the debugfs counters; here at least one line names the mdev by its
# UUID, and no refusal logs more than one.
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
refusals=$(vv_kmsg_since | grep -cE "$uuid_re: migration state refused \\(")
if [ "$refusals" -ge 1 ] && [ "$refusals" -le 21 ]; then
	vv_ok "refused states logged with the device name, rate-limited ($refusals lines, 1..21 expected)"
else
	vv_not_ok "refused states logged with the device name, rate-limited ($refusals lines, 1..21 expected)"
fi
vv_kmsg_since | grep -m4 'migration state refused' | sed 's/^/# dmesg: /'

vv_remove_mdevs "$A"
vv_remove_mdevs "$B"
vv_check "modules unload" vv_unload_modules
vv_check "$A given back to ${drv_a:-no driver}" vv_give_back "$A" "$drv_a"
vv_check "$B given back to ${drv_b:-no driver}" vv_give_back "$B" "$drv_b"
vv_tap_end
