#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boot the hypervisor-host VM (L1) under TCG with the Debian kernel we build
# against, run one command inside it, and bring back its output and status.
# Two host generations: Debian 12 (the build machine's own /) and Debian 13
# (the root of scripts/vm/debian13-root.sh); see scripts/vm/hosts.sh.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/vm-run.sh [options] [--] COMMAND...

Boots L1: q35 + emulated intel-iommu, the host's root file system as a
read-only 9p root with a tmpfs overlay (the build machine's / for the Debian
12 host; for Debian 13 its root, with the project tree shared at the same
path), and virtio-net-pci functions (disable-legacy=on, iommu_platform=on)
on one QEMU hub at 0000:00:10.0, 0000:00:11.0, ...
COMMAND runs as root in L1 with the project as working directory; the
environment has VV_NICS (the functions' BDFs, in order), VV_NIC_IDS (their
QEMU device ids, vf0 vf1 ...), VV_OUT (a writable directory shared with the
build host), VV_PROJECT, VV_HOST, VV_KVER (L1's kernel), VV_KO_DIR and
VV_BIN (the modules and test binaries built for L1's kernel), VV_L2_KVER
and VV_L2_KERNEL (the nested guests' kernel) and, when inotifywait is
installed, VV_HOST_REQ: a directory where L1 asks the host to act on the
functions (scripts/vm/host-request.sh, e.g. pull a function's cable).

options:
  --host NAME         L1's generation: debian12 (default; Linux 6.1, QEMU
                      7.2, modules built in the tree) or debian13 (Linux
                      6.12, QEMU 10, modules built in .vm-out/build-debian13
                      by scripts/vm/host-build.sh); env VV_HOST
  --l2 NAME           the nested guests' kernel, that of host NAME (default:
                      L1's own), e.g. --host debian13 --l2 debian12 for a
                      6.1 guest on the 6.12 host; env VV_L2
  --nics N            number of virtio-net functions (default 2)
  --nic-opts I:OPTS   extra -device properties for function I (0-based),
                      e.g. --nic-opts 0:mq=on,vectors=6 --nic-opts 1:packed=on
  --mq-nic I:PAIRS    function I (0-based) gets PAIRS queue pairs (mq=on):
                      its backend is then a private tap with PAIRS queues
                      instead of the hub (no traffic reaches the others);
                      without /dev/net/tun it stays single-queue on the hub
  --rp-nic I          function I (0-based) sits behind its own pcie-root-port
                      (id rpI, in function I's slot on bus 0) instead of on
                      the root bus; the root ports' secondary buses are
                      numbered 1, 2, ... in function order, so function I
                      is 0000:0B:00.0 with B = 1 + the number of --rp-nic
                      functions before it (VV_NICS has that BDF)
  --iommu-opts OPTS   the intel-iommu properties (default
                      intremap=on,caching-mode=on,device-iotlb=on,snoop-control=on),
                      e.g. intremap=off,caching-mode=on,snoop-control=on for
                      an IOMMU without interrupt remapping
  --mem SIZE          L1 memory in GiB, e.g. 4G (the default)
  --huge1g N          reserve N 1 GiB hugetlb pages at L1 boot, on top of
                      --mem (datapath_test's hugetlb_1g case needs one)
  --timeout SECONDS   wall-clock bound for the whole VM run (default 900)
  --name NAME         results go to .vm-out/NAME (default: run)
  --quiet             do not echo the L1 console (it is still logged)

L1 is emulated by the QEMU 10 that scripts/vm/outer-qemu.sh unpacks (the
system QEMU 7.2 if it has not: its multi-threaded TCG can wedge L1 on
kernel text patching, and a warning says so).

Environment: VV_QEMU names another emulator; VV_TCG_THREAD=single runs
L1's two vCPUs on one TCG thread (default multi); VV_L1_APPEND adds L1
kernel parameters (page_poison=1 to catch writes to freed pages, say).

The run fails (exit 1) if COMMAND fails, if the VM does not report an exit
status in time, or if the L1 kernel log shows a splat (BUG, WARNING, Oops,
general protection fault, scheduling while atomic, lockdep, refcount_t,
hung task, panic).  Results: .vm-out/NAME/{console.log,dmesg.txt,rc}.
USAGE
}

top=$(cd "$(dirname "$0")/.." && pwd)
nics=2 mem=4G huge1g=0 timeout=900 name=run quiet=0 tcg_thread=${VV_TCG_THREAD:-multi}
host=${VV_HOST:-debian12} l2=${VV_L2:-}
iommu_opts=intremap=on,caching-mode=on,device-iotlb=on,snoop-control=on
declare -A nic_opts=() mq_pairs=() rp_nic=()
while [ $# -gt 0 ]; do
	case "$1" in
	--nics) nics=$2; shift 2;;
	--nic-opts) nic_opts[${2%%:*}]=${2#*:}; shift 2;;
	--mq-nic) mq_pairs[${2%%:*}]=${2#*:}; shift 2;;
	--rp-nic) rp_nic[$2]=1; shift 2;;
	--iommu-opts) iommu_opts=$2; shift 2;;
	--mem) mem=$2; shift 2;;
	--huge1g) huge1g=$2; shift 2;;
	--timeout) timeout=$2; shift 2;;
	--name) name=$2; shift 2;;
	--quiet) quiet=1; shift;;
	--host) host=$2; shift 2;;
	--l2) l2=$2; shift 2;;
	-h|--help) usage; exit 0;;
	--) shift; break;;
	-*) echo "vm-run: unknown option $1" >&2; usage >&2; exit 2;;
	*) break;;
	esac
done
[ $# -gt 0 ] || { usage >&2; exit 2; }

vv_top=$top
# shellcheck source=scripts/vm/hosts.sh
. "$top/scripts/vm/hosts.sh"
l2=${l2:-$host}
# The nested guests' kernel and initramfs (both in .vm-out, where L1 of
# either host sees them).
vv_host "$l2" || exit 2
l2_kver=$vv_host_kver
"$top/scripts/vm/l2-initramfs.sh" --host "$l2" > /dev/null
vv_host "$host" || exit 2
kver=$vv_host_kver kernel=$vv_host_kernel root=$vv_host_root build=$vv_host_build

out=$top/.vm-out/$name
rm -rf "$out"
mkdir -p "$out"
initrd=$top/.vm-out/l1-initramfs-$kver.cpio.gz
if [ ! -f "$initrd" ] || [ "$initrd" -ot "$top/scripts/vm/l1-init" ] ||
   [ "$initrd" -ot "$kernel" ]; then
	"$top/scripts/vm/mkinitramfs.sh" --root "$root" "$kver" "$initrd" \
		"$top/scripts/vm/l1-init" virtio_pci 9pnet_virtio 9p overlay
fi
# A root other than the build machine's does not hold the project: it is
# shared on its own and laid at the same path (scripts/vm/l1-init).
share_args=()
if [ "$root" != / ]; then
	share_args=(-virtfs "local,path=$top,mount_tag=project,security_model=none,readonly=on,multidevs=remap")
fi

bdfs="" ids=""
nic_args=()
rp_bus=0
for ((i = 0; i < nics; i++)); do
	slot=$((0x10 + i))
	opts="disable-legacy=on,iommu_platform=on,ats=on"
	opts="$opts,mac=52:54:00:00:10:$(printf '%02x' $i)"
	if [ -n "${rp_nic[$i]:-}" ]; then
		# The firmware numbers buses depth first in slot order, and the
		# root ports are the only bridges: the next free bus is this
		# port's secondary bus.
		rp_bus=$((rp_bus + 1))
		nic_args+=(-device "pcie-root-port,id=rp$i,chassis=$((i + 1)),addr=$(printf '0x%02x' $slot)")
		bdfs="$bdfs $(printf '0000:%02x:00.0' $rp_bus)"
		opts="$opts,bus=rp$i,addr=0x00"
	else
		bdfs="$bdfs $(printf '0000:00:%02x.0' $slot)"
		opts="$opts,addr=$(printf '0x%02x' $slot)"
	fi
	[ -n "${nic_opts[$i]:-}" ] && opts="$opts,${nic_opts[$i]}"
	netdev="hubport,id=n$i,hubid=0"
	q=${mq_pairs[$i]:-}
	if [ -n "$q" ]; then
		tap=vv$$t$i
		if ip tuntap add "$tap" mode tap multi_queue 2>/dev/null &&
		   ip tuntap del "$tap" mode tap multi_queue 2>/dev/null; then
			netdev="tap,id=n$i,ifname=$tap,script=no,downscript=no,vhost=off,queues=$q"
			opts="$opts,mq=on,vectors=$((2 * q + 2))"
		else
			echo "vm-run: no multi-queue tap here (/dev/net/tun?): function $i stays single-queue" >&2
		fi
	fi
	nic_args+=(-netdev "$netdev" -device "virtio-net-pci,id=vf$i,netdev=n$i,$opts")
	ids="$ids vf$i"
done

# Requests from L1 tests to the machine playing the hardware (link state,
# scripts/vm/host-request.sh), over QMP; needs inotifywait.
qmpdir=$(mktemp -d)
mkdir -p "$out/host-req"

{
	echo "export VV_NICS='${bdfs# }'"
	echo "export VV_OUT='$out'"
	echo "export VV_PROJECT='$top'"
	echo "export VV_HOST='$host'"
	echo "export VV_KVER='$kver'"
	echo "export VV_KO_DIR='$build/drivers/vhost-vfio'"
	echo "export VV_BIN='$build/selftests/vhost-vfio/bin'"
	echo "export VV_L2_KVER='$l2_kver'"
	echo "export VV_L2_KERNEL='$top/.vm-out/l2-vmlinuz-$l2_kver'"
	echo "export VV_NIC_IDS='${ids# }'"
	command -v inotifywait > /dev/null && echo "export VV_HOST_REQ='$out/host-req'"
} > "$out/env"
printf '%q ' "$@" > "$out/cmd.sh"
echo >> "$out/cmd.sh"

append="console=ttyS0 panic=-1 intel_iommu=on iommu=pt no_timer_check softlockup_all_cpu_backtrace=1"
# A 1 GiB page cannot be had once L1 runs: reserve them at boot, on top.
if [ "$huge1g" -gt 0 ]; then
	append="$append hugepagesz=1G hugepages=$huge1g"
	mem=$(( ${mem%G} + huge1g ))G
fi
# VV_L1_APPEND: more L1 kernel parameters, for a hunt (page_poison=1, say).
append="$append ${VV_L1_APPEND:-}"
append="$append loglevel=5 vv.stage2=$top/scripts/vm/l1-stage2 vv.out=$out"
[ "$root" != / ] && append="$append vv.top=$top"

qemu_pid="" req_pid=""
# Runs under set -e at the end: a process that is already gone (the request
# server exits when its inotifywait is killed) must not change the status.
cleanup() {
	[ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null || true
	if [ -n "$req_pid" ]; then
		pkill -P "$req_pid" 2>/dev/null || true
		kill "$req_pid" 2>/dev/null || true
	fi
	rm -rf "$qmpdir"
}
trap cleanup EXIT INT TERM

# The emulator: QEMU 10 from bookworm-backports, with its own firmware and
# modules first (the system's firmware, seabios and iPXE, after them).
qemu=${VV_QEMU:-} qemu_dirs=()
if [ -z "$qemu" ] && outer=$("$top/scripts/vm/outer-qemu.sh" --dir); then
	qemu=$outer/usr/bin/qemu-system-x86_64
	qemu_dirs=(-L "$outer/usr/share/qemu" -L /usr/share/qemu)
	export QEMU_MODULE_DIR=$outer/usr/lib/x86_64-linux-gnu/qemu
elif [ -z "$qemu" ]; then
	qemu="qemu-system-x86_64"
	echo "vm-run: WARNING: emulating L1 with the system QEMU, whose multi-threaded TCG can wedge L1 (run scripts/vm/outer-qemu.sh)" >&2
fi

l2_note=
[ "$l2_kver" = "$kver" ] || l2_note=", L2 $l2_kver"
echo "vm-run: booting L1 ($host, $kver$l2_note, $nics functions) for: $*" >&2
set +e
timeout --kill-after=10 "$timeout" "$qemu" "${qemu_dirs[@]}" \
	-M q35,kernel-irqchip=split -accel "tcg,thread=$tcg_thread" -cpu max -smp 2 -m "$mem" \
	-display none -vga none -monitor none -serial stdio -no-reboot \
	-qmp "unix:$qmpdir/qmp.sock,server=on,wait=off" \
	-device "intel-iommu,$iommu_opts" \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-virtfs "local,path=$root,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	"${share_args[@]}" \
	-virtfs local,path="$out",mount_tag=results,security_model=none,multidevs=remap \
	"${nic_args[@]}" < /dev/null 2>&1 > >(tee "$out/console.log" |
		if [ "$quiet" = 1 ]; then cat > /dev/null; else cat; fi) &
qemu_pid=$!
if command -v inotifywait > /dev/null; then
	"$top/scripts/vm/host-request.sh" "$out/host-req" "$qmpdir/qmp.sock" &
	req_pid=$!
fi
# A wedged L1 never reports a status: stop it a minute after its first soft
# lockup report (time for the other CPUs' backtraces), or when its heartbeat
# (l1-stage2) is 3 minutes old, instead of waiting for the timeout.  Where
# the vCPUs were goes to wedge-registers.txt, the reason to "wedged".
wedged() {
	echo "$1" > "$out/wedged"
	echo "vm-run: L1 is wedged: $1; stopping it (see $out/)" >&2
	"$top/scripts/vm/qmp.py" "$qmpdir/qmp.sock" "info registers -a" \
		> "$out/wedge-registers.txt" 2>&1
	kill "$qemu_pid" 2>/dev/null
}
(
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if grep -a -q -E 'BUG: soft lockup|Kernel panic' "$out/console.log" 2>/dev/null; then
			sleep 60 < /dev/null > /dev/null 2>&1
			wedged "soft lockup or panic reported"
			break
		fi
		if [ -f "$out/heartbeat" ] &&
		   [ $(($(date +%s) - $(stat -c %Y "$out/heartbeat"))) -gt 180 ]; then
			wedged "no heartbeat for 3 minutes"
			break
		fi
		sleep 5 < /dev/null > /dev/null 2>&1
	done
) &
watch_pid=$!
wait $qemu_pid
qemu_rc=$?
qemu_pid=""
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
set -e
sleep 0.2

fail=0
if [ ! -f "$out/rc" ]; then
	echo "vm-run: FAIL: no exit status from L1 (qemu rc $qemu_rc; timeout ${timeout}s?)" >&2
	fail=1
	rc=124
else
	rc=$(cat "$out/rc")
fi
log=$out/dmesg.txt
[ -f "$log" ] || log=$out/console.log
if "$top/scripts/vm/splat-check.sh" "$log"; then :; else
	echo "vm-run: FAIL: kernel splat in L1 log ($log)" >&2
	fail=1
fi
[ "$rc" = 0 ] || { echo "vm-run: command exited $rc" >&2; fail=1; }
exit $fail
