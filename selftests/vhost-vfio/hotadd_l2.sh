#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Memory hot-add while a nested guest (L2) runs on the mdev of function B.
# L2 boots with a second, memoryless NUMA node.  Once it has pinged L1,
# L1 adds a 256 MiB DIMM on node 1 through QEMU's monitor (QEMU adds a
# memslot and DMA-maps the DIMM into the container, no reset, no new
# DRIVER_OK).  The mdev's mirror must grow by exactly the DIMM while the VF
# runs.  L2 onlines the DIMM, then sends a buffer bound to node 1 with TCP
# MSG_ZEROCOPY (zc_send): the pages the VF reads are provably in the new
# memory (move_pages), the kernel reports which sends it did not copy, and
# what L1 receives must match the guest's checksum.
#
# L2 is given the go-ahead only once the mirror holds the DIMM: nothing
# tells an emulated-IOMMU device about a new DMA mapping, so the mirror
# finds it by polling (mirror.c); how long that took is logged.
. "$(dirname "$0")/lib.sh"

set -u
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.12.1
L2_IP=169.254.12.2
PORT=5003
GO_PORT=5004
DIMM_MB=256
SIZE_KB=8192
UUID=${UUID:-5b5a2f44-7d0e-4a52-9c3e-d47a1e0ad003}
MDEV=/sys/bus/mdev/devices/$UUID
DBG=/sys/kernel/debug/vhost_vfio/$UUID/counters
L2_TIMEOUT=300

# counter NAME: the mdev's debugfs counter NAME.
counter() { sed -n "s/^$1: //p" "$DBG"; }

vv_setup_functions "$B"
modprobe virtio_net
vv_mount_debugfs
echo "$UUID" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
vv_check "mdev created on $B" test -d "$MDEV"
vv_check "L1's end of the link up, its TCP sink listening" \
	vv_traffic_begin "$A" "$L1_IP" "$PORT"

# The guest's part.  Memory blocks are onlined as their uevents come (no
# polling); the listener exits once node 1 holds the DIMM.
cat > "$VV_TMP/l2-hotadd.sh" <<L2
cat > /tmp/ev.sh <<'EV'
[ "\$ACTION" = add ] && [ "\$SUBSYSTEM" = memory ] || exit 0
s=/sys\$DEVPATH/state
[ "\$(cat \$s)" = online ] || echo online_movable > \$s
kb=\$(sed -n 's/.*MemTotal: *\([0-9]*\) kB/\1/p' /sys/devices/system/node/node1/meminfo 2>/dev/null)
[ "\${kb:-0}" -ge $((DIMM_MB * 1024)) ] && kill \$PPID
EV
$(vv_l2_uevent_ready_lines $((L2_TIMEOUT - 60)) "$L1_IP" "$L2_IP")
echo "L2-NODE1 \$(grep MemTotal /sys/devices/system/node/node1/meminfo)"
nc -l -p $GO_PORT
/zc_send $L1_IP $PORT $SIZE_KB 1 /tmp/tx.bin
echo "L2-MD5=\$(md5sum /tmp/tx.bin | cut -d' ' -f1)"
dmesg | grep -A 12 -E 'WARNING|BUG' | head -40
echo "L2-TAINT=\$(cat /proc/sys/kernel/tainted)"
L2
vv_l2_initrd "$VV_TMP/l2-hotadd.cpio.gz" "$VV_TMP/l2-hotadd.sh"
d=$(mktemp -d)
install -m 0755 "$VV_BIN/zc_send" "$d/zc_send"
(cd "$d" && echo zc_send | cpio -o -H newc --quiet | gzip -1) >> "$VV_TMP/l2-hotadd.cpio.gz"
rm -rf "$d"

# L1's part, once L2 is up: add the DIMM, wait for the mirror to hold it,
# tell L2 to go on.
mon=$VV_TMP/hotadd.qmp
res=$VV_TMP/hotadd.txt
hotadd() {
	local grown0 deferred0 want t0 qmp=ok
	grown0=$(counter mirror_grown_pages)
	deferred0=$(counter driver_ok_deferred)
	want=$((grown0 + DIMM_MB * 256))
	t0=$(date +%s%N)
	"$VV_PROJECT/scripts/vm/qmp.py" --json "$mon" \
		"{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-ram\", \"id\": \"hm1\", \"size\": $((DIMM_MB << 20))}}" &&
	"$VV_PROJECT/scripts/vm/qmp.py" --json "$mon" \
		'{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm1", "memdev": "hm1", "node": 1}}' ||
		qmp=failed
	# Bounded: 256 MiB are pinned in about a second under TCG.
	for _ in $(seq 600); do
		[ "$(counter mirror_grown_pages)" -ge "$want" ] && break
		sleep 0.05
	done
	echo "qmp=$qmp grown=$(($(counter mirror_grown_pages) - grown0))" \
	     "want=$((DIMM_MB * 256)) deferred=$(($(counter driver_ok_deferred) - deferred0))" \
	     "extends=$(counter mirror_extends) ms=$((($(date +%s%N) - t0) / 1000000))" > "$res"
	# L2 listens once node 1 is online; bash's /dev/tcp connects.
	for _ in $(seq 120); do
		echo go 2> /dev/null > "/dev/tcp/$L2_IP/$GO_PORT" && break
		sleep 0.5
	done
}

log=$VV_OUT/l2-hotadd.log
rm -f "$res"
VV_L2_MEM="384M,slots=2,maxmem=1G" vv_l2_qemu stdio "$VV_TMP/l2-hotadd.cpio.gz" "$L2_TIMEOUT" \
	-qmp "unix:$mon,server=on,wait=off" \
	-object memory-backend-ram,id=m0,size=384M \
	-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1 \
	-device "vfio-pci,sysfsdev=$MDEV" 2> "$VV_TMP/qemu-hotadd.err" |
	tee "$log" | {
		if grep -q -m 1 '^L2-READY'; then
			hotadd &
		fi
		cat > /dev/null
		wait
	}
sed 's/^/# L2: /' "$log"
sed 's/^/# qemu: /' "$VV_TMP/qemu-hotadd.err"
read -r qmp grown want deferred extends ms < "$res" 2>/dev/null || qmp=none
vv_log "hot-add: $qmp $grown $want $deferred $extends $ms"
sed "s/^/# after: /" "$DBG"

vv_check "L2 pinged L1 through the mediated function" grep -q '^L2-PING-OK' "$log"
vv_check "QEMU added a ${DIMM_MB} MiB DIMM on node 1 while L2 ran" test "$qmp" = qmp=ok
vv_check "the mirror grew by exactly the DIMM while the VF ran (${ms#ms=} ms)" \
	test "${grown#grown=}" = "${want#want=}"
vv_check "no DRIVER_OK was deferred, no reset: the VF kept running" \
	test "$deferred" = deferred=0
vv_check "L2 onlined the DIMM on node 1" \
	grep -q "^L2-NODE1 .*MemTotal: *$((DIMM_MB * 1024)) kB" "$log"
vv_check "every page L2 sent from is on node 1, in the DIMM" \
	grep -q "^ZC-SENT bytes=$((SIZE_KB * 1024)) pages=$((SIZE_KB / 4)) on_node=$((SIZE_KB / 4)) " "$log"
# A send the kernel had to copy (e.g. a retransmission) is flagged; the
# others the VF read from the DIMM.  Without scatter-gather all would be.
zc=$(sed -n 's/^ZC-SENT .* notifications=\([0-9]*\) copied=\([0-9]*\).*/\1 \2/p' "$log" | tr -d '\r')
read -r zc_sent zc_copied <<< "${zc:-0 0}"
vv_check "the VF read $((zc_sent - zc_copied)) of $zc_sent sends in place (MSG_ZEROCOPY)" \
	test "$zc_sent" -gt 0 -a "$zc_copied" -lt "$zc_sent"
vv_check "what L1 received matches the guest's checksum" vv_traffic_intact "$log"
vv_check "L2 exited cleanly, kernel not tainted" \
	bash -c "grep -q '^L2-TEST-EXIT=0' '$log' && grep -q '^L2-TAINT=0' '$log'"
vv_check "nothing pinned or mapped after L2 exited" \
	test "$(counter mirror_pinned_pages)" = 0 -a "$(counter mirror_maps)" = 0
echo 1 > "$MDEV/remove"
vv_teardown_functions
