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

serve() {
	local req=$1 line id state
	read -r line < "$dir/$req" || line=
	if [[ $line =~ ^set_link\ (vf[0-9]+)\ (on|off)$ ]]; then
		id=${BASH_REMATCH[1]}
		state=$([ "${BASH_REMATCH[2]}" = on ] && echo true || echo false)
		qmp "{\"execute\": \"set_link\", \"arguments\": {\"name\": \"$id\", \"up\": $state}}" \
			> "$dir/$req.tmp" 2>&1
	elif [[ $line =~ ^virtio_status\ (vf[0-9]+)$ ]]; then
		virtio_status "/machine/peripheral/${BASH_REMATCH[1]}/virtio-backend" \
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
