#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# Guest firmware through the mdev: a nested guest (L2) with no kernel, only
# SeaBIOS and iPXE's virtio-net ROM (Debian's ipxe-qemu, given with
# romfile=) network-boots from function B and must get a DHCP lease from a
# busybox udhcpd in L1 on function A (the functions share QEMU hub 0).
# First with B under vfio-pci passthrough (the baseline), then through an
# mdev on B with a provisioned MAC.  The lease is awaited on L2's serial
# console; iPXE's "net0: ADDRESS/MASK" line says it has one.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
# Debian 12's ipxe-qemu installs it under /usr/lib/ipxe/qemu, Debian 13's
# under /usr/share/qemu (QEMU's own firmware directory).
ROM=${VV_IPXE_ROM:-}
if [ -z "$ROM" ]; then
	for ROM in /usr/lib/ipxe/qemu/pxe-virtio.rom /usr/share/qemu/pxe-virtio.rom; do
		[ -r "$ROM" ] && break
	done
fi
NET=10.0.77
MAC=52:54:00:ab:cd:01
WAIT=${VV_IPXE_WAIT:-180}
drv_a=$(vv_driver_of "$A") drv_b=$(vv_driver_of "$B")
dhcpd=

vv_tap_begin
if grep -q '^vhost_vfio ' /proc/modules; then
	vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
	vv_unload_modules
fi

# The DHCP server on the L1 side: A's virtio_net interface, busybox udhcpd.
dhcp_start() {
	local ifname
	modprobe virtio_net || return 1
	ifname=$(vv_netdev_of "$A") || return 1
	ip addr replace "$NET.1/24" dev "$ifname" && ip link set "$ifname" up ||
		return 1
	rm -f "$VV_TMP/udhcpd.leases"
	: > "$VV_TMP/udhcpd.leases"
	cat > "$VV_TMP/udhcpd.conf" <<CONF
interface $ifname
start $NET.100
end $NET.150
lease_file $VV_TMP/udhcpd.leases
pidfile $VV_TMP/udhcpd.pid
option subnet 255.255.255.0
option lease 600
CONF
	busybox udhcpd -f "$VV_TMP/udhcpd.conf" > "$VV_OUT/udhcpd.log" 2>&1 &
	dhcpd=$!
	sleep 0.2
	kill -0 "$dhcpd"
}

# boot NAME DEVICE_ARGS: L2 network-boots; succeeds once iPXE reports a
# lease on its console.  The guest keeps running (vv_l2_pid) for checks.
boot() {
	local name=$1 log=$VV_OUT/ipxe-$1.log
	shift
	vv_l2_firmware "$log" $((WAIT + 30)) -device "$@"
	vv_wait_console "$log" "$WAIT" "$vv_l2_pid" \
		"net0: $NET\.[0-9]+/255\.255\.255\.0|No more network devices"
	# iPXE's console, escape sequences and carriage returns taken out.
	sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\r//g' "$log" |
		grep -a -E 'iPXE|net0|Configuring|network devices|rror' |
		sed "s/^/# $name: /" | head -n 20
	grep -a -q -E "net0: $NET\.[0-9]+/255\.255\.255\.0" "$log"
}
stop_l2() {
	kill "$vv_l2_pid" 2> /dev/null
	wait "$vv_l2_pid" 2> /dev/null
	return 0
}
# console_says NAME REGEXP: the L2 console of round NAME has REGEXP.
console_says() {
	grep -a -q -E "$2" "$VV_OUT/ipxe-$1.log"
}
nothing_refused() {
	! vv_kmsg_since | grep -q -E 'ignored|rejected|refused'
}
# leased MAC: udhcpd wrote a lease for MAC.
leased() {
	kill -USR1 "$dhcpd" && sleep 0.5 &&
		busybox dumpleases -f "$VV_TMP/udhcpd.leases" | tee /dev/stderr |
		grep -qi "$1"
}

vv_check "iPXE ROM $ROM present (Debian's ipxe-qemu)" test -r "$ROM"
vv_check "vfio-pci, kvm_amd load, /dev/kvm exists" \
	bash -c ". $(dirname "$0")/lib.sh; vv_load_deps && test -c /dev/kvm"
vv_check "udhcpd serves $NET.0/24 on $A" dhcp_start

# The baseline: B passed through with vfio-pci, its own MAC.
vv_check "$B bound to vfio-pci" vv_bind "$B" vfio-pci
vv_check "passthrough: iPXE got a DHCP lease" \
	boot passthrough "vfio-pci,host=$B,romfile=$ROM,bootindex=1"
stop_l2
own_mac=$(grep -a -o -E "net0: ([0-9a-f]{2}:){5}[0-9a-f]{2} using virtio-net" \
	  "$VV_OUT/ipxe-passthrough.log" | head -n 1 | cut -d' ' -f2)
vv_check "passthrough: udhcpd leased to the MAC iPXE uses, ${own_mac:-none}" \
	leased "${own_mac:-none}"

# The mdev on B.
uuid=$(cat /proc/sys/kernel/random/uuid)
M=/sys/bus/mdev/devices/$uuid
vv_check "vhost_vfio and vhost_vfio_virtio_pci load" vv_load_modules
vv_check "$B bound to vhost_vfio_virtio_pci" vv_bind "$B" vhost_vfio_virtio_pci
vv_check "mdev created on $B with MAC $MAC" bash -c "
	echo $uuid > /sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create &&
	echo $MAC > $M/mac"
# What iPXE did to the device, from the tracepoints: it resets the device
# again as soon as it has nothing to boot, so its state is gone by then.
TRACING=/sys/kernel/tracing
echo 0 > "$TRACING/tracing_on"
echo > "$TRACING/trace"
echo 1 > "$TRACING/events/vhost_vfio/vhost_vfio_status/enable"
echo 1 > "$TRACING/events/vhost_vfio/vhost_vfio_features_ok/enable"
echo 1 > "$TRACING/events/vhost_vfio/vhost_vfio_queue_enable/enable"
echo 1 > "$TRACING/tracing_on"
vv_kmsg_mark
vv_check "mdev: iPXE got a DHCP lease" boot mdev "vfio-pci,sysfsdev=$M,romfile=$ROM,bootindex=1"
stop_l2
echo 0 > "$TRACING/tracing_on"
grep -o 'vhost_vfio_[a-z_]*: .*' "$TRACING/trace" | sed 's/^/# trace: /' | head -n 30
vv_check "mdev: iPXE uses the provisioned MAC" console_says mdev "net0: $MAC using virtio-net"
vv_check "mdev: iPXE's features were accepted at FEATURES_OK" \
	grep -q "vhost_vfio_features_ok: $uuid: .* accepted" "$TRACING/trace"
vv_check "mdev: iPXE enabled its queues" \
	grep -q "vhost_vfio_queue_enable: $uuid: queue 1 .*: enabled" "$TRACING/trace"
vv_check "mdev: iPXE set DRIVER_OK" \
	grep -q "vhost_vfio_status: $uuid: .* now 0x0f" "$TRACING/trace"
echo 0 > "$TRACING/events/vhost_vfio/enable"
vv_check "mdev: udhcpd leased to $MAC" leased "$MAC"
vv_kmsg_since | sed 's/^/# kernel: /'
vv_check "mdev: the kernel refused none of iPXE's accesses" nothing_refused
vv_check "mdev: closed by QEMU, status 0" test "$(cat "$M/status" 2> /dev/null)" = 0x00
vv_check "mdev removed" bash -c "echo 1 > $M/remove"

[ -n "$dhcpd" ] && kill "$dhcpd" 2> /dev/null
vv_check "modules unload" vv_unload_modules
vv_check "$B given back to ${drv_b:-no driver}" vv_give_back "$B" "$drv_b"
vv_check "$A given back to ${drv_a:-no driver}" vv_give_back "$A" "$drv_a"
vv_tap_end
