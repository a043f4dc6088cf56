#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Stall hunter, inside L1 (scripts/vm-run.sh --nics 2 -- scripts/vm/stall-l1.sh):
# boots the nested guest (L2) on an mdev of function B again and again,
# each time sending VV_STALL_MB MiB over TCP to function A in L1.  When a
# transfer makes no progress, both sides of every virtqueue are recorded
# before anything else happens: the guest's /proc/interrupts, the mdev's
# counters and irqs, the device's own view of its queues (host-request
# virtio_status) and the guest's ring indexes and event-index words read
# from L2's memory through its QEMU monitor.  Diagnostics only: the exit
# status says whether a stall was seen, nothing else is asserted.
#
# VV_STALL_RUNS (default 10) rounds, VV_STALL_MB (16), VV_STALL_MODE
# mapped|trapped|passthrough (mapped); VV_STALL_FORCE=1 records at the
# first check of each round (to try the recording itself).
set -u
# shellcheck disable=SC1091
. "$VV_PROJECT/selftests/vhost-vfio/lib.sh"
read -r A B _ <<< "$VV_NICS"
read -r _ B_ID _ <<< "$VV_NIC_IDS"
L1_IP=169.254.10.1
L2_IP=169.254.10.2
RUNS=${VV_STALL_RUNS:-10}
MB=${VV_STALL_MB:-16}
MODE=${VV_STALL_MODE:-mapped}
STILL_CHECKS=8
[ -n "${VV_STALL_FORCE:-}" ] && STILL_CHECKS=1
out=$VV_OUT/stall
mkdir -p "$out"

vv_load_modules || exit 1
modprobe virtio_net
vv_mount_debugfs
ifname=$(vv_netdev_of "$A")
ip addr add "$L1_IP/24" dev "$ifname" && ip link set "$ifname" up

# The guest sends; when it has received nothing for 40 s it says so, prints
# its side, gives L1 30 s to record the rest and prints its side again.
cat > "$VV_TMP/stall-l2.sh" <<L2
ip link set eth0 up
ip addr add $L2_IP/24 dev eth0
ping -c 3 -w 30 $L1_IP > /dev/null && echo L2-PING-OK
dd if=/dev/zero bs=1M count=$MB 2>/dev/null | nc -w 5 $L1_IP 5001 &
nc=\$! last=-1 still=0
while kill -0 \$nc 2> /dev/null; do
	sleep 5
	cur=\$(cat /sys/class/net/eth0/statistics/rx_packets)
	if [ "\$cur" = "\$last" ]${VV_STALL_FORCE:+ || true}; then still=\$((still + 1)); else still=0; fi
	last=\$cur
	if [ \$still -ge $STILL_CHECKS ]; then
		echo L2-STALL
		cat /proc/interrupts
		for f in rx_packets tx_packets rx_dropped tx_dropped; do
			echo "L2-STAT \$f \$(cat /sys/class/net/eth0/statistics/\$f)"
		done
		cat /proc/net/tcp
		sleep 30
		echo L2-STALL-LATER
		cat /proc/interrupts
		echo "L2-STAT rx_packets \$(cat /sys/class/net/eth0/statistics/rx_packets)"
		exit 1
	fi
done
wait
echo L2-SEND-DONE
L2
vv_l2_initrd "$VV_TMP/stall-l2.gz" "$VV_TMP/stall-l2.sh"

case $MODE in
passthrough)
	vv_bind "$B" vfio-pci || exit 1
	dev="vfio-pci,host=$B"
	;;
mapped|trapped)
	[ "$MODE" = trapped ] &&
		echo N > /sys/module/vhost_vfio/parameters/map_doorbells
	vv_bind "$B" vhost_vfio_virtio_pci || exit 1
	uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "$uuid" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
	dev="vfio-pci,sysfsdev=/sys/bus/mdev/devices/$uuid"
	;;
esac

# host_request LINE: ask the machine playing the hardware, wait for it.
host_request() {
	local r=$VV_HOST_REQ/stall-$$-$RANDOM.req
	echo "$1" > "$r.new" && mv "$r.new" "$r"
	timeout 60 bash -c "until [ -f '$r.done' ]; do inotifywait -q -t 5 -e moved_to '$VV_HOST_REQ' > /dev/null; done"
	cat "$r.done"
}

# ring_words MON STATUS: the guest's ring indexes and event words, read
# from L2's memory (STATUS: the device's queue status, which has the ring
# addresses and size).
ring_words() {
	local mon=$1 st=$2 q num avail used
	for q in 0 1 2; do
		num=$(tr -d '\r' < "$st" | awk -v q="$q" '/queue_index:/ { cur = $2 }
			cur == q && /^ *num:/ { print $2; exit }')
		avail=$(tr -d '\r' < "$st" | awk -v q="$q" '/queue_index:/ { cur = $2 }
			cur == q && /^ *avail:/ { print $2; exit }')
		used=$(tr -d '\r' < "$st" | awk -v q="$q" '/queue_index:/ { cur = $2 }
			cur == q && /^ *used:/ { print $2; exit }')
		[ -n "$num" ] && [ -n "$avail" ] && [ -n "$used" ] || continue
		echo "queue $q num $num avail $avail used $used"
		"$VV_PROJECT/scripts/vm/qmp.py" "$mon" \
			"xp /2hx $avail" \
			"xp /1hx $((avail + 4 + 2 * num))" \
			"xp /2hx $used" \
			"xp /1hx $((used + 4 + 8 * num))"
	done
}

stalls=0
for ((i = 1; i <= RUNS; i++)); do
	log=$out/l2-$i.log
	mon=$VV_TMP/l2-mon.sock
	rm -f "$mon"
	"$VV_BIN/tcp_sink" 5001 /dev/null 600 > "$VV_TMP/sink.txt" &
	sink=$!
	vv_l2_qemu "file:$log" "$VV_TMP/stall-l2.gz" 400 -device "$dev" \
		-qmp "unix:$mon,server=on,wait=off" &
	l2=$!
	# Wait for the guest's verdict on its console (written as it goes).
	while kill -0 "$l2" 2> /dev/null &&
	      ! grep -q -e '^L2-STALL' -e '^L2-SEND-DONE' "$log" 2> /dev/null; do
		inotifywait -q -t 5 -e modify "$log" > /dev/null 2>&1 ||
			sleep 1
	done
	if grep -q '^L2-STALL' "$log"; then
		stalls=$((stalls + 1))
		d=$out/stall-$i
		mkdir -p "$d"
		echo "# round $i: STALL, recording in $d"
		[ -n "${uuid:-}" ] &&
			cat "/sys/kernel/debug/vhost_vfio/$uuid/counters" > "$d/counters"
		grep -e vhost-vfio -e vfio-msix /proc/interrupts > "$d/l1-interrupts"
		host_request "virtio_status $B_ID" > "$d/device.txt"
		ring_words "$mon" "$d/device.txt" > "$d/rings.txt" 2>&1
		sleep 5
		[ -n "${uuid:-}" ] &&
			cat "/sys/kernel/debug/vhost_vfio/$uuid/counters" > "$d/counters-later"
		host_request "virtio_status $B_ID" > "$d/device-later.txt"
		dmesg | tail -n 30 > "$d/dmesg-tail"
	fi
	wait "$l2"
	kill "$sink" 2> /dev/null
	wait "$sink" 2> /dev/null
	echo "# round $i: $(grep -c '^L2-SEND-DONE' "$log") done, $(tr -d '\r' < "$VV_TMP/sink.txt" | tail -n 1)"
done
echo "# $stalls stalls in $RUNS rounds ($MODE)"
[ -n "${uuid:-}" ] && echo 1 > "/sys/bus/mdev/devices/$uuid/remove"
echo Y > /sys/module/vhost_vfio/parameters/map_doorbells
vv_unload_modules
[ "$stalls" = 0 ]
