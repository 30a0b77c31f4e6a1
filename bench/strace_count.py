#!/usr/bin/env python3
"""Syscalls per kept-alive request, from `strace -f -o FILE bench/net probe URL N`: counts every
call between the FLX-PROBE-BEGIN and FLX-PROBE-END marker writes, divided by N. Prints result
lines like the other benches (bench.<label>.syscalls.<name>, calls per request)."""
import collections
import json
import re
import sys

path, n, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts = collections.Counter()
on = False
for line in open(path, encoding="utf-8", errors="replace"):
    if "FLX-PROBE-BEGIN" in line:
        on = True
        continue
    if "FLX-PROBE-END" in line:
        break
    m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]", line)
    if on and m and "resumed>" not in line:
        counts[m.group(1)] += 1
total = sum(counts.values())
print(json.dumps({"id": f"strace.{label}.total", "unit": "calls/request", "samples": [total / n]}))
for name in ("sendto", "write", "writev", "sendmsg", "clone", "clone3", "connect", "recvfrom", "read", "poll", "ioctl", "setsockopt", "getrandom"):
    print(json.dumps({"id": f"strace.{label}.{name}", "unit": "calls/request", "samples": [counts.get(name, 0) / n]}))
print(json.dumps({"id": f"strace.{label}.breakdown", "unit": "text",
                  "text": ", ".join(f"{k} {v / n:g}" for k, v in counts.most_common())}))
