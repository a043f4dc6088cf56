#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The network benchmark inside L1, in rounds: the same nested guest (L2),
# the same workload, over the same function B, given to L2 as
#
#   passthrough  vfio-pci,host=B
#   mdev         a vhost-vfio mdev of B, doorbells mapped (the default)
#   trapped      the same with map_doorbells=N (every kick trapped)
#   relay        the mdev with relay=Y: every ring through the host's
#                virtqueue relay (kicks trapped, interrupts through a host
#                thread): what a migratable device costs
#   vdpa         B on vp_vdpa, /dev/vhost-vdpa-N, QEMU's -netdev
#                type=vhost-vdpa with a virtio-net-pci (page-per-vq=on)
#                (only where vp_vdpa.ko was built for L1's kernel:
#                scripts/vm/vdpa-build.sh, the Debian 13 host)
#   userirq      the mdev with QEMU's x-no-kvm-msix=on: QEMU, not KVM,
#                takes every interrupt (only when asked for: the control
#                that shows what tcp_eventfd_reads counts)
#
# with function A in L1 as the peer.  VV_BENCH_ROUNDS rounds (default 5),
# the columns in alternating order (forward, then backward).  Each round
# boots L2 once per column; L2 stops before each phase of its workload
# (ping, TCP bulk, UDP 64 bytes, UDP 1400 bytes) until L1 has read its
# counters and says go on L2's second serial port, so every counter
# delta covers exactly one phase:
#
#   exits mmio io irqinj   L1 KVM's per-VM counters (debugfs) of L2's VM:
#                          all exits, MMIO exits, port I/O exits, injected
#                          interrupts
#   devirq                 interrupts of function B in L1 (its MSI-X
#                          vectors, each signals an eventfd: an irqfd)
#   qwake mwake vwake      voluntary context switches of L2's QEMU: its
#                          non-vCPU threads (user-space wakeups: main loop,
#                          workers), its main thread alone (the main loop,
#                          where vfio-pci's eventfd handlers run when an
#                          interrupt does not go to a KVM irqfd), and its
#                          vCPU thread (halts)
#   arx                    frames received by the peer A in L1
#   qcpu l1cpu             CPU time (ms) of L2's QEMU (all threads), and
#                          of all of L1 (non-idle)
#
# Between the TCP and the UDP phases a spin phase as long as the TCP one
# (L2's vCPU loops, no traffic) is the baseline of what QEMU and L1 do
# without the device (qwake: QEMU's timers).  Not an idle guest: on the
# Debian 13 host QEMU woke 1330 times over an idle phase of L2 and 11 over
# the mdev's transfer before it.
#
# Prints one table of medians with min and max over the rounds, and one of
# counters per MiB (per round trip for ping), medians; raw values in
# $VV_OUT/bench-net.txt.  Timings inform; the counters are what is
# deterministic.  Asserts nothing about time.
#
# Environment: VV_BENCH_ROUNDS (5), VV_BENCH_BULK_MB (16),
# VV_BENCH_UDP_SECONDS (5), VV_BENCH_COLUMNS (all that apply),
# VV_BENCH_RAW and VV_BENCH_TABLE (the raw values and the tables; default
# $VV_OUT/bench-net.txt and $VV_OUT/bench-table.txt).
set -u
# shellcheck disable=SC1091
. "$VV_PROJECT/selftests/vhost-vfio/lib.sh"
read -r A B _ <<< "$VV_NICS"
L1_IP=169.254.10.1
L2_IP=169.254.10.2
ROUNDS=${VV_BENCH_ROUNDS:-5}
BULK_MB=${VV_BENCH_BULK_MB:-16}
UDP_S=${VV_BENCH_UDP_SECONDS:-5}
VDPA_DIR=$VV_PROJECT/.vm-out/vdpa-$VV_HOST
out=${VV_BENCH_RAW:-$VV_OUT/bench-net.txt}
table=${VV_BENCH_TABLE:-$VV_OUT/bench-table.txt}
: > "$out"
P="/machine/peripheral-anon/device[0]/virtio-backend"
# The control queue cannot be shrunk by the guest (see l2_script): the vdpa
# column's guest device has none, so vhost-vdpa serves the data queues.
VDPA_NOCTRL=ctrl_vq=off,ctrl_rx=off,ctrl_vlan=off,ctrl_rx_extra=off,ctrl_mac_addr=off,guest_announce=off

vv_mount_debugfs
[ -n "${VV_BENCH_TRACE:-}" ] && { exec 9> "$VV_OUT/bench-net.trace"; BASH_XTRACEFD=9; set -x; }
vv_load_modules || exit 1
modprobe virtio_net
ifname=$(vv_netdev_of "$A")
ip addr add "$L1_IP/24" dev "$ifname" && ip link set "$ifname" up

columns=${VV_BENCH_COLUMNS:-passthrough mdev trapped relay vdpa}
if [[ " $columns " == *" vdpa "* ]]; then
	if [ "$(cat "$VDPA_DIR/kver" 2> /dev/null)" = "$VV_KVER" ] &&
	   modprobe -a vdpa vhost_vdpa && insmod "$VDPA_DIR/vp_vdpa.ko"; then
		echo "# bench: vDPA baseline: $(cat "$VDPA_DIR/source")"
	else
		echo "# bench: no vDPA on this host (vp_vdpa.ko for $VV_KVER: scripts/vm/vdpa-build.sh $VV_HOST)"
		columns=${columns/vdpa/}
	fi
fi
read -r -a cols <<< "$columns"

# The guest's workload.  vdpa: QEMU 10.0.13 offers every virtqueue with
# 1024 entries whatever rx_queue_size says, vp_vdpa takes at most 256, and
# vhost-vdpa starts at DRIVER_OK with the guest's sizes: L2 boots with its
# link down (vhost not started), shrinks its rings to 256 (virtio queue
# reset), and L1 raises the link, which starts vhost-vdpa.  The other
# columns see the function's own 256-entry queues.
l2_script() {
	[ "$1" = vdpa ] && echo "/vdpa-ringsize eth0 256 256"
	cat <<L2
stty -F /dev/ttyS1 raw -echo
phase() { echo "L2-PHASE \$1"; read go arg < /dev/ttyS1; }
phase up
ip link set eth0 up
ip addr add $L2_IP/24 dev eth0
ping -c 3 -w 60 $L1_IP > /dev/null
phase ping
echo "L2-PING \$(ping -c 20 -i 0.2 $L1_IP | sed -n 's/.*min\/avg\/max = //p')"
phase tcp
timeout 300 sh -c 'dd if=/dev/zero bs=1M count=$BULK_MB 2> /dev/null | nc -w 5 $L1_IP 5001' && echo L2-SEND-OK
phase spin
timeout \$arg sh -c 'while :; do :; done'
phase udp64
/udp_bench send $L1_IP 5002 $UDP_S 64
phase udp1400
/udp_bench send $L1_IP 5003 $UDP_S 1400
phase end
L2
}

# counters PID: one line of the counters for L2's QEMU PID (see above).
counters() {
	local pid=$1 kvm t v q=0 w=0 ns=0 irq mw
	kvm=$(ls -d /sys/kernel/debug/kvm/"$pid"-* 2> /dev/null | head -n 1)
	for t in /proc/"$pid"/task/*; do
		v=$(sed -n 's/^voluntary_ctxt_switches:\s*//p' "$t/status" 2> /dev/null)
		[ "${t##*/}" != "$pid" ] || mw=$v
		case "$(cat "$t/comm" 2> /dev/null)" in
		CPU*) w=$((w + ${v:-0}));;
		*) q=$((q + ${v:-0}));;
		esac
		read -r v _ < "$t/schedstat" 2> /dev/null && ns=$((ns + v))
	done
	# The function's vectors: 6.12 names the MSI-X domain after the BDF;
	# on 6.1 only the action names it (vfio-msix[N](BDF)), and the mdev's
	# actions name the mdev (vhost-vfio-msix[N](UUID), the caller's $uuid).
	irq=$(awk -v b="$B" -v u="${uuid:-}" '$0 ~ b || (u != "" && index($0, u)) {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts)
	echo "exits $(cat "$kvm/exits") mmio $(cat "$kvm/mmio_exits") io $(cat "$kvm/io_exits")" \
		"irqinj $(cat "$kvm/irq_injections") devirq $irq qwake $q mwake ${mw:-0} vwake $w" \
		"arx $(cat "/sys/class/net/$ifname/statistics/rx_packets")" \
		"qcpu $((ns / 1000000)) l1cpu $(awk '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) * 10 }' /proc/stat)"
}

# An interrupt that reaches L2 without QEMU never makes QEMU read its
# eventfd: KVM's irqfd consumes it.  One QEMU handles in its main loop
# (vfio-pci's own eventfd, while the guest masks the vector) costs one
# read() on it.  So for an mdev column, L1's ftrace records the eventfds
# QEMU gives the mdev's vectors (vhost_vfio_irq_set) and the read()s of
# QEMU's main thread; a marker starts each phase.
TRACING=/sys/kernel/tracing
READ_EVENT=$TRACING/events/syscalls/sys_enter_read
IRQ_EVENT=$TRACING/events/vhost_vfio/vhost_vfio_irq_set

# reads_trace_begin PID: record for QEMU PID (its main thread).
reads_trace_begin() {
	[ -d "$READ_EVENT" ] && [ -d "$IRQ_EVENT" ] || return 0
	echo 0 > "$TRACING/tracing_on"
	echo > "$TRACING/trace"
	echo "common_pid == $1" > "$READ_EVENT/filter"
	echo 1 > "$READ_EVENT/enable"
	echo 1 > "$IRQ_EVENT/enable"
	echo 1 > "$TRACING/tracing_on"
}

# reads_trace_end COLUMN ROUND UUID: stop recording; append "COLUMN ROUND
# tcp_eventfd_reads N", the reads of the vectors' eventfds in the TCP phase.
reads_trace_end() {
	local fds
	[ -d "$READ_EVENT" ] && [ -d "$IRQ_EVENT" ] || return 0
	echo 0 > "$READ_EVENT/enable"
	echo 0 > "$IRQ_EVENT/enable"
	echo 0 > "$READ_EVENT/filter"
	# The syscall event prints the fd in hex.
	fds=$(sed -n "s/.*vhost_vfio_irq_set: $3: MSI-X vector [0-9]* eventfd \([0-9][0-9]*\) .*/\1/p" \
		"$TRACING/trace" | sort -u | xargs -r printf '%x ')
	awk -v fds="$fds" -v c="$1" -v r="$2" '
		BEGIN { n = split(fds, f, " "); for (i = 1; i <= n; i++) want["sys_read(fd: " f[i] ","] = 1 }
		/vv-phase tcp$/ { on = 1 } /vv-phase spin$/ { on = 0 }
		on && match($0, /sys_read\(fd: [0-9a-f]+,/) && (substr($0, RSTART, RLENGTH) in want) { reads++ }
		END { print c, r, "tcp_eventfd_reads", reads + 0 }' "$TRACING/trace" >> "$out"
}

# wait_line LOG PID PATTERN: wait until L2's console LOG has a line
# matching PATTERN; fail if QEMU (PID) exits first.
wait_line() {
	until grep -a -q -E -- "$3" "$1" 2> /dev/null; do
		kill -0 "$2" 2> /dev/null || { grep -a -q -E -- "$3" "$1"; return; }
		inotifywait -q -t 5 -e modify "$1" > /dev/null 2>&1
	done
	return 0
}

# delta "A" "B": B - A, field by field, as name value pairs.
delta() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i < n; i += 2) printf "%s %d ", x[i], y[i + 1] - x[i + 1]
	}'
}

# run_column COLUMN ROUND: boot L2 on B as COLUMN, run the workload phase by
# phase, append "COLUMN ROUND metric value" and "COLUMN ROUND PHASE
# counters..." lines to $out.
run_column() {
	local col=$1 r=$2 d log pid dev=() uuid="" ph prev="" cur="" last="" m n l2 sinks
	local now tcp_start=0 tcp_s
	d=$(mktemp -d)
	cp "$VV_BIN/udp_bench" "$d/"
	l2_script "$col" > "$d/test.sh"
	chmod 0755 "$d/test.sh"
	printf 'test.sh\nudp_bench\n' > "$d/list"
	if [ "$col" = vdpa ]; then
		cp "$VDPA_DIR/vdpa-ringsize" "$d/"
		echo vdpa-ringsize >> "$d/list"
	fi
	(cd "$d" && cpio -o -H newc --quiet < list | gzip -1) > "$d/x.gz"
	cat "$VV_PROJECT/.vm-out/l2-initramfs-$VV_L2_KVER.cpio.gz" "$d/x.gz" > "$d/l2.gz"

	case $col in
	passthrough)
		vv_bind "$B" vfio-pci || return 1
		dev=(-device "vfio-pci,host=$B");;
	mdev|trapped|userirq|relay)
		[ "$col" = trapped ] && m=N || m=Y
		echo "$m" > /sys/module/vhost_vfio/parameters/map_doorbells
		[ "$col" = relay ] && m=Y || m=N
		echo "$m" > /sys/module/vhost_vfio/parameters/relay
		vv_bind "$B" vhost_vfio_virtio_pci || return 1
		uuid=$(cat /proc/sys/kernel/random/uuid)
		echo "$uuid" > "/sys/bus/pci/devices/$B/mdev_supported_types/vhost_vfio_virtio_pci-net/create" || return 1
		dev=(-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$uuid")
		[ "$col" != userirq ] || dev[1]+=",x-no-kvm-msix=on";;
	vdpa)
		vv_bind "$B" vp-vdpa || return 1
		vdpa dev add name vv-bench mgmtdev "pci/$B" || return 1
		n=$(basename /sys/bus/vdpa/devices/vv-bench/vhost-vdpa-*)
		dev=(-netdev "type=vhost-vdpa,vhostdev=/dev/$n,id=v0"
		     -device "virtio-net-pci,netdev=v0,page-per-vq=on,$VDPA_NOCTRL");;
	esac

	sinks=()
	"$VV_BIN/tcp_sink" 5001 /dev/null 900 > "$d/tcp" &
	sinks+=($!)
	"$VV_BIN/udp_bench" recv 5002 "$UDP_S" > "$d/udp64" &
	sinks+=($!)
	"$VV_BIN/udp_bench" recv 5003 "$UDP_S" > "$d/udp1400" &
	sinks+=($!)
	mkfifo "$d/ctl.in" "$d/ctl.out"
	cat "$d/ctl.out" > /dev/null &
	sinks+=($!)
	log=$VV_OUT/bench-net-$col-$r-l2.log
	rm -f "$d/mon"
	# vhost-vdpa pins guest memory against RLIMIT_MEMLOCK.
	ulimit -l unlimited
	# debug-threads: vCPU threads are named "CPU n/KVM", the others not.
	vv_l2_qemu "file:$log" "$d/l2.gz" 900 -S -serial "pipe:$d/ctl" -pidfile "$d/pid" \
		-name "bench-$col,debug-threads=on" \
		-qmp "unix:$d/mon,server=on,wait=off" "${dev[@]}" > "$d/qemu.txt" 2>&1 &
	l2=$!
	until [ -S "$d/mon" ] || ! kill -0 "$l2" 2> /dev/null; do sleep 0.2; done
	pid=$(cat "$d/pid")
	if [ "$col" = vdpa ]; then
		"$VV_PROJECT/scripts/vm/qmp.py" "$d/mon" "set_link v0 off" > /dev/null
	fi
	[ -z "$uuid" ] || reads_trace_begin "$pid"
	"$VV_PROJECT/scripts/vm/qmp.py" "$d/mon" "cont" > /dev/null
	for ph in up ping tcp spin udp64 udp1400 end; do
		wait_line "$log" "$l2" "^L2-PHASE $ph" || break
		[ ! -w "$TRACING/trace_marker" ] || echo "vv-phase $ph" > "$TRACING/trace_marker"
		if [ "$ph" = up ] && [ "$col" = vdpa ]; then
			"$VV_PROJECT/scripts/vm/qmp.py" "$d/mon" "set_link v0 on" > /dev/null
			"$VV_PROJECT/scripts/vm/qmp.py" "$d/mon" "info virtio-status $P" |
				grep -q 'vhost_started: *true' &&
				echo "$col $r vhost_started 1" >> "$out"
			# The notify pages QEMU mmapped from /dev/vhost-vdpa-N
			# (each becomes a KVM memory slot: no exit per kick).
			echo "$col $r doorbells_mapped $(grep -c '/dev/vhost-vdpa' "/proc/$pid/maps")" >> "$out"
		fi
		# doorbell_mapped while L2 holds the device; the kicks trapped
		# over the whole workload.
		if [ "$ph" = up ] && [ -n "$uuid" ]; then
			sed -n "s/^\(doorbell_mapped\): /$col $r \1 /p" \
				"/sys/kernel/debug/vhost_vfio/$uuid/counters" >> "$out"
		fi
		if [ "$ph" = end ] && [ -n "$uuid" ]; then
			sed -n "s/^\(bar2_notify_writes\): /$col $r \1 /p" \
				"/sys/kernel/debug/vhost_vfio/$uuid/counters" >> "$out"
		fi
		cur=$(counters "$pid")
		now=$EPOCHREALTIME
		[ -n "$prev" ] && echo "$col $r phase $last $(delta "$prev" "$cur")" >> "$out"
		prev=$cur last=$ph
		[ "$ph" != tcp ] || tcp_start=$now
		if [ "$ph" = spin ]; then
			# The baseline: L2's vCPU busy as long as the transfer
			# took (whole seconds, rounded up), with no traffic.
			tcp_s=$(awk -v a="$tcp_start" -v b="$now" 'BEGIN { printf "%d", b - a + 0.999 }')
			echo "$col $r tcp_seconds $tcp_s" >> "$out"
			echo "go $tcp_s" > "$d/ctl.in"
			continue
		fi
		echo go > "$d/ctl.in"
	done
	wait "$l2"
	[ -z "$uuid" ] || reads_trace_end "$col" "$r" "$uuid"
	# A receiver that got nothing would wait for its bound.
	for m in "${sinks[@]}"; do
		timeout 15 tail --pid="$m" -f /dev/null || kill "$m" 2> /dev/null
	done
	wait
	if ! grep -q '^L2-SEND-OK' "$log"; then
		echo "# bench: $col round $r: the bulk transfer did not complete ($log); QEMU said:"
		tail -n 5 "$d/qemu.txt" | sed "s/^/# bench: $col qemu: /"
	fi
	{
		echo "$col $r ping_ms $(sed -n 's/^L2-PING [0-9.]*\/\([0-9.]*\)\/.*/\1/p' "$log" | tr -d '\r')"
		echo "$col $r tcp_MBps $(sed -n 's/.*: \([0-9.]*\) MB\/s/\1/p' "$d/tcp")"
		echo "$col $r udp64_pps $(sed -n 's/.*s: \([0-9]*\) pps.*/\1/p' "$d/udp64")"
		echo "$col $r udp1400_pps $(sed -n 's/.*s: \([0-9]*\) pps.*/\1/p' "$d/udp1400")"
		echo "$col $r tcp_bytes $((BULK_MB * 1048576))"
		# What the guest sent (the counters are the sender's).
		sed -n 's/^udp_bench send: \([0-9]*\) packets of \([0-9]*\) bytes.*/\1 \2/p' "$log" |
			tr -d '\r' | awk -v c="$col" -v r="$r" '
			{ print c, r, (NR == 1 ? "udp64_bytes" : "udp1400_bytes"), $1 * $2 }'
	} >> "$out"
	grep -E 'vhost|vdpa|fail' "$d/qemu.txt" | sed "s/^/# bench: $col qemu: /" | sort -u | head -n 5

	case $col in
	mdev|trapped|userirq|relay)
		echo 1 > "/sys/bus/mdev/devices/$uuid/remove"
		echo Y > /sys/module/vhost_vfio/parameters/map_doorbells
		echo N > /sys/module/vhost_vfio/parameters/relay;;
	vdpa)
		vdpa dev del vv-bench;;
	esac
	rm -rf "$d"
}

for ((r = 1; r <= ROUNDS; r++)); do
	order=("${cols[@]}")
	if [ $((r % 2)) = 0 ]; then
		order=()
		for ((i = ${#cols[@]} - 1; i >= 0; i--)); do order+=("${cols[$i]}"); done
	fi
	echo "# bench: round $r of $ROUNDS: ${order[*]}"
	for c in "${order[@]}"; do
		run_column "$c" "$r" || echo "# bench: $c round $r: setup failed"
	done
done

"$VV_PROJECT/scripts/vm/bench-net-table.sh" "$out" "${cols[@]}" | tee "$table"
grep -q '^vp_vdpa ' /proc/modules && rmmod vp_vdpa
vv_unload_modules
