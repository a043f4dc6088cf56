#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""qmp.py SOCKET HMP_COMMAND...: run human-monitor commands on a QEMU QMP
socket and print their output (e.g. "info registers -a" of a wedged L1).
qmp.py --json SOCKET QMP_COMMAND...: run QMP commands (JSON) in order,
print each answer, exit 1 at the first error.
  --until EVENT[:KEY=V1,V2] then waits for the event EVENT (whose data's
  KEY is one of the values), prints it and exits 0; --timeout SECONDS
  bounds the wait (default 30): exit 2 when it passes."""
import json
import socket
import sys


def main():
    args = sys.argv[1:]
    until, timeout = None, 30.0
    if "--until" in args:
        i = args.index("--until")
        until = args[i + 1]
        del args[i:i + 2]
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    raw = args[0] == "--json"
    if raw:
        args = args[1:]
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
            # An event that came first: it may be the one waited for.
            if until and matches(r):
                pending.append(r)

    def matches(r):
        name, _, cond = until.partition(":")
        if r.get("event") != name:
            return False
        if not cond:
            return True
        key, _, values = cond.partition("=")
        return str(r.get("data", {}).get(key)) in values.split(",")

    pending = []
    f.readline()  # greeting
    call({"execute": "qmp_capabilities"})
    if not raw:
        for c in args[1:]:
            r = call({"execute": "human-monitor-command",
                      "arguments": {"command-line": c}})
            print(r.get("return", r))
        return 0
    for c in args[1:]:
        r = call(json.loads(c))
        print(json.dumps(r))
        if "return" not in r:
            return 1
    if not until:
        return 0
    s.settimeout(timeout)
    try:
        while not pending:
            line = f.readline()
            if not line:
                return 2
            r = json.loads(line)
            if matches(r):
                pending.append(r)
    except socket.timeout:
        return 2
    print(json.dumps(pending[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
