#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo's part inside L1: the operator's view, step by step.  Output goes
# to the build host's terminal through the serial console.
set -euo pipefail
# shellcheck disable=SC1091
. "$VV_PROJECT/selftests/vhost-vfio/lib.sh"
read -r A B _ <<< "$VV_NICS"
CLI=$VV_PROJECT/tools/vhost-vfio
L1_IP=169.254.10.1
L2_IP=169.254.10.2
say() { printf '\n\033[1m[demo]\033[0m %s\n' "$*"; }
run() { printf '  $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/    /'; }

say "L1, the hypervisor host, is up: Debian $(cat /etc/debian_version), kernel $(uname -r), QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'), $(ls /sys/kernel/iommu_groups | wc -l) IOMMU groups (intel-iommu)"
say "loading vfio, mdev, kvm_amd and the two vhost-vfio modules"
vv_load_modules
modprobe virtio_net
lsmod | grep -E '^(vhost_vfio|vfio|mdev|kvm)' | sed 's/^/    /'

say "the virtio-net functions that play the VFs"
run "$CLI" list

say "creating an mdev on $B with the CLI (it hands the function to vhost_vfio_virtio_pci)"
uuid=$("$CLI" create "$B" --take --mtu 1500)
echo "    mdev $uuid"
M=/sys/bus/mdev/devices/$uuid
run "$CLI" show "$uuid"

say "function $A stays with virtio_net in L1 as the peer, $L1_IP"
ifname=$(vv_netdev_of "$A")
ip addr add "$L1_IP/24" dev "$ifname"
ip link set "$ifname" up
"$VV_BIN/tcp_sink" 5001 "$VV_TMP/demo-rx.bin" 300 > "$VV_TMP/demo-sink.txt" &
sink=$!

say "booting a nested KVM guest (L2) with stock QEMU: -device vfio-pci,sysfsdev=$M"
cat > "$VV_TMP/demo-l2.sh" <<L2
echo "[L2] kernel \$(uname -r); eth0 driver: \$(basename \$(readlink /sys/class/net/eth0/device/driver))"
echo "[L2] negotiated virtio features: \$(cat /sys/class/net/eth0/device/features)"
ip link set eth0 up
ip addr add $L2_IP/24 dev eth0
ping -c 3 -w 30 $L1_IP | sed 's/^/[L2] /'
dd if=/dev/urandom of=/tmp/tx.bin bs=1024 count=2048 2>/dev/null
echo "[L2] sending 2 MiB, md5 \$(md5sum /tmp/tx.bin | cut -d' ' -f1)"
nc -w 5 $L1_IP 5001 < /tmp/tx.bin
L2
vv_l2_initrd "$VV_TMP/demo-l2.cpio.gz" "$VV_TMP/demo-l2.sh"
vv_run_l2 "$VV_OUT/demo-l2.log" "$VV_TMP/demo-l2.cpio.gz" 300 \
	-device "vfio-pci,sysfsdev=$M" || true
grep '^\[L2\]' "$VV_OUT/demo-l2.log" | sed 's/^/    /'
wait "$sink" || true
say "L1 received: $(cat "$VV_TMP/demo-sink.txt"), md5 $(md5sum "$VV_TMP/demo-rx.bin" | cut -d' ' -f1)"

say "what the mdev saw (the guest has shut down, so the device is closed again)"
run "$CLI" show "$uuid"
say "no kick was trapped (bar2_notify_writes 0); interrupts went VF -> eventfd -> KVM irqfd"
say "removing the mdev and unloading"
run "$CLI" destroy "$uuid"
vv_unload_modules
say "done"
