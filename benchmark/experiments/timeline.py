#!/usr/bin/env python3
"""Splits walnut's group-commit cycles into their parts, from the output of
`perf trace -e msync,madvise,futex,epoll_pwait,write,read` around
group-commit-cycle.js (see that file).

A cycle runs: the sync thread's msync ends -> it writes the event fd that
wakes JavaScript -> the JS thread's epoll wait returns -> JavaScript resolves
the writes, issues new ones and wakes the sync thread (a futex wake that
finds a waiter) -> the sync thread's madvise and next msync start -> ends.
Prints the share of the time spent in msync, and the median, mean and p90
of each step in microseconds.
"""
import re
import statistics
import sys
from collections import Counter

LINE = re.compile(r"\s*([\d.]+) \(\s*([\d.]*)\s*(?:ms)?\): (\S+)/(\d+) (.*)")
STEPS = ["msync_end", "notify", "js_wakes", "request", "madvise", "msync_start", "next_msync_end"]


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                rows.append((float(m[1]), m[2], m[4], m[5]))
    rows.sort()
    return rows


def events(rows):
    # A call perf trace saw uninterrupted is one line with its duration; an
    # interrupted one is a line without a duration, then a "[continued]" line
    # with its start time and duration. Lines with a duration cover both.
    timed = [(t, float(d), tid, call) for t, d, tid, call in rows if d]
    sync = Counter(r[2] for r in timed if "msync" in r[3]).most_common(1)[0][0]
    js = Counter(r[2] for r in timed if "epoll" in r[3]).most_common(1)[0][0]
    out = []
    for t, dur, tid, call in timed:
        returned = call.rsplit("=", 1)[-1].strip()
        if tid == sync and "msync(" in call:
            out += [("msync_start", t), ("msync_end", t + dur)]
        elif tid == sync and call.startswith("write(fd"):
            out.append(("notify", t))
        elif tid == sync and "MADV_DONTNEED" in call:
            out.append(("madvise", t))
        elif tid == js and "epoll" in call and returned not in ("0", ""):
            out.append(("js_wakes", t + dur))
        elif tid == js and call.startswith("futex") and "WAKE" in call and returned == "1":
            out.append(("request", t))
    return sorted(out, key=lambda e: e[1])


def cycles(evs):
    """Cycles whose steps came in order; events out of order are skipped."""
    done, cur = [], None
    for kind, t in evs:
        if kind == "msync_end":
            if cur is not None and len(cur) == len(STEPS) - 1:
                cur["next_msync_end"] = t
                done.append(cur)
            cur = {"msync_end": t}
        elif cur is not None and len(cur) < len(STEPS) - 1 and kind == STEPS[len(cur)]:
            cur[kind] = t
    return done


def main():
    evs = events(parse(sys.argv[1]))
    starts = [t for kind, t in evs if kind == "msync_start"]
    ends = [t for kind, t in evs if kind == "msync_end"]
    in_msync = sum(e - s for s, e in zip(starts, ends))
    print(f"{len(starts)} msyncs, {100 * in_msync / (ends[-1] - starts[0]):.0f}% of the time")
    found = cycles(evs)
    print(f"{len(found)} complete cycles")
    for a, b in zip(STEPS, STEPS[1:]):
        us = sorted((c[b] - c[a]) * 1e3 for c in found)
        print(f"{a} -> {b}: median {statistics.median(us):.0f}, mean {statistics.mean(us):.0f}, "
              f"p90 {us[int(len(us) * 0.9)]:.0f} us")


if __name__ == "__main__":
    main()
