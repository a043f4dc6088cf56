#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Parse every Documentation/*.rst with docutils; any warning is an error.
set -u
rc=0
for f in "$(dirname "$0")"/../Documentation/*.rst; do
	/usr/bin/python3 - "$f" <<'PY' || rc=1
import sys
import docutils.core
import docutils.utils
path = sys.argv[1]
try:
    docutils.core.publish_doctree(open(path).read(), source_path=path,
                                  settings_overrides={"report_level": 2,
                                                      "halt_level": 2})
except docutils.utils.SystemMessage as e:
    print(f"{e}")
    sys.exit(1)
PY
done
exit $rc
