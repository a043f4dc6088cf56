# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for the shell selftests that run inside the host VM (L1).
# Sourced, not executed.  Every helper reports failures through its status.

VV_PROJECT=${VV_PROJECT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VV_KVER=${VV_KVER:-$(uname -r)}
# Built for L1's kernel: in the tree for the Debian 12 host, in a copy of it
# for another (scripts/vm-run.sh --host sets these).
VV_KO_DIR=${VV_KO_DIR:-$VV_PROJECT/drivers/vhost-vfio}
VV_BIN=${VV_BIN:-$VV_PROJECT/selftests/vhost-vfio/bin}
# The nested guests' kernel (vm-run.sh --l2): L1's own unless told.
VV_L2_KVER=${VV_L2_KVER:-$VV_KVER}
VV_L2_KERNEL=${VV_L2_KERNEL:-$VV_PROJECT/.vm-out/l2-vmlinuz-$VV_L2_KVER}
[ -r "$VV_L2_KERNEL" ] || VV_L2_KERNEL=/boot/vmlinuz-$VV_L2_KVER
VV_TMP=${VV_TMP:-/tmp/vv}
mkdir -p "$VV_TMP"

vv_log() { echo "# $*"; }

# vv_counter FILE NAME: value of "NAME: value" in FILE (debugfs counters).
vv_counter() { sed -n "s/^$2: //p" "$1"; }

# TAP results, kselftest style: vv_tap_begin, results, vv_tap_end (the
# plan last, since a script that runs kselftest binaries knows its count
# only at the end).
vv_tap_n=0
vv_tap_fail=0
vv_ok() { vv_tap_n=$((vv_tap_n + 1)); echo "ok $vv_tap_n $*"; }
vv_not_ok() {
	vv_tap_n=$((vv_tap_n + 1)); vv_tap_fail=$((vv_tap_fail + 1))
	echo "not ok $vv_tap_n $*"
}
# vv_check NAME CMD...: one TAP line from CMD's status.
vv_check() {
	local name=$1
	shift
	if "$@"; then vv_ok "$name"; else vv_not_ok "$name"; fi
}
vv_tap_begin() { echo "TAP version 13"; }
vv_tap_end() { echo "1..$vv_tap_n"; [ "$vv_tap_fail" = 0 ]; exit $?; }

# Modules of the running kernel the product depends on.
vv_load_deps() {
	modprobe -a vfio vfio_iommu_type1 vfio-pci mdev irqbypass \
		virtio_pci_modern_dev kvm_amd
}

vv_load_modules() {
	vv_load_deps || return 1
	insmod "$VV_KO_DIR/vhost_vfio.ko" "$@" || return 1
	insmod "$VV_KO_DIR/vhost_vfio_virtio_pci.ko" || return 1
}

vv_unload_modules() {
	local ok=0
	if grep -q '^vhost_vfio_virtio_pci ' /proc/modules; then
		rmmod vhost_vfio_virtio_pci || ok=1
	fi
	if grep -q '^vhost_vfio ' /proc/modules; then
		rmmod vhost_vfio || ok=1
	fi
	return $ok
}

# vv_driver_of BDF: the driver bound to BDF, or nothing.
vv_driver_of() {
	local l=/sys/bus/pci/devices/$1/driver
	[ -e "$l" ] && basename "$(readlink -f "$l")"
}

# vv_bind BDF DRIVER: move a function to DRIVER (driver_override, so no
# other function is affected).
vv_bind() {
	local bdf=$1 drv=$2 dev=/sys/bus/pci/devices/$1
	if [ -e "$dev/driver" ]; then
		echo "$bdf" > "$dev/driver/unbind" || return 1
	fi
	echo "$drv" > "$dev/driver_override" || return 1
	echo "$bdf" > /sys/bus/pci/drivers_probe || return 1
	[ "$(vv_driver_of "$bdf")" = "$drv" ]
}

# vv_netdev_of BDF: the kernel network interface of a virtio-net function.
vv_netdev_of() {
	local n
	for n in /sys/bus/pci/devices/$1/virtio*/net/*; do
		[ -e "$n" ] && { basename "$n"; return 0; }
	done
	return 1
}

# vv_l2_initrd OUT TEST_SCRIPT: the nested guest's initramfs with
# TEST_SCRIPT appended as /test.sh (concatenated cpio archives).
vv_l2_initrd() {
	local out=$1 script=$2 base=$VV_PROJECT/.vm-out/l2-initramfs-$VV_L2_KVER.cpio.gz
	local d
	[ -f "$base" ] || { vv_log "missing $base (built by scripts/check.sh)"; return 1; }
	d=$(mktemp -d)
	install -m 0755 "$script" "$d/test.sh"
	(cd "$d" && echo test.sh | cpio -o -H newc --quiet | gzip -1) > "$d/extra.cpio.gz"
	cat "$base" "$d/extra.cpio.gz" > "$out"
	rm -rf "$d"
}

# vv_l2_qemu SERIAL INITRD TIMEOUT QEMU_DEVICE_ARGS...: boot the nested
# guest under KVM in L1 with the given devices, its console on QEMU's
# -serial SERIAL (file:LOG, stdio), bounded by TIMEOUT seconds; its RAM is
# VV_L2_MEM (default 384M).
vv_l2_qemu() {
	local serial=$1 initrd=$2 tmo=$3
	shift 3
	timeout --kill-after=5 "$tmo" qemu-system-x86_64 -enable-kvm -cpu host \
		-smp 1 -m "${VV_L2_MEM:-384M}" -display none -vga none -monitor none -no-reboot \
		-serial "$serial" -net none \
		-kernel "$VV_L2_KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet no_timer_check noxsave" "$@" < /dev/null
}

# How a nested guest ended, when it stops without its verdict: its QEMU's
# exit status (124: killed by the timeout), and whether L1's KVM ended it:
# a triple fault (KVM_EXIT_SHUTDOWN, which QEMU's -no-reboot turns into a
# silent exit), an internal error or a failed VM entry, as L1's
# kvm_userspace_exit tracepoint records them (filtered to those three).
VV_KVM_EXIT_EVENT=/sys/kernel/tracing/events/kvm/kvm_userspace_exit

vv_l2_exit_watch() {
	[ -d "$VV_KVM_EXIT_EVENT" ] || return 0
	echo 'reason == 8 || reason == 9 || reason == 17' > "$VV_KVM_EXIT_EVENT/filter"
	echo 1 > "$VV_KVM_EXIT_EVENT/enable"
	echo 1 > /sys/kernel/tracing/tracing_on
}

# vv_l2_exit_report STATUS: print (as TAP comments) how L2's QEMU ended,
# unless it exited 0 and KVM recorded nothing.
vv_l2_exit_report() {
	local ev=
	if [ -d "$VV_KVM_EXIT_EVENT" ]; then
		ev=$(grep -a kvm_userspace_exit /sys/kernel/tracing/trace | tail -n 3)
		echo 0 > "$VV_KVM_EXIT_EVENT/enable"
	fi
	[ "$1" != 0 ] || [ -n "$ev" ] || return 0
	echo "# L2's QEMU exited with status $1"
	[ -z "$ev" ] || echo "$ev" | sed 's/^ */# L1 KVM ended L2: /'
}

# vv_run_l2 LOG INITRD TIMEOUT QEMU_DEVICE_ARGS...: vv_l2_qemu with the
# console in LOG.  Succeeds if L2 reported its test exit status 0.
vv_run_l2() {
	local log=$1
	shift
	vv_l2_exit_watch
	vv_l2_qemu "file:$log" "$@"
	vv_l2_exit_report $?
	grep -q '^L2-TEST-EXIT=0' "$log"
}

# --- control-path test helpers ---

# vv_run_ksft PREFIX CMD...: run a kselftest_harness binary and fold its
# results into this script's TAP stream (renumbered, "PREFIX: " added,
# SKIP kept).  A binary that reports fewer results than it planned, or
# exits non-zero without a failure, adds one failed result.
vv_run_ksft() {
	local prefix=$1 out line rest planned=-1 got=0 failed=0 rc name=
	shift
	out=$(mktemp)
	"$@" > "$out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"TAP version"*|"# Totals:"*) ;;
		1..*) planned=${line#1..} ;;
		"#  RUN "*)
			name=${line#*RUN }
			name=$(echo "$name" | sed 's/^ *//; s/ \.\.\.$//')
			echo "$line"
			;;
		"ok "*)
			rest=${line#ok }
			rest=${rest#* }
			# The harness names no test on a SKIP line.
			[ "${rest#\#}" != "$rest" ] && rest="$name $rest"
			got=$((got + 1))
			vv_ok "$prefix: $rest"
			;;
		"not ok "*)
			rest=${line#not ok }
			rest=${rest#* }
			got=$((got + 1))
			failed=$((failed + 1))
			vv_not_ok "$prefix: $rest"
			;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done < "$out"
	rm -f "$out"
	if [ "$planned" -lt 0 ] || [ "$got" -lt "$planned" ]; then
		vv_not_ok "$prefix: reported $got of $planned results (status $rc)"
	elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		vv_not_ok "$prefix: exited with status $rc"
	fi
}

# vv_give_back BDF DRIVER: return BDF to DRIVER (nothing if empty) and
# clear its driver_override.
vv_give_back() {
	local bdf=$1 drv=$2 dev=/sys/bus/pci/devices/$1 ok=0
	if [ -n "$drv" ]; then
		vv_bind "$bdf" "$drv" || ok=1
	elif [ -e "$dev/driver" ]; then
		echo "$bdf" > "$dev/driver/unbind" || ok=1
	fi
	echo > "$dev/driver_override" || ok=1
	return $ok
}

# vv_remove_mdevs BDF: remove every mdev whose parent is BDF.
vv_remove_mdevs() {
	local m ok=0
	for m in /sys/bus/pci/devices/$1/*-*-*-*-*; do
		[ -e "$m/remove" ] || continue
		echo 1 > "$m/remove" || ok=1
	done
	return $ok
}

# vv_mount_debugfs: make /sys/kernel/debug available.
vv_mount_debugfs() {
	mountpoint -q /sys/kernel/debug ||
		mount -t debugfs debugfs /sys/kernel/debug
}

# vv_mount_memcg: cgroup v2 at /sys/fs/cgroup with the memory controller
# enabled for child cgroups (L1 mounts no cgroup file system itself).
vv_mount_memcg() {
	local root=/sys/fs/cgroup
	mountpoint -q "$root" || mount -t cgroup2 cgroup2 "$root" || return 1
	grep -qw memory "$root/cgroup.subtree_control" ||
		echo +memory > "$root/cgroup.subtree_control"
}

# vv_kmsg_mark: put a marker line into the kernel log; vv_kmsg_since
# prints what the kernel logged after the latest marker.
vv_kmsg_n=0
vv_kmsg_mark() {
	vv_kmsg_n=$((vv_kmsg_n + 1))
	echo "vv-mark $$ $vv_kmsg_n" > /dev/kmsg
}
vv_kmsg_since() {
	dmesg | sed -n "/vv-mark $$ $vv_kmsg_n\$/,\$p" | tail -n +2
}
# vv_kmsg_logged PATTERN: the kernel logged a line with PATTERN since.
vv_kmsg_logged() {
	vv_kmsg_since | grep -q -- "$1"
}

# vv_open_says NAME EXPECTED: "hold_open --once NAME" (an mdev UUID or
# a vfio-pci BDF opened once like a VMM) prints EXPECTED: "open" or e.g.
# "refused VFIO_SET_IOMMU EPERM".
vv_open_says() {
	local got
	got=$("$VV_BIN/hold_open" --once "$1" 2>&1)
	vv_log "open $1: $got"
	[ "$got" = "$2" ]
}

# vv_dmar_ecap: the extended capability register of L1's (first) VT-d
# IOMMU, 0x<hex>: bit 3 interrupt remapping, bit 7 snoop control.
vv_dmar_ecap() {
	local f
	for f in /sys/class/iommu/*/intel-iommu/ecap; do
		[ -r "$f" ] && { echo "0x$(cat "$f")"; return 0; }
	done
	return 1
}

# --- suite entry point prologue / epilogue ---

# vv_setup_functions BDF...: start the TAP stream, load our modules (fresh:
# a module left loaded by an earlier test is that test's failure, reported
# here) and bind each BDF to the backend.  vv_teardown_functions undoes it.
vv_setup_functions() {
	local b
	vv_setup_bdfs=("$@")
	vv_setup_drvs=()
	for b in "$@"; do
		vv_setup_drvs+=("$(vv_driver_of "$b")")
	done
	vv_setup_loaded=0
	vv_tap_begin
	if grep -q '^vhost_vfio ' /proc/modules; then
		vv_not_ok "vhost_vfio is not loaded before the test (left over by another test)"
		vv_unload_modules
	fi
	# shellcheck disable=SC2119
	if vv_load_modules; then
		vv_setup_loaded=1
		vv_ok "vhost_vfio and vhost_vfio_virtio_pci load"
	else
		vv_not_ok "vhost_vfio and vhost_vfio_virtio_pci load"
	fi
	for b in "$@"; do
		vv_check "$b bound to vhost_vfio_virtio_pci" vv_bind "$b" vhost_vfio_virtio_pci
	done
}

# vv_teardown_functions [--no-leftover-check]: no mdev left behind (checked
# unless told otherwise), modules unloaded if we loaded them, functions
# back to their drivers, TAP plan.
vv_teardown_functions() {
	local i b check=1
	[ "${1:-}" = --no-leftover-check ] && check=0
	for b in "${vv_setup_bdfs[@]}"; do
		if [ $check = 1 ]; then
			# shellcheck disable=SC2016
			vv_check "no mdev left on $b" \
				bash -c '! ls -d /sys/bus/pci/devices/$1/*-*-*-*-* 2>/dev/null' _ "$b"
		fi
		vv_remove_mdevs "$b"
	done
	if [ "$vv_setup_loaded" = 1 ]; then
		vv_check "modules unload" vv_unload_modules
	fi
	for i in "${!vv_setup_bdfs[@]}"; do
		b=${vv_setup_bdfs[$i]}
		vv_check "$b given back to ${vv_setup_drvs[$i]:-no driver}" \
			vv_give_back "$b" "${vv_setup_drvs[$i]}"
	done
	vv_tap_end
}

# --- L1 <-> L2 traffic, shared by the passthrough baseline and the mdev ---

# vv_traffic_begin BDF L1_IP PORT: bring up the L1 peer on BDF's virtio_net
# interface and start a TCP sink for one transfer (pid in vv_sink_pid).
vv_traffic_begin() {
	local ifname
	vv_sink_pid=
	ifname=$(vv_netdev_of "$1") || return 1
	# replace: an earlier test in the same VM may have set it up already.
	ip addr replace "$2/24" dev "$ifname" && ip link set "$ifname" up || return 1
	rm -f "$VV_TMP/rx.bin"
	"$VV_BIN/tcp_sink" "$3" "$VV_TMP/rx.bin" 300 > "$VV_TMP/sink.txt" &
	vv_sink_pid=$!
}

# vv_l2_uevent_ready_lines SECONDS L1_IP L2_IP: the nested guest's part, to
# put in its test script after writing its uevent handler /tmp/ev.sh (which
# ends the listener with "kill \$PPID" once it saw what it waits for): run
# busybox uevent with it for at most SECONDS, bring eth0 up, ping L1, print
# L2-READY (the host acts on it), then wait for the listener.
vv_l2_uevent_ready_lines() {
	cat <<L2
timeout $1 uevent sh /tmp/ev.sh > /dev/console 2>&1 &
ev=\$!
ip link set eth0 up
ip addr add $3/24 dev eth0
ping -c 3 -w 30 $2 && echo L2-PING-OK
echo L2-READY
wait \$ev
L2
}

# vv_l2_send_lines L1_IP L2_IP PORT SIZE_KB: the nested guest's part, to put
# in its test script: ping L1, send SIZE_KB of random data, print its MD5
# (a watched transfer, see vv_l2_watched_send).
vv_l2_send_lines() {
	cat <<L2
ip link set eth0 up
ip addr add $2/24 dev eth0
ping -c 3 -w 30 $1 && echo L2-PING-OK
dd if=/dev/urandom of=/tmp/tx.bin bs=1024 count=$4 2>/dev/null
echo "L2-MD5=\$(md5sum /tmp/tx.bin | cut -d' ' -f1)"
L2
	vv_l2_watched_send "$1" "$3" "cat /tmp/tx.bin"
}

# vv_l2_rebind_lines L1_IP L2_IP: lines for the guest's script that reset
# and re-initialize its NIC (driver unbind and bind), ping L1 again
# (L2-REBIND-PING-OK), show any guest kernel warning and print L2-TAINT=.
vv_l2_rebind_lines() {
	cat <<L2
d=\$(basename \$(readlink -f /sys/class/net/eth0/device))
echo \$d > /sys/bus/virtio/drivers/virtio_net/unbind
echo \$d > /sys/bus/virtio/drivers/virtio_net/bind
ip link set eth0 up
ip addr add $2/24 dev eth0
ping -c 3 -w 30 $1 && echo L2-REBIND-PING-OK
dmesg | grep -A 12 -E 'WARNING|BUG' | head -40
echo "L2-TAINT=\$(cat /proc/sys/kernel/tainted)"
L2
}

# vv_traffic_intact L2_LOG: wait for the sink; succeed if what arrived has
# the MD5 the guest printed last.
vv_traffic_intact() {
	local tx rx
	[ -n "${vv_sink_pid:-}" ] || return 1
	wait "$vv_sink_pid"
	vv_log "$(cat "$VV_TMP/sink.txt")"
	tx=$(sed -n 's/^L2-MD5=\([0-9a-f]*\).*/\1/p' "$1" | tr -d '\r' | tail -1)
	rx=$(md5sum "$VV_TMP/rx.bin" | cut -d' ' -f1)
	vv_log "sent md5 $tx, received md5 $rx, $(stat -c %s "$VV_TMP/rx.bin") bytes"
	[ -n "$tx" ] && [ "$tx" = "$rx" ]
}

# --- a nested transfer that stops is recorded, not just timed out ---
#
# An intermittent stall of a nested guest's bulk transfer was seen once
# (Documentation/performance.rst).  Every L2 transfer of the suite and the
# benchmark is therefore watched: when the guest has received nothing for
# VV_STALL_SECONDS while its sender runs, it prints L2-STALL with its side
# (interrupt counts, device statistics, TCP sockets), L1 records the rest
# at once (vv_stall_record), the guest prints its counts again and gives up.

VV_STALL_SECONDS=${VV_STALL_SECONDS:-40}

# vv_l2_watched_send L1_IP PORT SOURCE: lines for the guest's script that
# send SOURCE's output to L1_IP:PORT with nc and watch it.  Prints
# L2-SEND-OK when nc succeeded, L2-STALL... when it stopped moving.
vv_l2_watched_send() {
	cat <<L2
$3 | nc -w 5 $1 $2 &
nc=\$!
(
	last=-1 still=0
	while sleep 5; do
		cur=\$(cat /sys/class/net/eth0/statistics/rx_packets)
		if [ "\$cur" = "\$last" ]; then still=\$((still + 5)); else still=0; fi
		last=\$cur
		[ \$still -ge $VV_STALL_SECONDS ] || continue
		echo L2-STALL
		cat /proc/interrupts
		for f in rx_packets tx_packets rx_dropped tx_dropped; do
			echo "L2-STAT \$f \$(cat /sys/class/net/eth0/statistics/\$f)"
		done
		cat /proc/net/tcp
		# L1 records its side meanwhile; then show what moved since.
		sleep 30
		echo L2-STALL-LATER
		cat /proc/interrupts
		echo "L2-STAT rx_packets \$(cat /sys/class/net/eth0/statistics/rx_packets)"
		kill \$nc
		break
	done
) &
watch=\$!
wait \$nc && echo L2-SEND-OK
kill \$watch 2> /dev/null
L2
}

# vv_nic_id BDF: the QEMU id (vfN) of the function at BDF.
vv_nic_id() {
	local bdfs ids i
	read -r -a bdfs <<< "$VV_NICS"
	read -r -a ids <<< "${VV_NIC_IDS:-}"
	for i in "${!bdfs[@]}"; do
		[ "${bdfs[$i]}" = "$1" ] && { echo "${ids[$i]:-}"; return 0; }
	done
	return 1
}

# vv_host_request LINE: ask the machine that plays the hardware
# (scripts/vm/host-request.sh) and print its answer.
vv_host_request() {
	local r
	[ -n "${VV_HOST_REQ:-}" ] || { echo "no host request channel"; return 1; }
	r=$VV_HOST_REQ/l1-$$-$RANDOM.req
	echo "$1" > "$r.new" && mv "$r.new" "$r" || return 1
	timeout 60 bash -c "until [ -f '$r.done' ]; do
		inotifywait -q -t 5 -e moved_to '$VV_HOST_REQ' > /dev/null; done"
	[ -f "$r.done" ] && cat "$r.done"
}

# vv_stall_record DIR MON BDF PEER UUID: L1's side of a stalled transfer
# of function BDF (UUID: its mdev, empty for passthrough) with PEER in L1:
# the mdev's counters, L1's interrupts, the device's view of BDF's queues
# and the guest's ring words (through L2's QEMU monitor MON), the peer's
# queues and ring words, the tail of L1's kernel log.
vv_stall_record() {
	local d=$1 mon=$2 id peer_id cmds=()
	id=$(vv_nic_id "$3") peer_id=$(vv_nic_id "$4")
	mkdir -p "$d"
	[ -n "$5" ] && cat "/sys/kernel/debug/vhost_vfio/$5/counters" > "$d/counters"
	cat /proc/interrupts > "$d/l1-interrupts"
	vv_host_request "virtio_status $id" > "$d/device.txt" 2>&1
	mapfile -t cmds < <("$VV_PROJECT/scripts/vm/ring-words.sh" "$d/device.txt")
	[ ${#cmds[@]} -gt 0 ] &&
		"$VV_PROJECT/scripts/vm/qmp.py" "$mon" "${cmds[@]}" > "$d/guest-rings.txt" 2>&1
	vv_host_request "virtio_rings $peer_id" > "$d/peer-device.txt" 2>&1
	dmesg | tail -n 40 > "$d/l1-dmesg-tail"
	[ -n "$5" ] && cat "/sys/kernel/debug/vhost_vfio/$5/counters" > "$d/counters-later"
	vv_log "stalled nested transfer recorded in $d"
}

# vv_run_l2_watched LOG INITRD TIMEOUT RECORD_DIR BDF PEER UUID
# QEMU_DEVICE_ARGS...: vv_run_l2 with L2's QEMU monitor on a socket; when
# the guest reports L2-STALL, vv_stall_record RECORD_DIR before L2 goes on.
vv_run_l2_watched() {
	local log=$1 initrd=$2 tmo=$3 rec=$4 bdf=$5 peer=$6 uuid=$7 mon l2
	shift 7
	mon=$VV_TMP/l2-mon-$$.sock
	rm -f "$mon" "$log"
	: > "$log"
	vv_l2_exit_watch
	vv_l2_qemu "file:$log" "$initrd" "$tmo" -qmp "unix:$mon,server=on,wait=off" "$@" &
	l2=$!
	# The console is written as L2 goes: wait for its verdict or its exit.
	while kill -0 "$l2" 2> /dev/null &&
	      ! grep -q -e '^L2-STALL' -e '^L2-TEST-EXIT' "$log"; do
		inotifywait -q -t 5 -e modify "$log" > /dev/null 2>&1
		[ $? = 1 ] && sleep 1	# no inotify: poll
	done
	grep -q '^L2-STALL' "$log" && vv_stall_record "$rec" "$mon" "$bdf" "$peer" "$uuid"
	wait "$l2"
	vv_l2_exit_report $?
	rm -f "$mon"
	grep -q '^L2-TEST-EXIT=0' "$log"
}

# --- boot firmware in a nested guest ---

# vv_wait_console LOG TIMEOUT PID PATTERN: wait until LOG (a guest's serial
# console, written as it runs) has a line matching the extended regexp
# PATTERN; fail when TIMEOUT seconds pass or process PID exits first.
vv_wait_console() {
	local log=$1 end=$((SECONDS + $2)) pid=$3 pat=$4
	until grep -a -q -E -- "$pat" "$log" 2> /dev/null; do
		if [ "$SECONDS" -ge "$end" ] || ! kill -0 "$pid" 2> /dev/null; then
			grep -a -q -E -- "$pat" "$log" 2> /dev/null
			return
		fi
		# Woken by the console's next line; the bound notices an exit.
		inotifywait -q -t 5 -e modify "$log" > /dev/null 2>&1
		[ $? = 1 ] && sleep 1	# no inotify: poll
	done
	# Found: the loop's own status is its body's last, not the match.
	return 0
}

# vv_wait_exit PID SECONDS: wait for process PID (not a child: polled) to
# end; fail when SECONDS pass first.
vv_wait_exit() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2> /dev/null; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# vv_l2_firmware LOG TIMEOUT QEMU_DEVICE_ARGS...: start a nested guest with
# no kernel, only SeaBIOS and the option ROMs of its devices (boot order as
# their bootindex says), its console (SeaBIOS's serial console, which QEMU
# enables with -nographic) in LOG; the QEMU pid is in vv_l2_pid.
vv_l2_firmware() {
	local log=$1 tmo=$2
	shift 2
	rm -f "$log"
	: > "$log"
	timeout --kill-after=5 "$tmo" qemu-system-x86_64 -enable-kvm -cpu host \
		-smp 1 -m 128M -nographic -vga none -monitor none -no-reboot \
		-serial "file:$log" -net none "$@" < /dev/null > /dev/null 2>&1 &
	vv_l2_pid=$!
}
