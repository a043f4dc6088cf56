#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Queue pairs provisioned below the VF's (mq_test): function 4 of VV_NICS
# has two queue pairs (scripts/check.sh starts L1 with --mq-nic 4:2); an
# mdev on it provisioned to one pair must keep BAR2 trapped and forward the
# guest's control queue kicks to the VF's control queue.
. "$(dirname "$0")/lib.sh"

set -u
read -r _ _ _ _ M _ <<< "$VV_NICS"
if [ -z "${M:-}" ]; then
	vv_tap_begin
	vv_not_ok "a fifth function is present (VV_NICS=$VV_NICS)"
	vv_tap_end
fi

vv_setup_functions "$M"
vv_mount_debugfs
VV_BDF=$M vv_run_ksft mq "$VV_BIN/mq_test"
vv_teardown_functions
