#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo's part inside L1; output goes to the build host's terminal.
set -euo pipefail
# shellcheck disable=SC1091
. "$VV_PROJECT/selftests/vhost-vfio/lib.sh"
read -r A B _ <<< "$VV_NICS"
say() { printf '\n\033[1m[demo]\033[0m %s\n' "$*"; }

say "L1 is up: $(uname -r), IOMMU groups: $(ls /sys/kernel/iommu_groups | wc -l)"
say "loading vfio, mdev, kvm_amd and the vhost-vfio modules"
vv_load_modules
lsmod | grep -E '^(vhost_vfio|vfio|mdev|kvm)' | sed 's/^/    /'

say "handing function $B to vhost_vfio_virtio_pci"
vv_bind "$B" vhost_vfio_virtio_pci
dmesg | grep -i vhost | tail -n 3 | sed 's/^/    /'
t=/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net
say "mdev type: $(cat "$t/name"); device_api $(cat "$t/device_api"); available $(cat "$t/available_instances")"

uuid=$(cat /proc/sys/kernel/random/uuid)
say "creating mdev $uuid:  echo $uuid > $t/create"
echo "$uuid" > "$t/create"
m=/sys/bus/mdev/devices/$uuid
say "provisioning: MTU 1400, no control queue (features_mask clears bit 17)"
echo 1400 > "$m/mtu"
mask=$(printf '0x%x' $(( ~(1 << 17) & 0xffffffffffffffff )))
echo "$mask" > "$m/features_mask"
for a in vf_features offered_features quirks mtu mac; do
	printf '    %-18s %s\n' "$a" "$(cat "$m/$a")"
done

say "booting a nested KVM guest (L2): qemu -device vfio-pci,sysfsdev=$m"
cat > "$VV_TMP/demo-l2.sh" <<'L2'
echo "[L2] kernel $(uname -r)"
for n in /sys/class/net/eth*; do
	echo "[L2] $(basename $n): driver virtio_net, mac $(cat $n/address), mtu max $(cat $n/mtu)"
done
echo "[L2] negotiated virtio features: $(cat /sys/bus/virtio/devices/virtio0/features)"
L2
vv_l2_initrd "$VV_TMP/demo-l2.cpio.gz" "$VV_TMP/demo-l2.sh"
vv_run_l2 "$VV_OUT/demo-l2.log" "$VV_TMP/demo-l2.cpio.gz" 300 \
	-device "vfio-pci,sysfsdev=$m" || true
grep '^\[L2\]' "$VV_OUT/demo-l2.log" | sed 's/^/    /'
say "counters: $(tr '\n' ' ' < "/sys/kernel/debug/vhost_vfio/$uuid/counters")"
say "removing the mdev and unloading"
echo 1 > "$m/remove"
vv_unload_modules
say "done"
