#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/vm/host-prepare.sh HOST: what `make demo` and `make bench` need
# before they boot host HOST (scripts/vm/hosts.sh): for debian13 its root
# (built once, about 5 minutes, cached), then the modules (-Werror) and the
# test binaries built for HOST's kernel, and the nested guest's kernel and
# initramfs.  Compiler output other than the BTF note is shown.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
host=${1:-debian12}
cd "$top"
if [ "$host" = debian13 ]; then
	scripts/vm/debian13-root.sh
fi
echo "$host: building modules and test tools"
if [ "$host" = debian12 ]; then
	make -s WERROR=1 2>&1 | grep -v 'Skipping BTF' || true
	make -s selftests > /dev/null
else
	scripts/vm/host-build.sh "$host" -s WERROR=1 modules 2>&1 | grep -v 'Skipping BTF' || true
	scripts/vm/host-build.sh "$host" -s selftests > /dev/null
fi
scripts/vm/l2-initramfs.sh --host "$host" > /dev/null
