#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# A nested guest with its own IOMMU (L2 QEMU with -device intel-iommu and
# the L2 kernel booted with intel_iommu=on) programs the mdev with IOVAs,
# not guest-physical addresses, and its VMM DMA-maps those IOVAs.  The
# mirror (IOVA = GPA) cannot serve it: the mdev must refuse DRIVER_OK and
# say why in one log line, instead of letting the VF loose on a half mirror.
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"

vv_setup_functions "$A"

cat > "$VV_TMP/l2-viommu.sh" <<'L2'
d=/sys/bus/virtio/devices/virtio0
echo "L2-IOMMU-GROUPS=$(ls /sys/kernel/iommu_groups 2> /dev/null | wc -l)"
echo "L2-DRIVER=$(basename "$(readlink $d/driver)")"
# The mdev refuses DRIVER_OK in the write (DRIVER_OK reads back clear) or,
# when its mirror worker was still busy, reads it back set until the worker
# is done and then DEVICE_NEEDS_RESET (0x40) without it.
i=0
while [ $i -lt 120 ]; do
	s=$(cat $d/status 2> /dev/null)
	[ $(( ${s:-0} & 4 )) = 0 ] && break
	sleep 1
	i=$((i + 1))
done
echo "L2-STATUS=$(cat $d/status 2> /dev/null)"
exit 0
L2
vv_l2_initrd "$VV_TMP/l2-viommu.cpio.gz" "$VV_TMP/l2-viommu.sh"

uuid=$(cat /proc/sys/kernel/random/uuid)
M=/sys/bus/mdev/devices/$uuid
create() {
	echo "$uuid" > "/sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
}
vv_check "mdev created on $A" create

log=$VV_OUT/l2-viommu.log
rm -f "$log"
vv_kmsg_mark
vv_check "L2 with a vIOMMU booted through the mdev and ran its test" \
	vv_run_l2 "$log" "$VV_TMP/l2-viommu.cpio.gz" 300 \
	-M q35 -device intel-iommu,caching-mode=on \
	-append "console=ttyS0 panic=-1 quiet no_timer_check noxsave intel_iommu=on iommu.passthrough=0" \
	-device "vfio-pci,sysfsdev=$M"
sed 's/^/# L2: /' "$log" 2> /dev/null | grep -v '^# L2: *$' | tail -n 20
kmsg=$(vv_kmsg_since)
echo "$kmsg" | grep "$uuid" | sed 's/^/# L1: /'

groups=$(sed -n 's/^L2-IOMMU-GROUPS=\([0-9]*\).*/\1/p' "$log" | tr -d '\r')
status=$(sed -n 's/^L2-STATUS=\(0x[0-9a-f]*\).*/\1/p' "$log" | tr -d '\r')
vv_check "L2 runs with its own IOMMU (${groups:-0} IOMMU groups)" \
	test "${groups:-0}" -gt 0
vv_check "L2's virtio device never ran (status ${status:-none}: no DRIVER_OK)" \
	test -n "$status" -a $(( ${status:-0} & 4 )) = 0
refusals=$(echo "$kmsg" | grep "$uuid" | grep -c -e "guest IOMMU" -e "its own IOMMU")
vv_check "L1 said why, once (${refusals} line(s) naming a guest IOMMU)" \
	test "$refusals" = 1
vv_check "nothing stays pinned after L2" \
	test "$(grep '^mirror_pinned_pages:' "/sys/kernel/debug/vhost_vfio/$uuid/counters" |
		cut -d' ' -f2)" = 0
vv_check "the VF is back in a blocking domain" \
	grep -q '^domain: blocking' "/sys/kernel/debug/vhost_vfio/$uuid/isolation"
remove() { echo 1 > "$M/remove"; }
vv_check "mdev removed" remove

vv_teardown_functions
