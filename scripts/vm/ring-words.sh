#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# ring-words.sh STATUS: the monitor commands (HMP xp) that read each
# queue's ring words out of guest memory, from STATUS, the output of
# "info virtio-queue-status" for the queues of a device (ring addresses
# and sizes).  Per queue, in this order: avail flags and idx, used_event,
# used flags and idx, avail_event.  Which memory the addresses name is the
# caller's business: L2's guest-physical memory through L2's QEMU monitor,
# or L1's physical memory through L1's for a function L1 maps 1:1.
set -u
q=-1 num=0 avail=0
tr -d '\r' < "$1" | while read -r key val _; do
	case $key in
	queue_index:) q=$val num=0 avail=0;;
	num:) num=$val;;
	avail:) avail=$val;;
	used:)
		[ "$q" -ge 0 ] && [ $((avail)) != 0 ] && [ $((val)) != 0 ] || continue
		printf 'xp /2hx 0x%x\nxp /1hx 0x%x\n' $((avail)) $((avail + 4 + 2 * num))
		printf 'xp /2hx 0x%x\nxp /1hx 0x%x\n' $((val)) $((val + 4 + 8 * num))
		;;
	esac
done
