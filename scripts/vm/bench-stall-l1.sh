#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vCPU stall benchmark inside L1 (run by bench-l1.sh): a 1-vCPU nested
# guest (L2) records the longest time it was kept off its CPU (gapwatch)
# from before virtio_net probes function B until a first ping to L1 came
# back, with B given by vfio-pci passthrough and as a vhost-vfio mdev, at
# two guest RAM sizes (VV_BENCH_STALL_MEMS, default "384M 1536M").  For
# the mdev it adds the device's own view: the longest VMM access
# (access_max_ns), whether DRIVER_OK had to wait for the mirror, and the
# mirror build time.  Appends the table to $VV_OUT/bench-table.txt.
# Numbers, not verdicts.
set -u
# shellcheck disable=SC1091
. "$VV_PROJECT/selftests/vhost-vfio/lib.sh"
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.10.1
L2_IP=169.254.10.2
MEMS=${VV_BENCH_STALL_MEMS:-384M 1536M}
out=$VV_OUT/bench-stall.txt
: > "$out"

vv_load_modules || exit 1
vv_mount_debugfs
modprobe virtio_net
ifname=$(vv_netdev_of "$A")
ip addr add "$L1_IP/24" dev "$ifname" 2> /dev/null
ip link set "$ifname" up

d=$(mktemp -d)
cat > "$d/test.sh" <<L2
ip link set eth0 up
ip addr add $L2_IP/24 dev eth0
ping -c 1 -w 60 $L1_IP > /dev/null
L2
chmod 0755 "$d/test.sh"
cp "$VV_BIN/gapwatch" "$d/"
(cd "$d" && printf 'test.sh\ngapwatch\n' | cpio -o -H newc --quiet | gzip -1) > "$d/x.gz"
cat "$VV_PROJECT/.vm-out/l2-initramfs-$VV_L2_KVER.cpio.gz" "$d/x.gz" > "$d/l2.gz"

# stall MODE MEM QEMU_DEVICE [UUID]
stall() {
	local mode=$1 mem=$2 dev=$3 uuid=${4:-} log c
	log=$VV_OUT/bench-stall-$mode-$mem.log
	VV_L2_MEM=$mem vv_run_l2 "$log" "$d/l2.gz" 600 -device "$dev" ||
		echo "# bench: stall $mode $mem: L2 did not complete its ping"
	echo "$mode-$mem gap_us $(sed -n 's/^L2-GAP max_us=\([0-9]*\).*/\1/p' "$log" | tr -d '\r')" >> "$out"
	[ -n "$uuid" ] || return 0
	c=/sys/kernel/debug/vhost_vfio/$uuid/counters
	for k in access_max_ns driver_ok_deferred mirror_build_ns; do
		echo "$mode-$mem $k $(sed -n "s/^$k: //p" "$c")" >> "$out"
	done
}

for mem in $MEMS; do
	echo "# bench: stall, passthrough of $B, L2 with $mem"
	vv_bind "$B" vfio-pci
	stall passthrough "$mem" "vfio-pci,host=$B"
	echo "# bench: stall, $B as a vhost-vfio mdev, L2 with $mem"
	vv_bind "$B" vhost_vfio_virtio_pci
	uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "$uuid" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
	stall mdev "$mem" "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$uuid" "$uuid"
	echo 1 > "/sys/bus/mdev/devices/$uuid/remove"
done
rm -rf "$d"

awk -v mems="$MEMS" '
	{ v[$1 " " $2] = $3 }
	function g(k) { return (k in v && v[k] != "") ? v[k] : "-" }
	END {
		printf "vCPU stall, 1-vCPU L2 from virtio_net probe to first ping (longest gap, us)\n"
		printf "%-8s %16s %16s %18s %14s %16s\n", "L2 RAM", "passthrough", "mdev", "mdev access_max", "DRIVER_OK", "mirror build"
		n = split(mems, m, " ")
		for (i = 1; i <= n; i++)
			printf "%-8s %16s %16s %15s ns %14s %13s ns\n", m[i], g("passthrough-" m[i] " gap_us"), \
				g("mdev-" m[i] " gap_us"), g("mdev-" m[i] " access_max_ns"), \
				(g("mdev-" m[i] " driver_ok_deferred") == "0") ? "direct" : "deferred", \
				g("mdev-" m[i] " mirror_build_ns")
		printf "# gap: longest time gapwatch in L2 was kept off the CPU; access_max: longest VMM access to the mdev (a vCPU exit)\n"
	}' "$out" | tee "$VV_OUT/bench-stall-table.txt"
cat "$VV_OUT/bench-stall-table.txt" >> "$VV_OUT/bench-table.txt"
vv_unload_modules
exit 0
