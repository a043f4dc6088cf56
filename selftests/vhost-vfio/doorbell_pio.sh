#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317 # helpers below run through vv_check
#
# Doorbells of a function whose first notify capability is port I/O: the
# sixth function of VV_NICS (scripts/check.sh: --nic-opts
# 5:modern-pio-notify=on, behind its own root port so its I/O BAR starts
# on a page boundary) lists a notify capability in its I/O BAR before the
# one in its memory BAR.  The backend must map the memory BAR's doorbell
# pages into the VMM, never the I/O port number taken for a physical
# address (that maps the RAM page of the same number, 0xc000 here): a
# store a VMM makes through BAR2 must not read back, and the isolation
# debugfs file must place the doorbell inside a memory BAR of the function.
. "$(dirname "$0")/lib.sh"

set -u
read -r _ _ _ _ _ D _ <<< "$VV_NICS"
MAGIC=0x5a17c0de
OFFSET=0x800
IORESOURCE_IO=0x100
IORESOURCE_MEM=0x200
if [ -z "${D:-}" ]; then
	vv_tap_begin
	vv_not_ok "a sixth function is present (VV_NICS=$VV_NICS)"
	vv_tap_end
fi
dev=/sys/bus/pci/devices/$D

# first_notify_bar BDF: the BAR of the first virtio notify capability in
# BDF's capability list (lspci lists them in chain order).
first_notify_bar() {
	lspci -vv -s "$1" | grep -A 1 'VirtIO: Notify' |
		sed -n 's/.*BAR=\([0-9]\).*/\1/p' | head -n 1
}

# bar_flags BDF BAR: the resource flags of BDF's BAR.
bar_flags() {
	sed -n "$(($2 + 1))p" "/sys/bus/pci/devices/$1/resource" | cut -d' ' -f3
}

# in_mem_bar BDF PA LEN: [PA, PA + LEN) lies in one memory BAR of BDF.
in_mem_bar() {
	local pa=$2 len=$3 i=0 start end flags
	while [ "$i" -lt 6 ] && read -r start end flags; do
		if ((flags & IORESOURCE_MEM && end > start &&
		     start <= pa && pa + len - 1 <= end)); then
			vv_log "[$pa, +$len) is in BAR $i [$start, $end]"
			return 0
		fi
		i=$((i + 1))
	done < "/sys/bus/pci/devices/$1/resource"
	vv_log "[$pa, +$len) is in no memory BAR of $1:"
	sed 's/^/# /' "/sys/bus/pci/devices/$1/resource" | head -n 6
	return 1
}

# pio_notify_first BDF: BDF's first notify capability is in an I/O BAR.
pio_notify_first() {
	local bar flags
	bar=$(first_notify_bar "$1")
	[ -n "$bar" ] && flags=$(bar_flags "$1" "$bar") || return 1
	vv_log "first notify capability of $1 in BAR $bar (flags $flags)"
	((flags & IORESOURCE_IO))
}

# doorbell_in_mem_bar BDF PA LEN: LEN is whole pages from the page PA, all
# inside a memory BAR of BDF.
doorbell_in_mem_bar() {
	[ -n "$2" ] && [ -n "$3" ] || return 1
	(($3 > 0 && $3 % 4096 == 0 && $2 % 4096 == 0)) || return 1
	in_mem_bar "$@"
}

vv_setup_functions "$D"
vv_mount_debugfs

vv_check "$D lists a port-I/O notify capability first" pio_notify_first "$D"

uuid=$(cat /proc/sys/kernel/random/uuid)
MDEV=/sys/bus/mdev/devices/$uuid
vv_check "mdev created on $D" \
	bash -c "echo $uuid > $dev/mdev_supported_types/vhost_vfio_virtio_pci-net/create"
mode=$(cat "$MDEV/doorbell_mode" 2> /dev/null)
vv_log "doorbell_mode: $mode"
vv_check "doorbell_mode is mapped" test "$mode" = mapped

probe=$("$VV_BIN/doorbell_probe" "$uuid" "$OFFSET" "$MAGIC" 2>&1)
vv_log "doorbell_probe: $probe"
read_back=$(echo "$probe" | sed -n 's/.* read \(0x[0-9a-f]*\)$/\1/p')
vv_check "a store through BAR2 at $OFFSET does not read back (a doorbell page, not RAM)" \
	test -n "$read_back" -a "$((read_back))" != "$((MAGIC))"

# What the backend mapped, seen while a VMM holds the device open.
iso=/sys/kernel/debug/vhost_vfio/$uuid/isolation
coproc HOLD { "$VV_BIN/hold_open" "$uuid" 2>&1; }
holder=$HOLD_PID hold_out=${HOLD[0]} hold_in=${HOLD[1]}
read -r -t 60 -u "$hold_out" opened
vv_log "holder said: $opened"
isolation=$(cat "$iso" 2>&1)
exec {hold_in}>&-
wait "$holder"
while read -r line; do vv_log "isolation: $line"; done <<< "$isolation"
pa=$(sed -n 's/^doorbell_pa: //p' <<< "$isolation")
len=$(sed -n 's/^doorbell_map_len: //p' <<< "$isolation")
vv_check "doorbell_pa ${pa:-?} (+${len:-?}): whole pages inside a memory BAR of $D" \
	doorbell_in_mem_bar "$D" "$pa" "$len"
vv_check "mdev removed" bash -c "echo 1 > $MDEV/remove"

# shellcheck disable=SC2119
vv_teardown_functions
