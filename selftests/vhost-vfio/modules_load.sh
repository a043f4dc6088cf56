#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The modules load and unload cleanly, twice, with a function bound: the
# backend registers an mdev parent on bind and removes it on unload, and the
# functions go back to virtio-pci afterwards.  Then the order of a bind,
# traced: a function virtio_net drove is reset by the backend before its
# mdev parent is registered (function 0, and function 4, whose two queue
# pairs make the backend negotiate during discovery, when present).
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ _ _ M _ <<< "$VV_NICS"
M=${M:-}
types=/sys/bus/pci/devices/$A/mdev_supported_types
T=/sys/kernel/tracing
probes=(status_write status_read register_parent)

bound_with_type() {
	vv_bind "$A" vhost_vfio_virtio_pci && test -d "$types/vhost_vfio_virtio_pci-net"
}

# driven_by_virtio_net BDF: bound to virtio-pci with virtio_net on top,
# which set DRIVER_OK (virtio status 0x4).
driven_by_virtio_net() {
	local st
	vv_bind "$1" virtio-pci || return 1
	st=$(cat /sys/bus/pci/devices/"$1"/virtio*/status 2> /dev/null)
	vv_log "$1 under virtio_net: virtio status $st"
	[ -n "$st" ] && (( st & 0x4 ))
}

# traced_handover BDF OUT: hand BDF from virtio-pci to the backend with
# kprobe events on the VF status register (vp_modern_set_status and
# vp_modern_get_status of virtio_pci_modern_dev, which both drivers use)
# and on mdev_register_parent; the trace goes to OUT, a marker between
# the unbind and the backend's probe.
traced_handover() {
	local bdf=$1 dev=/sys/bus/pci/devices/$1 p ok=0
	echo 0 > "$T/tracing_on" && echo > "$T/trace" || return 1
	# shellcheck disable=SC2016 # $retval is kprobe syntax
	{
		echo 'p:vvbind/status_write vp_modern_set_status pdev=+0(%di):x64 status=%si:u8'
		echo 'r:vvbind/status_read vp_modern_get_status status=$retval:u8'
		echo 'p:vvbind/register_parent mdev_register_parent'
	} >> "$T/kprobe_events" || return 1
	echo 1 > "$T/events/vvbind/enable" && echo 1 > "$T/tracing_on" &&
		echo "$bdf" > "$dev/driver/unbind" &&
		echo "vv: handover of $bdf" > "$T/trace_marker" &&
		echo vhost_vfio_virtio_pci > "$dev/driver_override" &&
		echo "$bdf" > /sys/bus/pci/drivers_probe || ok=1
	echo 0 > "$T/tracing_on"
	echo 0 > "$T/events/vvbind/enable"
	grep -v '^#' "$T/trace" > "$2"
	for p in "${probes[@]}"; do
		echo "-:vvbind/$p" >> "$T/kprobe_events" || ok=1
	done
	[ "$(vv_driver_of "$bdf")" = vhost_vfio_virtio_pci ] && return $ok
}

# reset_before_register TRACE: in a trace of traced_handover, every status
# write is to one function; the last one before the handover left a
# non-zero status (what the backend found); after it comes exactly one
# mdev_register_parent, and the last status write before that is a reset
# (0) that a status read saw completed (0) before the parent appeared.
reset_before_register() {
	awk '
	/status_write:/ {
		match($0, /pdev=0x[0-9a-f]+/); p = substr($0, RSTART + 5, RLENGTH - 5)
		if (pdev != "" && p != pdev) { print "# status writes to two devices"; bad = 1 }
		pdev = p
		match($0, /status=[0-9]+/); last = substr($0, RSTART + 7, RLENGTH - 7) + 0
		if (!handover) found = last
		writes++; done = 0
	}
	/status_read:/ { match($0, /status=[0-9]+/); if (substr($0, RSTART + 7, RLENGTH - 7) + 0 == 0) done = 1 }
	/vv: handover/ { handover = 1; writes = 0 }
	/register_parent:/ {
		regs++
		if (!handover) { print "# mdev parent registered before the handover"; bad = 1 }
		if (writes == 0 || last != 0 || !done) {
			print "# mdev parent registered after status write " last ", reset completed " done
			bad = 1
		}
	}
	END {
		print "# status left by virtio-pci: " found "; mdev parents registered: " regs + 0
		exit bad || regs != 1 || found == "" || found == 0
	}' "$1"
}

vv_tap_begin
vv_check "dependencies load (vfio, mdev, irqbypass, virtio_pci_modern_dev)" vv_load_deps
for round in 1 2; do
	vv_check "round $round: vhost_vfio and vhost_vfio_virtio_pci load" vv_load_modules
	vv_check "round $round: $A binds to vhost_vfio_virtio_pci and offers an mdev type" \
		bound_with_type
	vv_check "round $round: both modules unload" vv_unload_modules
	vv_check "round $round: $A has no driver and no mdev types after unload" \
		test ! -e "/sys/bus/pci/devices/$A/driver" -a ! -e "$types"
done

net_loaded=0
grep -q '^virtio_net ' /proc/modules && net_loaded=1
vv_check "virtio_net loads" modprobe virtio_net
vv_check "tracefs with kprobe events" test -w "$T/kprobe_events"
vv_check "vhost_vfio and vhost_vfio_virtio_pci load" vv_load_modules
for f in "$A" ${M:+"$M"}; do
	trace=$VV_TMP/bind-$f.trace
	vv_check "$f: driven by virtio_net (DRIVER_OK set)" driven_by_virtio_net "$f"
	vv_check "$f: handed to the backend with the bind traced" traced_handover "$f" "$trace"
	sed 's/^ */# /' "$trace"
	vv_check "$f: the VF was reset (status 0 read back) before its mdev parent was registered" \
		reset_before_register "$trace"
done
vv_check "both modules unload" vv_unload_modules
[ $net_loaded = 1 ] || modprobe -r virtio_net

for f in "$A" ${M:+"$M"}; do
	vv_bind "$f" virtio-pci > /dev/null || vv_log "could not give $f back to virtio-pci"
	echo > "/sys/bus/pci/devices/$f/driver_override"
done
vv_tap_end
