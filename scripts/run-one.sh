#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/run-one.sh TEST: one test of the suite in its own host VM (L1),
# what `make check T=TEST` runs.  TEST is
#
#   SCRIPT.sh         a shell test of selftests/vhost-vfio (its TAP stream)
#   BINARY:CASE[,..]  one case (or a few) of a C test binary, by its name,
#                     FIXTURE.NAME or FIXTURE.VARIANT.NAME
#                     ("selftests/vhost-vfio/bin/BINARY -l" lists them)
#
# A case runs inside the shell test that runs its binary, with the
# environment that test gives it: the modules loaded, the functions bound,
# debugfs mounted; the binary creates its mdevs.  The test's other binaries
# run no case (VV_CASE, lib/vmm_test.h), its own shell checks still run.
# The VM has the shape scripts/check.sh gives the test: the suite's six
# functions, or for a test of TEST_PROGS_EXTRA its own small L1.  The
# modules, the selftests and the nested guest's initramfs are built first
# (incrementally).  HOST=debian13 runs it on the Debian 13 host.  Results
# and logs: .vm-out/one-NAME/.  Exit status: the test's.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
st=selftests/vhost-vfio
host=${HOST:-${VV_HOST:-debian12}}

usage() {
	echo "usage: $0 SCRIPT.sh | BINARY:CASE[,CASE...]   (HOST=debian13 for that host)" >&2
	exit 2
}
if [ $# != 1 ] || [ -z "$1" ]; then
	usage
fi
spec=$1 case=
case $spec in
*.sh)
	script=$spec
	;;
*:*)
	bin=${spec%%:*}
	case=$spec
	# The shell test that runs the binary.
	script=$(grep -l -E "(VV_BIN|bin)/$bin\"" "$st"/*.sh | head -n 1)
	[ -n "$script" ] || { echo "no shell test of $st runs $bin" >&2; exit 2; }
	script=$(basename "$script")
	grep -q 'vmm_test.h' "$st/$bin.c" ||
		{ echo "$bin is not a kselftest harness test: run its script, $script" >&2; exit 2; }
	;;
*)
	usage
	;;
esac
[ -x "$st/$script" ] || { echo "no test $st/$script" >&2; exit 2; }

echo "== build ($host)"
if [ "$host" = debian12 ]; then
	make -s modules && make -s selftests || exit 1
else
	scripts/vm/host-build.sh "$host" -s modules selftests || exit 1
fi
if [ -n "$case" ] && [ "$host" = debian12 ]; then
	"$st/bin/$bin" -l | grep -q -E "(^|\.)${case#*:}$" ||
		echo "# warning: ${case#*:} is not among the cases \"$st/bin/$bin -l\" lists" >&2
fi

# The VM shapes of scripts/check.sh (scripts/vm/suite-shape.sh).
name=one-${script%.sh}
# shellcheck source=scripts/vm/suite-shape.sh
. "$top/scripts/vm/suite-shape.sh"
if opts=$(vv_extra_iommu "$script"); then
	vm=(--timeout 600 --nics 2 --iommu-opts "$opts")
else
	vm=("${vv_suite_vm[@]}")
fi
echo "== $spec in L1 ($host), results in .vm-out/$name/"
scripts/vm-run.sh --quiet --host "$host" --name "$name" "${vm[@]}" -- \
	env VV_CASE="$case" "$st/run_suite.sh" "$script"
rc=$?
grep -a -E '^(ok|not ok) ' ".vm-out/$name/console.log" | sed 's/^/  /' | tail -n 40
grep -a '^suite: ' ".vm-out/$name/console.log" | tail -n 1
exit $rc
