#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Stall hunter, inside L1:
#
#   scripts/vm-run.sh --nics 2 --mem 6G -- scripts/vm/stall-l1.sh
#
# Boots the nested guest (L2) with function B again and again, each time
# sending VV_STALL_MB MiB of zeros over TCP to function A in L1 (as make
# bench does), through the watched transfer of lib.sh: a transfer that
# stops moving is recorded on both sides (vv_stall_record) into
# $VV_OUT/stall/stall-ROUND/.  Diagnostics only: it asserts nothing but
# prints one line per round and fails if any round stalled.
#
# VV_STALL_RUNS rounds (10) of VV_STALL_MODE (mapped): mapped or trapped
# (an mdev with map_doorbells Y or N), passthrough (vfio-pci), or bench
# (each round passthrough first, then mapped, as make bench runs them).
set -u
# shellcheck disable=SC1091
. "$VV_PROJECT/scripts/vm/bench-lib.sh"
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.10.1
L2_IP=169.254.10.2
RUNS=${VV_STALL_RUNS:-10}
MB=${VV_STALL_MB:-16}
MODE=${VV_STALL_MODE:-mapped}
out=$VV_OUT/stall
mkdir -p "$out"

vv_load_modules || exit 1
modprobe virtio_net
vv_mount_debugfs
ifname=$(vv_netdev_of "$A")
ip addr add "$L1_IP/24" dev "$ifname" && ip link set "$ifname" up

vv_l2_bulk_lines "$L1_IP" "$L2_IP" "$MB" > "$VV_TMP/stall-l2.sh"
vv_l2_initrd "$VV_TMP/stall-l2.gz" "$VV_TMP/stall-l2.sh"

# use_mode MODE: hand B over for MODE; sets dev (QEMU's -device) and uuid.
uuid=
use_mode() {
	[ -n "$uuid" ] && echo 1 > "/sys/bus/mdev/devices/$uuid/remove"
	uuid=
	case $1 in
	passthrough)
		vv_bind "$B" vfio-pci || return 1
		dev="vfio-pci,host=$B"
		;;
	mapped|trapped)
		if [ "$1" = trapped ]; then
			echo N > /sys/module/vhost_vfio/parameters/map_doorbells
		else
			echo Y > /sys/module/vhost_vfio/parameters/map_doorbells
		fi
		vv_bind "$B" vhost_vfio_virtio_pci || return 1
		uuid=$(cat /proc/sys/kernel/random/uuid)
		echo "$uuid" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
		dev="vfio-pci,sysfsdev=/sys/bus/mdev/devices/$uuid"
		;;
	esac
}

# one_round NAME: one nested guest, one watched transfer.
stalls=0
one_round() {
	local log=$out/l2-$1.log sink

	"$VV_BIN/tcp_sink" 5001 /dev/null 600 > "$VV_TMP/sink.txt" &
	sink=$!
	vv_run_l2_watched "$log" "$VV_TMP/stall-l2.gz" 400 "$out/stall-$1" \
		"$B" "$A" "$uuid" -device "$dev"
	kill "$sink" 2> /dev/null
	wait "$sink" 2> /dev/null
	if grep -q '^L2-STALL' "$log"; then
		stalls=$((stalls + 1))
		echo "# round $1: STALLED, recorded in $out/stall-$1"
	else
		echo "# round $1: $(tr -d '\r' < "$VV_TMP/sink.txt" | tail -n 1)"
	fi
}

[ "$MODE" = bench ] || use_mode "$MODE" || exit 1
for ((n = 1; n <= RUNS; n++)); do
	if [ "$MODE" = bench ]; then
		use_mode passthrough && one_round "$n-passthrough"
		use_mode mapped && one_round "$n-mapped"
	else
		one_round "$n"
	fi
done
echo "# $stalls stalls in $RUNS rounds ($MODE)"
[ -n "$uuid" ] && echo 1 > "/sys/bus/mdev/devices/$uuid/remove"
echo Y > /sys/module/vhost_vfio/parameters/map_doorbells
vv_unload_modules
[ "$stalls" = 0 ]
