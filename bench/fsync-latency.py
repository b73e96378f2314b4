#!/usr/bin/env python3
"""Reads `perf script -F comm,tid,cpu,time,event,trace` output of bench/fsync-latency.sh and prints, for the file
descriptor the server syncs most (the main file's WAL under load), how long each fsync/fdatasync took, split into:
  asleep on I/O    - the thread blocked (the data writes, the journal, the device's cache flush);
  runnable, queued - woken (or preempted) but waiting for a CPU: the run queue on a busy machine;
  the rest of the call is the kernel's own work on the thread.
Usage: fsync-latency.py PERF_SCRIPT_TXT SERVER_PID SECONDS"""
import os
import re
import sys
from collections import defaultdict

LINE = re.compile(r"\s*(.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)")


def pct(values, q):
    return values[min(len(values) - 1, int(len(values) * q))]


def main(path, pid, seconds):
    events = []
    for line in open(path, encoding="utf-8", errors="replace"):
        m = LINE.match(line)
        if m:
            events.append((int(m.group(2)), float(m.group(4)), m.group(5), m.group(6)))
    # The server's threads (read while it runs); if it is gone, every process's syncs count.
    server_tids = set()
    try:
        server_tids = {int(t) for t in os.listdir(f"/proc/{pid}/task")}
    except OSError:
        pass
    open_calls, calls = {}, defaultdict(list)
    for tid, t, ev, trace in events:
        if server_tids and tid not in server_tids:
            continue
        if ev in ("syscalls:sys_enter_fsync", "syscalls:sys_enter_fdatasync"):
            fd = int(trace.split()[-1], 16)
            open_calls[tid] = (t, fd, ev.rsplit("_", 1)[1])
        elif ev in ("syscalls:sys_exit_fsync", "syscalls:sys_exit_fdatasync") and tid in open_calls:
            start, fd, name = open_calls.pop(tid)
            calls[(fd, name)].append((start, t, tid))
    if not calls:
        print("[fsync-latency] no fsync seen (is the server writing?)")
        return
    (fd, name), syncs = max(calls.items(), key=lambda kv: len(kv[1]))
    # Each server thread's timeline of scheduler events: a wake-up, or a switch in or out (with the state it left in).
    timeline = defaultdict(list)
    for tid, t, ev, trace in events:
        if ev == "sched:sched_wakeup":
            m = re.search(r"pid=(\d+)", trace)
            if m:
                timeline[int(m.group(1))].append((t, "wake"))
        elif ev == "sched:sched_switch":
            out = re.search(r"prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+)", trace)
            into = re.search(r"next_pid=(\d+)", trace)
            if out:
                timeline[int(out.group(1))].append((t, "out-runnable" if out.group(2).startswith("R") else "out-sleeping"))
            if into:
                timeline[int(into.group(1))].append((t, "in"))
    total, sleeping, runnable = [], [], []
    for start, end, tid in syncs:
        total.append((end - start) * 1e6)
        # Walk the thread's events inside the call: it starts running; it sleeps (I/O) until woken, then waits runnable
        # until switched in; a preemption leaves it runnable too.
        state, since, slept, queued = "running", start, 0.0, 0.0
        for t, what in timeline[tid]:
            if t < start or t > end:
                continue
            if what == "out-sleeping" and state == "running":
                state, since = "sleeping", t
            elif what == "out-runnable" and state == "running":
                state, since = "runnable", t
            elif what == "wake" and state == "sleeping":
                slept += t - since
                state, since = "runnable", t
            elif what == "in" and state == "runnable":
                queued += t - since
                state, since = "running", t
        if state == "sleeping":
            slept += end - since
        elif state == "runnable":
            queued += end - since
        sleeping.append(slept * 1e6)
        runnable.append(queued * 1e6)
    print(f"[fsync-latency] fd={fd} {name}: {len(syncs) / seconds:.0f} a second")
    for label, values in (("call", total), ("asleep on I/O", sleeping), ("runnable, queued", runnable)):
        values.sort()
        print(f"[fsync-latency]   {label:17s} mean {sum(values) / len(values):5.0f} us  median {pct(values, 0.5):5.0f}  p90 {pct(values, 0.9):5.0f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
