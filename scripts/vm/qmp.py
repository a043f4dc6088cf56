#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""qmp.py SOCKET HMP_COMMAND...: run human-monitor commands on a QEMU QMP
socket and print their output (e.g. "info registers -a" of a wedged L1).
qmp.py --json SOCKET QMP_COMMAND: run one QMP command (JSON), print the
answer, exit 1 if it is an error."""
import json
import socket
import sys


def main():
    raw = sys.argv[1] == "--json"
    args = sys.argv[2:] if raw else sys.argv[1:]
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(args[0])
    f = s.makefile("rw")

    def call(cmd):
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                return r

    f.readline()  # greeting
    call({"execute": "qmp_capabilities"})
    if raw:
        r = call(json.loads(args[1]))
        print(json.dumps(r))
        return 0 if "return" in r else 1
    for c in args[1:]:
        r = call({"execute": "human-monitor-command",
                  "arguments": {"command-line": c}})
        print(r.get("return", r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
