#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Randomized uAPI fuzzing of one vhost-vfio mdev (fuzz.c) with a fixed seed
# list, so a failure replays with "fuzz --uuid U --seed S --ops N".  The
# budget is VV_FUZZ_SECONDS (default 60) split over the seeds; by hand,
# VV_FUZZ_SEEDS picks another list.  Afterwards the device must still
# negotiate, the mdev must go away and the modules must unload; kernel
# splats fail the run through vm-run.
. "$(dirname "$0")/lib.sh"

set -u
read -r A _ <<< "$VV_NICS"
# shellcheck disable=SC2206 # a by-hand run may pick its own seeds
seeds=(${VV_FUZZ_SEEDS:-1 2 3 3735928559})
budget=${VV_FUZZ_SECONDS:-60}
per_seed=$(( (budget + ${#seeds[@]} - 1) / ${#seeds[@]} ))
type_dir=/sys/bus/pci/devices/$A/mdev_supported_types/vhost_vfio_virtio_pci-net
uuid=

vv_setup_functions "$A"

uuid=$(cat /proc/sys/kernel/random/uuid)
if echo "$uuid" > "$type_dir/create" 2>/dev/null; then
	vv_ok "mdev $uuid created"
else
	vv_not_ok "mdev $uuid created"
	uuid=
fi

if [ -n "$uuid" ]; then
	vv_log "fuzz budget ${budget} s: ${per_seed} s for each of ${seeds[*]}"
	for s in "${seeds[@]}"; do
		vv_run_ksft "fuzz[$s]" "$VV_BIN/fuzz" --uuid "$uuid" --seed "$s" \
			--seconds "$per_seed"
	done
	# One operation between two full checks: reset, FEATURES_OK.
	vv_run_ksft "negotiates after fuzzing" "$VV_BIN/fuzz" --uuid "$uuid" \
		--seed 0 --ops 1
	# shellcheck disable=SC2016
	vv_check "mdev $uuid removed" \
		bash -c 'echo 1 > "/sys/bus/mdev/devices/$1/remove" && ! [ -e "/sys/bus/mdev/devices/$1" ]' _ "$uuid"
fi

vv_teardown_functions --no-leftover-check
