#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# VF unbind while a guest runs on it: function B, mediated by vhost-vfio,
# runs in a nested KVM guest (L2) under stock QEMU.  Once L2 has pinged L1
# through it, L1 unbinds the VF from vhost_vfio_virtio_pci.  The mdev must
# use the vfio request interrupt, so QEMU asks the guest to eject the device
# (ACPI hotplug), the guest lets go, QEMU closes the device and the unbind
# completes -- while L2 keeps running, in bounded time, with nothing left.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.11.1
L2_IP=169.254.11.2
UUID=${UUID:-5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad002}
MDEV=/sys/bus/mdev/devices/$UUID
L2_TIMEOUT=300

vv_setup_functions "$B"
modprobe virtio_net
if ifname=$(vv_netdev_of "$A"); then
	ip addr replace "$L1_IP/24" dev "$ifname" && ip link set "$ifname" up
fi
echo "$UUID" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_check "mdev created on $B" test -d "$MDEV"

# The guest's part: wait for the kernel's remove events of its NIC (busybox
# uevent, no polling) after reporting that traffic flows.
cat > "$VV_TMP/l2-unplug.sh" <<L2
cat > /tmp/ev.sh <<'EV'
if [ "\$ACTION" = remove ]; then
	echo "L2-UEVENT remove \$SUBSYSTEM \$INTERFACE\$PCI_SLOT_NAME"
	[ "\$SUBSYSTEM" = pci ] && kill \$PPID
fi
EV
$(vv_l2_uevent_ready_lines $((L2_TIMEOUT - 60)) "$L1_IP" "$L2_IP")
echo "L2-NETDEVS=\$(ls /sys/class/net | tr '\n' ' ')"
dmesg | grep -A 12 -E 'WARNING|BUG' | head -40
echo "L2-TAINT=\$(cat /proc/sys/kernel/tainted)"
L2
vv_l2_initrd "$VV_TMP/l2-unplug.cpio.gz" "$VV_TMP/l2-unplug.sh"

# Unbind as soon as L2 reports traffic; in the background, so the guest's
# console keeps draining while the unbind waits for QEMU.
log=$VV_OUT/l2-unplug.log
res=$VV_TMP/unbind.txt
rm -f "$res"
vv_l2_qemu stdio "$VV_TMP/l2-unplug.cpio.gz" "$L2_TIMEOUT" \
	-device "vfio-pci,sysfsdev=$MDEV" 2> "$VV_TMP/qemu-unplug.err" |
	tee "$log" | {
		if grep -q -m 1 '^L2-READY'; then
			{
				t0=$(date +%s%N)
				echo "$B" > /sys/bus/pci/drivers/vhost_vfio_virtio_pci/unbind
				rc=$?
				echo "$rc $((($(date +%s%N) - t0) / 1000000))" > "$res"
			} &
		fi
		cat > /dev/null
		wait
	}
qemu_rc=${PIPESTATUS[0]}
sed 's/^/# L2: /' "$log"
sed 's/^/# qemu: /' "$VV_TMP/qemu-unplug.err"
read -r unbind_rc unbind_ms < "$res" 2>/dev/null || unbind_rc=none
vv_log "unbind status $unbind_rc after ${unbind_ms:-?} ms; QEMU exit status $qemu_rc"

vv_check "L2 pinged L1 through the mediated function" grep -q '^L2-PING-OK' "$log"
vv_check "the VF unbind completed while L2 ran" test "$unbind_rc" = 0
vv_check "the guest saw its NIC removed (QEMU got the request, L2 ejected)" \
	grep -q '^L2-UEVENT remove net eth0' "$log"
vv_check "L2 kept running and exited cleanly" grep -q '^L2-TEST-EXIT=0' "$log"
vv_check "L2's kernel is not tainted" grep -q '^L2-TAINT=0' "$log"
vv_check "the mdev is gone and the VF has no driver" \
	test ! -e "$MDEV" -a -z "$(vv_driver_of "$B")"
vv_teardown_functions
