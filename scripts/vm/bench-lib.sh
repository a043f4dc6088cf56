# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Helpers of the benchmark and the stall hunter (scripts/vm/bench-l1.sh,
# scripts/vm/stall-l1.sh), on top of the suite's selftests/vhost-vfio/lib.sh,
# which keeps what the tests use (the watched transfer and its recording
# among it).  Sourced, not executed.

# shellcheck disable=SC1091
. "$VV_PROJECT/selftests/vhost-vfio/lib.sh"

# vv_l2_bulk_lines L1_IP L2_IP MIB: the guest's part of make bench's
# workload up to its bulk transfer (also the stall hunter's): bring eth0 up,
# ping L1 (L2-PING min/avg/max), send MIB MiB of zeros to L1_IP:5001
# watched.
vv_l2_bulk_lines() {
	cat <<L2
ip link set eth0 up
ip addr add $2/24 dev eth0
ping -c 3 -w 30 $1 > /dev/null
echo "L2-PING \$(ping -c 20 -i 0.2 $1 | sed -n 's/.*min\/avg\/max = //p')"
L2
	vv_l2_watched_send "$1" 5001 "dd if=/dev/zero bs=1M count=$3 2> /dev/null"
}
