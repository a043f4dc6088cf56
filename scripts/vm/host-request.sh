#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# host-request.sh DIR QMP_SOCKET: serve L1's requests to the machine that
# plays the hardware.  A test in L1 writes one request per file into DIR
# (the results share); each is answered in FILE.done.  Only what a test
# needs is understood:
#   set_link ID on|off   link state of virtio-net function ID (vfN), as a
#                        cable pull would change it: the function raises a
#                        config-change interrupt.
#   virtio_status ID     the device's own view of function ID: status and,
#                        per queue, the indexes it has seen and signalled
#                        and the guest's avail/used indexes (diagnostics
#                        of a stalled queue; HMP info virtio-*)
#   virtio_rings ID      virtio_status, plus each queue's avail/used index
#                        and event words read from L1's memory: only for a
#                        function L1 drives with an identity IOMMU mapping
#                        (iommu=pt), where the ring addresses are L1's
#                        physical addresses
# Event driven (inotify on DIR), so L1 never waits for a polling period.
set -u
dir=$1 sock=$2

qmp() {
	"$(dirname "$0")/qmp.py" --json "$sock" "$1"
}

virtio_status() {
	local path=$1 q cmds

	cmds=("info virtio-status $path")
	for q in 0 1 2 3 4 5; do
		cmds+=("info virtio-queue-status $path $q"
		       "info virtio-queue-element $path $q")
	done
	"$(dirname "$0")/qmp.py" "$sock" "${cmds[@]}"
}

virtio_rings() {
	local st cmds=()

	st=$(mktemp)
	virtio_status "$1" > "$st"
	cat "$st"
	mapfile -t cmds < <("$(dirname "$0")/ring-words.sh" "$st")
	rm -f "$st"
	[ ${#cmds[@]} -gt 0 ] || return 0
	echo "ring words (avail flags idx, used_event, used flags idx, avail_event):"
	"$(dirname "$0")/qmp.py" "$sock" "${cmds[@]}"
}

serve() {
	local req=$1 line id state
	read -r line < "$dir/$req" || line=
	if [[ $line =~ ^set_link\ (vf[0-9]+)\ (on|off)$ ]]; then
		id=${BASH_REMATCH[1]}
		state=$([ "${BASH_REMATCH[2]}" = on ] && echo true || echo false)
		qmp "{\"execute\": \"set_link\", \"arguments\": {\"name\": \"$id\", \"up\": $state}}" \
			> "$dir/$req.tmp" 2>&1
	elif [[ $line =~ ^virtio_(status|rings)\ (vf[0-9]+)$ ]]; then
		"virtio_${BASH_REMATCH[1]}" \
			"/machine/peripheral/${BASH_REMATCH[2]}/virtio-backend" \
			> "$dir/$req.tmp" 2>&1
	else
		echo "unknown request: $line" > "$dir/$req.tmp"
	fi
	mv "$dir/$req.tmp" "$dir/$req.done"
}

inotifywait -m -q -e close_write -e moved_to --format '%f' "$dir" |
while read -r req; do
	case $req in
	*.req) serve "$req";;
	esac
done
