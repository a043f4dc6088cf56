# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The L1 shapes of the test runs, shared by scripts/check.sh (make check)
# and scripts/run-one.sh (make check T=...).  Source it; it sets arrays of
# scripts/vm-run.sh options.
#
# vv_suite_vm: the suite's L1.  Functions 0-5: 2 has a packed ring; 3 has
# no ACCESS_PLATFORM; 4 has 2 queue pairs (mq.sh); 5 sits behind its own
# root port with FLR and a port-I/O notify capability first
# (doorbell_pio.sh, datapath_test's FLR cases).  One 1 GiB hugetlb page is
# reserved at boot for datapath_test's hugetlb_1g case.
# shellcheck disable=SC2034 # used by the scripts that source this
vv_suite_vm=(--timeout 2400 --nics 6 --huge1g 1
	--nic-opts 2:packed=on --nic-opts 3:iommu_platform=off
	--mq-nic 4:2 --rp-nic 5 --nic-opts 5:modern-pio-notify=on)

# vv_extra_iommu TEST: the emulated IOMMU properties of a test that needs an
# L1 of its own (TEST_PROGS_EXTRA), functions 0 and 1 only.
vv_extra_iommu() {
	case $1 in
	isolation_intremap.sh) echo intremap=off,caching-mode=on,snoop-control=on;;
	isolation_nosnoop.sh) echo intremap=on,caching-mode=on,snoop-control=off;;
	*) return 1;;
	esac
}
