#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Network benchmark inside L1: the same nested guest (L2) workload over
# function B given to L2 (a) by plain vfio-pci passthrough, (b) through a
# vhost-vfio mdev and (c) the same with its doorbells trapped, with
# function A in L1 as the peer.  Prints the numbers side by side with their
# ratios, then the DMA mirror build
# benchmark (bench-mirror-l1.sh) and the vCPU stall benchmark
# (bench-stall-l1.sh).  Asserts nothing about time.
set -u
# shellcheck disable=SC1091
. "$VV_PROJECT/scripts/vm/bench-lib.sh"
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.10.1
L2_IP=169.254.10.2
BULK_MB=${VV_BENCH_BULK_MB:-16}
UDP_S=${VV_BENCH_UDP_SECONDS:-5}
out=$VV_OUT/bench.txt
: > "$out"

vv_load_modules || exit 1
modprobe virtio_net
ifname=$(vv_netdev_of "$A")
ip addr add "$L1_IP/24" dev "$ifname" && ip link set "$ifname" up

# The nested guest's workload; udp_bench is appended to its initramfs.  The
# bulk transfer is watched: if it stops moving, both sides are recorded
# (vv_run_l2_watched) in bench-MODE-stall/.
{
	vv_l2_bulk_lines "$L1_IP" "$L2_IP" "$BULK_MB"
	cat <<L2
/udp_bench send $L1_IP 5002 $UDP_S 64
/udp_bench send $L1_IP 5003 $UDP_S 1400
L2
} > "$VV_TMP/bench-l2.sh"

# run_mode MODE QEMU_DEVICE [UUID]
run_mode() {
	local mode=$1 dev=$2 uuid=${3:-} d log
	d=$(mktemp -d)
	cp "$VV_BIN/udp_bench" "$d/"
	install -m 0755 "$VV_TMP/bench-l2.sh" "$d/test.sh"
	(cd "$d" && printf 'test.sh\nudp_bench\n' | cpio -o -H newc --quiet | gzip -1) > "$d/x.gz"
	cat "$VV_PROJECT/.vm-out/l2-initramfs-$VV_L2_KVER.cpio.gz" "$d/x.gz" > "$d/l2.gz"

	"$VV_BIN/tcp_sink" 5001 /dev/null 600 > "$d/tcp" &
	"$VV_BIN/udp_bench" recv 5002 "$UDP_S" > "$d/udp64" &
	"$VV_BIN/udp_bench" recv 5003 "$UDP_S" > "$d/udp1400" &
	log=$VV_OUT/bench-$mode-l2.log
	vv_run_l2_watched "$log" "$d/l2.gz" 600 "$VV_OUT/bench-$mode-stall" \
		"$B" "$A" "$uuid" -device "$dev" > /dev/null 2>&1
	grep -q '^L2-STALL' "$log" &&
		echo "# bench: $mode: the bulk transfer STALLED, see $VV_OUT/bench-$mode-stall"
	wait
	{
		echo "$mode ping_ms $(sed -n 's/^L2-PING [0-9.]*\/\([0-9.]*\)\/.*/\1/p' "$log" | tr -d '\r')"
		echo "$mode tcp_MBps $(sed -n 's/.*: \([0-9.]*\) MB\/s/\1/p' "$d/tcp")"
		echo "$mode udp64_pps $(sed -n 's/.*s: \([0-9]*\) pps.*/\1/p' "$d/udp64")"
		echo "$mode udp1400_pps $(sed -n 's/.*s: \([0-9]*\) pps.*/\1/p' "$d/udp1400")"
		echo "$mode udp1400_MBps $(sed -n 's/.* pps \([0-9.]*\) MB\/s/\1/p' "$d/udp1400")"
	} >> "$out"
	rm -rf "$d"
}

echo "# bench: passthrough of $B with vfio-pci"
vv_bind "$B" vfio-pci
run_mode passthrough "vfio-pci,host=$B"

echo "# bench: $B as a vhost-vfio mdev"
vv_bind "$B" vhost_vfio_virtio_pci
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$uuid" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
counters=/sys/kernel/debug/vhost_vfio/$uuid/counters
# State counters (bypass_connected, doorbell_mapped) are only meaningful
# while L2 holds the device: snapshot them every 2 s while it runs (a
# detached loop, so run_mode's wait does not wait for it).
live=$VV_OUT/bench-mdev-counters-live.txt
: > "$live"
( (while sleep 2; do
	grep -q '^bypass_connected: [1-9]' "$counters" 2> /dev/null &&
		cat "$counters" > "$live.new" && mv "$live.new" "$live"
done) & echo $! > "$VV_TMP/sampler.pid" )
run_mode mdev "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$uuid" "$uuid"
kill "$(cat "$VV_TMP/sampler.pid")" 2> /dev/null
[ -r "$counters" ] && sed 's/^/mdev counter /' "$counters" >> "$out"
echo 1 > "/sys/bus/mdev/devices/$uuid/remove"

# The same mdev path with every kick trapped (map_doorbells=N): what the
# mapped doorbell page saves.
echo "# bench: $B as a vhost-vfio mdev, doorbells trapped"
echo N > /sys/module/vhost_vfio/parameters/map_doorbells
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$uuid" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
run_mode trapped "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$uuid" "$uuid"
echo "# trapped kicks forwarded by the driver: $(sed -n 's/^bar2_notify_writes: //p' \
	"/sys/kernel/debug/vhost_vfio/$uuid/counters")"
echo 1 > "/sys/bus/mdev/devices/$uuid/remove"
echo Y > /sys/module/vhost_vfio/parameters/map_doorbells

# Side by side; ratios to passthrough (latency: lower is better).
awk '
	function ratio(a, b) { return (b + 0 > 0 && a != "") ? sprintf("%.2f", a / b) : "n/a" }
	function cell(v) { return v == "" ? "-" : v }
	$1 == "passthrough" { pt[$2] = $3; order[n++] = $2 }
	$1 == "mdev" && $2 != "counter" { md[$2] = $3 }
	$1 == "trapped" { tr[$2] = $3 }
	END {
		printf "%-14s %12s %12s %8s %12s %8s\n", "metric", "passthrough",
		       "mdev", "mdev/pt", "trapped", "trap/pt"
		for (i = 0; i < n; i++) {
			k = order[i]
			printf "%-14s %12s %12s %8s %12s %8s\n", k, cell(pt[k]),
			       cell(md[k]), ratio(md[k], pt[k]), cell(tr[k]),
			       ratio(tr[k], pt[k])
		}
	}' "$out" | tee "$VV_OUT/bench-table.txt"
grep '^mdev counter' "$out" | sed 's/^mdev counter /# mdev counter: /'
sed 's/^/# mdev counter while L2 ran: /' "$live"
vv_unload_modules || exit 1

# Second table: the DMA mirror build (1 GiB of guest RAM), type1 MAP_DMA
# vs mdev DRIVER_OK; appended to bench-table.txt.
"$VV_PROJECT/scripts/vm/bench-mirror-l1.sh"

# Third table: how long a 1-vCPU L2 is kept off its CPU while virtio_net
# probes and first uses the device, passthrough vs mdev, two RAM sizes.
"$VV_PROJECT/scripts/vm/bench-stall-l1.sh"
