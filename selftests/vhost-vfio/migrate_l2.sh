#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Live migration of a nested guest (L2) from one mdev to another, with
# stock QEMU through the vfio-pci interface.  vhost_vfio runs with relay=Y
# and migration=Y; functions B and C share the QEMU hub with A (L1's own
# end of the link) and their mdevs are provisioned with one MAC.
#
# QEMU 8 and later (the Debian 13 host's 10), over local sockets in L1:
#  1. L2 boots on B's mdev, pings L1 all along and sends it a random file.
#  2. During the transfer L1 migrates L2 to a QEMU on C whose mdev lacks a
#     feature the guest negotiated: C refuses the state, the migration
#     fails, and L2 goes on on B (the source resumes in place).
#  3. Still during the transfer, L1 migrates L2 to a QEMU on C provisioned
#     like B.  The file arrives intact; the guest never resets its device.
#  4. While L2 is idle (it waits for L1's go), L1 migrates it back to B.
#  5. L2 sends a second file from B: intact.  Its kernel stays clean.
# Downtime and total time of each migration are reported (QEMU's
# query-migrate), and written to $VV_OUT/migration-times.txt.
#
# QEMU 7.2 (the Debian 12 host) has no VFIO migration v2: it refuses to
# migrate, nothing reaches the device, and L2 carries on unharmed.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B C _ <<< "$VV_NICS"
L1_IP=169.254.14.1
L2_IP=169.254.14.2
PORT=5006
GO_PORT=5007
SIZE_KB=${SIZE_KB:-16384}
MAC=52:54:00:76:76:14
UUID_B=5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad014
UUID_C=5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad015
PARAMS=/sys/module/vhost_vfio/parameters
TMO=600
# VIRTIO_NET_F_MRG_RXBUF: Linux's virtio_net negotiates it when offered.
MRG_RXBUF=$((1 << 15))
export VV_L2_MEM=${VV_L2_MEM:-256M}

qemu_major=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)
# Without device dirty tracking QEMU 8+ migrates a vfio device only when
# told to, and then counts every page type1 saw pinned as dirty (device
# dirty tracking needs a kernel with CONFIG_IOMMUFD_DRIVER: design.rst).
VV_MIG_OPT=
[ "${qemu_major:-0}" -ge 8 ] && VV_MIG_OPT=,enable-migration=on
qmp() { "$VV_PROJECT/scripts/vm/qmp.py" --json "$@"; }
mdev() { echo "/sys/bus/mdev/devices/$1"; }
no_stall() { ! cat "$@" | grep -q '^L2-STALL'; }
running() { qmp "$1" '{"execute": "query-status"}' | grep -q '"status": "running"'; }
dbg() { echo "/sys/kernel/debug/vhost_vfio/$1/$2"; }

# l2_start LOG MON MDEV [QEMU_ARGS...]: L2's QEMU in the background, its
# pid in l2_pid; every one of them has the same machine.
l2_start() {
	local log=$1 mon=$2 dev=$3
	shift 3
	rm -f "$log" "$mon"
	: > "$log"
	vv_l2_qemu "file:$log" "$VV_TMP/l2.cpio.gz" "$TMO" \
		-qmp "unix:$mon,server=on,wait=off" \
		-device "vfio-pci,sysfsdev=$dev,id=nic,addr=4$VV_MIG_OPT" "$@" &
	l2_pid=$!
	# Its monitor, once QEMU listens (bounded: a TCG L1 may be slow).
	for _ in $(seq 600); do
		[ -S "$mon" ] && qmp "$mon" '{"execute": "query-status"}' > /dev/null 2>&1 && return 0
		kill -0 "$l2_pid" 2> /dev/null || break
		sleep 0.2
	done
	vv_log "L2's QEMU on $dev did not answer on $mon"
	return 1
}

# migrate SRC_MON URI OUT: migrate, wait for QEMU's verdict; OUT gets the
# final status, downtime and total time (ms).  With a return path the
# source hears of a destination that refused the state, and runs on.  Every page type1 reports
# dirty (all the mdev pinned) is sent again each round, so precopy cannot
# converge: the downtime limit lets QEMU stop the guest after a round.
migrate() {
	local mon=$1 uri=$2 out=$3 ev status
	qmp "$mon" \
		'{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}, {"capability": "return-path", "state": true}]}}' \
		'{"execute": "migrate-set-parameters", "arguments": {"downtime-limit": 60000, "max-bandwidth": 4294967296}}' \
		"{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"$uri\"}}" \
		--until 'MIGRATION:status=completed,failed,cancelled' --timeout "$TMO" > "$out.qmp"
	sed 's/^/# qmp: /' "$out.qmp"
	ev=$(grep '"event": "MIGRATION"' "$out.qmp" | tail -1)
	status=$(echo "$ev" | sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p')
	qmp "$mon" '{"execute": "query-migrate"}' |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["return"]
print(sys.argv[1], r.get("downtime", -1), r.get("total-time", -1), r.get("ram", {}).get("transferred", -1))' "${status:-none}" > "$out"
	vv_log "migration to $uri: $(cat "$out") (status, downtime ms, total ms, RAM bytes)"
	[ "$status" = completed ]
}

# move N FROM_MON FROM_PID MDEV CASE WHAT: L2's QEMU number N on MDEV
# waiting for the guest (its pid in l2_pid, console l2-migrate-N.log),
# the migration from FROM_MON (result WHAT, times as CASE), then the
# source's QEMU quits.
move() {
	local n=$1 from=$2 from_pid=$3 dev=$4 case=$5 what=$6
	l2_start "$VV_OUT/l2-migrate-$n.log" "$VV_TMP/l2-mig-$n.sock" "$dev" \
		-incoming "unix:$VV_TMP/mig-$n.sock"
	if migrate "$from" "unix:$VV_TMP/mig-$n.sock" "$VV_TMP/t$n.txt"; then
		vv_ok "$what"
	else
		vv_not_ok "$what"
	fi
	echo "$case $(cat "$VV_TMP/t$n.txt")" >> "$times"
	qmp "$from" '{"execute": "quit"}' > /dev/null
	wait "$from_pid"
}

vv_setup_functions "$B" ${C:+"$C"}
modprobe virtio_net
vv_kmsg_mark
vv_mount_debugfs
vv_check "relay and migration set to Y" \
	bash -c "echo Y > $PARAMS/relay && echo Y > $PARAMS/migration"
for u in "$UUID_B:$B" "$UUID_C:$C"; do
	echo "${u%%:*}" > "/sys/bus/pci/devices/${u#*:}/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
	echo "$MAC" > "$(mdev "${u%%:*}")/mac"
done
vv_check "mdevs on $B and $C, provisioned with MAC $MAC" \
	test "$(cat "$(mdev $UUID_B)/mac")" = "$MAC" -a "$(cat "$(mdev $UUID_C)/mac")" = "$MAC"
vv_check "L1's end of the link up, its TCP sink listening" \
	vv_traffic_begin "$A" "$L1_IP" "$PORT"

# The guest's part: a continuous ping, a file, then (once L1 says go) a
# second file.
{
	# QEMU's virtio-net stands in for a VF whose MAC the PF would set to
	# the provisioned one: it filters on a MAC of its own, so L2 takes
	# every frame.
	cat <<L2
ip link set eth0 promisc on
ip link set eth0 up
ip addr add $L2_IP/24 dev eth0
ping -c 3 -w 30 $L1_IP && echo L2-PING-OK
ping -i 0.2 $L1_IP > /tmp/ping.txt 2>&1 &
pinger=\$!
dd if=/dev/urandom of=/tmp/tx.bin bs=1024 count=$SIZE_KB 2>/dev/null
echo "L2-MD5=\$(md5sum /tmp/tx.bin | cut -d' ' -f1)"
L2
	vv_l2_watched_send "$L1_IP" "$PORT" "cat /tmp/tx.bin"
	cat <<L2
echo L2-FIRST-DONE
nc -l -p $GO_PORT
dd if=/dev/urandom of=/tmp/tx.bin bs=1024 count=$((SIZE_KB / 4)) 2>/dev/null
echo "L2-MD5=\$(md5sum /tmp/tx.bin | cut -d' ' -f1)"
L2
	vv_l2_watched_send "$L1_IP" "$PORT" "cat /tmp/tx.bin"
	cat <<L2
kill -INT \$pinger
wait \$pinger
echo "L2-PINGS \$(grep -E 'packets transmitted' /tmp/ping.txt)"
ping -c 3 -w 30 $L1_IP && echo L2-AFTER-PING-OK
dmesg | grep -A 12 -E 'WARNING|BUG|timed out' | head -40
echo "L2-TAINT=\$(cat /proc/sys/kernel/tainted)"
L2
} > "$VV_TMP/l2-test.sh"
vv_l2_initrd "$VV_TMP/l2.cpio.gz" "$VV_TMP/l2-test.sh"

# Some data moved since the last look: woken by the sink's writes.
more_data() {
	local size
	size=$(stat -c %s "$VV_TMP/rx.bin" 2> /dev/null || echo 0)
	while [ "$(stat -c %s "$VV_TMP/rx.bin" 2> /dev/null || echo 0)" -le $((size + $1)) ] &&
	      kill -0 "$2" 2> /dev/null; do
		inotifywait -q -t 5 -e modify "$VV_TMP/rx.bin" > /dev/null 2>&1
	done
}

times=$VV_OUT/migration-times.txt
: > "$times"
log1=$VV_OUT/l2-migrate-1.log
mon1=$VV_TMP/l2-mig-1.sock
l2_start "$log1" "$mon1" "$(mdev $UUID_B)"
src=$l2_pid
vv_check "L2 boots on $B's mdev and starts sending" \
	vv_wait_console "$log1" 300 "$src" '^L2-MD5='
more_data 1048576 "$src"

if [ "${qemu_major:-0}" -lt 8 ]; then
	qmp "$mon1" "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$VV_TMP/nowhere.sock\"}}" > "$VV_TMP/refused.txt"
	vv_check "QEMU $qemu_major refuses to migrate (no VFIO migration v2)" \
		grep -q '"error".*migration' "$VV_TMP/refused.txt"
	vv_log "QEMU said: $(cat "$VV_TMP/refused.txt")"
	vv_check "no migration arc reached the device" \
		test "$(vv_counter "$(dbg $UUID_B migration)" transitions)" = 0
	vv_check "L2 still runs" running "$mon1"
	vv_wait_console "$log1" 300 "$src" '^L2-FIRST-DONE'
	vv_check "the file arrived intact (${SIZE_KB} KiB)" vv_traffic_intact "$log1"
	last_log=$log1
else
	# 2. A destination that lacks a feature the guest negotiated.
	offered=$(cat "$(mdev $UUID_B)/offered_features")
	printf '0x%x\n' $((offered & ~MRG_RXBUF)) > "$(mdev $UUID_C)/features_mask"
	log2=$VV_OUT/l2-migrate-2.log
	mon2=$VV_TMP/l2-mig-2.sock
	l2_start "$log2" "$mon2" "$(mdev $UUID_C)" -incoming "unix:$VV_TMP/mig-2.sock"
	bad=$l2_pid
	parked0=$(vv_counter "$(dbg $UUID_B counters)" relay_parks)
	if migrate "$mon1" "unix:$VV_TMP/mig-2.sock" "$VV_TMP/t2.txt"; then
		vv_not_ok "migrating to a destination without MRG_RXBUF fails"
	else
		vv_ok "migrating to a destination without MRG_RXBUF fails"
	fi
	# It exits when the state is refused; not if the migration never began.
	vv_wait_exit "$bad" 120 || qmp "$mon2" '{"execute": "quit"}' > /dev/null
	wait "$bad"
	m=$(dbg $UUID_C migration)
	vv_kmsg_since | grep -m2 'migration state refused' | sed 's/^/# dmesg: /'
	vv_check "the destination refused the state as not offered (EOPNOTSUPP)" \
		test "$(vv_counter "$m" restores_refused)" = 1 -a "$(vv_counter "$m" last_refusal)" = -95
	vv_check "the source runs on" running "$mon1"
	vv_check "the source resumed in place" \
		test "$(vv_counter "$(dbg $UUID_B migration)" resumed_in_place)" = 1 -a \
		"$(vv_counter "$(dbg $UUID_B counters)" relay_parks)" = $((parked0 + 1))
	echo 0xffffffffffffffff > "$(mdev $UUID_C)/features_mask"

	# 3. During the transfer, to C provisioned like B.
	more_data 1048576 "$src"
	log3=$VV_OUT/l2-migrate-3.log
	mon3=$VV_TMP/l2-mig-3.sock
	move 3 "$mon1" "$src" "$(mdev $UUID_C)" busy \
		"L2 migrated from $B to $C during the transfer"
	dst=$l2_pid
	vv_wait_console "$log3" 300 "$dst" '^L2-FIRST-DONE'
	vv_check "the file sent across the migration arrived intact (${SIZE_KB} KiB)" \
		vv_traffic_intact "$log1"
	m=$(dbg $UUID_C migration)
	c=$(dbg $UUID_C counters)
	sed 's/^/# on C: /' "$m"
	grep -E '^(relay_|guest_resets|driver_ok_deferred)' "$c" | sed 's/^/# on C: /'
	vv_check "C resumed the guest's queues in place, no DEVICE_NEEDS_RESET" \
		test "$(vv_counter "$m" restores)" = 1 -a "$(vv_counter "$m" resumed_in_place)" = 1 -a \
		"$(vv_counter "$m" needs_reset_raised)" = 0
	vv_check "C's VF took the buffers B's held, and no queue broke" \
		test "$(vv_counter "$c" relay_heads_reposted)" -gt 0 -a "$(vv_counter "$c" relay_errors)" = 0
	vv_check "the guest never reset its device on C" \
		test "$(vv_counter "$c" guest_resets)" = 0

	# 4. Back to B while the guest waits, idle.
	log4=$VV_OUT/l2-migrate-4.log
	move 4 "$mon3" "$dst" "$(mdev $UUID_B)" idle \
		"L2 migrated back from $C to $B while idle"
	back=$l2_pid
	m=$(dbg $UUID_B migration)
	vv_check "B resumed the guest's queues in place" \
		test "$(vv_counter "$m" restores)" = 1 -a "$(vv_counter "$m" resumed_in_place)" = 1 -a \
		"$(vv_counter "$m" needs_reset_raised)" = 0
	src=$back
	last_log=$log4
fi

# 5. The guest listens for the go (bash's /dev/tcp connects) and sends a
# second file.
vv_check "L1's TCP sink listening again" vv_traffic_begin "$A" "$L1_IP" "$PORT"
for _ in $(seq 120); do
	echo go 2> /dev/null > "/dev/tcp/$L2_IP/$GO_PORT" && break
	sleep 0.5
done

wait "$src"
vv_l2_exit_report $?
sed 's/^/# L2: /' "$log1" ${log3:+"$log3"} ${log4:+"$log4"}
vv_check "the last file arrived intact" vv_traffic_intact "$last_log"
vv_check "L2's transfers never stopped moving (no stall recorded)" \
	no_stall "$log1" ${log3:+"$log3"} ${log4:+"$log4"}
vv_check "L2 pinged L1 at the end" grep -q '^L2-AFTER-PING-OK' "$last_log"
vv_log "L2's continuous ping: $(sed -n 's/^L2-PINGS //p' "$last_log")"
vv_check "L2 exited cleanly, its kernel not tainted (no warning, no tx timeout)" \
	bash -c "grep -q '^L2-TEST-EXIT=0' '$last_log' && grep -q '^L2-TAINT=0' '$last_log' && ! grep -q 'timed out' '$last_log'"
[ -s "$times" ] && sed 's/^/# times: /' "$times"

for u in $UUID_B $UUID_C; do
	echo 1 > "$(mdev "$u")/remove"
done
echo N > "$PARAMS/relay"
echo N > "$PARAMS/migration"
vv_teardown_functions
