#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The whole cost of a user stack without frame pointers, from sample to symbolized stack, per sample:
ember (BPF program + collector: copy, unwind, symbolize, store) beside `perf record -a --call-graph
dwarf` followed by `perf script` (copy in the kernel and to perf.data, then unwind and symbolize), in
one run on one workload; then ember alone at 999 Hz, to see whether the collector keeps up.

Workload: Debian's own frame-pointer-less programs, one pinned to each CPU: /usr/bin/xz -9 on
/dev/urandom, and /usr/bin/python3 in a pure-Python loop (tests/progs/pyloop.py), alternating per
CPU.

Method (docs/benchmarks.md; the project's benchmarking notes): accounting, never wall time.
  * ember: with kernel.bpf_stats_enabled=1, delta run_time_ns / delta run_cnt of its perf-event
    program (from /proc/PID/fdinfo), plus the collector's exact CPU (the sum of the first field of
    /proc/PID/task/*/schedstat), both over a steady window that starts after start-up, divided by
    the samples the program took in the window (delta run_cnt).
  * perf: `perf record`'s exact CPU over the same kind of window, divided by its samples in that
    window (its total times window / duration: the rate is steady), plus the CPU (user + sys) of
    `perf script` over the whole perf.data, divided by all its samples. perf's own copy of 8 KiB of
    stack per sample happens in the interrupt, charged to the sampled task, and is not counted:
    the comparison favours perf.
  * ratios (perf / ember) are taken within each round, the order of the two alternating; the
    summary gives medians and ranges.

Usage (root, from the repository, after `ninja -C build`):
  bench/unwind_cost.py                 # 3 rounds of 30 s windows at 99 Hz, then 30 s at 999 Hz
  bench/unwind_cost.py --rounds 1 --window 10 --hz999-window 10    # a quick look
Writes OUT/results.json and OUT/summary.md (OUT: /tmp/ember-bench-unwind) and prints the summary.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

PERF_EVENT_PROG_TYPE = 7  # BPF_PROG_TYPE_PERF_EVENT

PY_LOOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "progs",
                       "pyloop.py")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def task_cpu_ns(pid):
    """Exact CPU time of every live thread of pid, in scheduler nanoseconds."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread exited meanwhile
    return total


def bpf_prog_stats(pid):
    """(run_time_ns, run_cnt) summed over the perf-event programs pid holds open."""
    rt = cnt = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        except OSError:
            continue
        if info.get("prog_type", "").strip() == str(PERF_EVENT_PROG_TYPE):
            rt += int(info.get("run_time_ns", "0"))
            cnt += int(info.get("run_cnt", "0"))
    return rt, cnt


def wait_rusage(proc):
    """Waits for proc; returns its user + sys CPU seconds."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ru.ru_utime + ru.ru_stime


def start_workload():
    procs = []
    ncpu = os.cpu_count()
    for cpu in range(ncpu):
        if cpu % 2 == 0:
            cmd = ["taskset", "-c", str(cpu), "sh", "-c",
                   "exec /usr/bin/xz -9 -T1 -c < /dev/urandom > /dev/null"]
        else:
            cmd = ["taskset", "-c", str(cpu), "/usr/bin/python3", PY_LOOP]
        procs.append(subprocess.Popen(cmd))
    return procs


def enable_bpf_stats():
    # Again before every window: another benchmark on this shared machine may have switched the
    # accounting off meanwhile (it restores what it found when it ends).
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")


def run_ember(args, hz, window, out):
    """One ember run: returns its per-sample costs over a steady window and its summary."""
    db = os.path.join(out, f"ember-{hz}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    dur = args.startup + window + 2
    cmd = [args.ember, "record", "-v", "--db", db, "-F", str(hz), "--duration", str(dur)]
    enable_bpf_stats()
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    time.sleep(args.startup)
    rt0, cnt0 = bpf_prog_stats(p.pid)
    cpu0 = task_cpu_ns(p.pid)
    time.sleep(window)
    rt1, cnt1 = bpf_prog_stats(p.pid)
    cpu1 = task_cpu_ns(p.pid)
    err = p.communicate()[1]
    if p.returncode or cnt1 <= cnt0:
        sys.exit(f"unwind_cost: ember failed or took no samples (is kernel.bpf_stats_enabled "
                 f"still 1?): {err[-2000:]}")
    samples = cnt1 - cnt0
    summary = [l for l in err.splitlines() if re.match(r"ember: \d+ (samples|user stacks)", l)]
    memo = [l for l in err.splitlines() if "unwinder:" in l]
    m = re.search(r"\(ring buffer full (\d+), filtered \d+, errors (\d+)", err)
    return {
        "hz": hz, "window_s": window, "samples": samples,
        "bpf_ns": (rt1 - rt0) / samples, "collector_ns": (cpu1 - cpu0) / samples,
        "total_ns": (rt1 - rt0 + cpu1 - cpu0) / samples,
        "collector_cpu_share": (cpu1 - cpu0) / (window * 1e9),
        "ringbuf_full": int(m.group(1)) if m else None, "errors": int(m.group(2)) if m else None,
        "summary": summary, "unwinder": memo,
    }


def run_perf(args, window, out):
    data = os.path.join(out, "perf.data")
    dur = args.startup + window + 2
    p = subprocess.Popen(["perf", "record", "-q", "-a", "-F", "99", "--call-graph", "dwarf",
                          "-o", data, "--", "sleep", str(dur)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(args.startup)
    cpu0 = task_cpu_ns(p.pid)
    time.sleep(window)
    cpu1 = task_cpu_ns(p.pid)
    record_cpu = wait_rusage(p)
    script_out = os.path.join(out, "perf.script")
    with open(script_out, "w") as f:
        s = subprocess.Popen(["perf", "script", "-i", data], stdout=f, stderr=subprocess.DEVNULL)
        script_cpu = wait_rusage(s)
    # One header line per sample (it starts in column 0); frames are indented.
    with open(script_out, errors="replace") as f:
        samples = sum(1 for line in f if line and not line[0].isspace())
    in_window = samples * window / dur
    return {
        "samples": samples, "record_window_ns": (cpu1 - cpu0) / in_window,
        "record_lifetime_cpu_s": record_cpu, "script_cpu_s": script_cpu,
        "script_ns": script_cpu * 1e9 / samples,
        "total_ns": (cpu1 - cpu0) / in_window + script_cpu * 1e9 / samples,
        "perf_data_bytes": os.path.getsize(data),
    }


def med_range(vals):
    return statistics.median(vals), min(vals), max(vals)


def fmt_us(ns_vals):
    m, lo, hi = med_range([v / 1000 for v in ns_vals])
    return f"{m:.1f} ({lo:.1f}–{hi:.1f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ember", default="build/ember")
    ap.add_argument("--out", default="/tmp/ember-bench-unwind")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--window", type=int, default=30, help="steady window, seconds")
    ap.add_argument("--startup", type=float, default=3, help="seconds before the window")
    ap.add_argument("--hz999-window", type=int, default=30)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("unwind_cost: must run as root")
    if not shutil.which("perf"):
        sys.exit("unwind_cost: needs perf (apt-get install linux-perf)")
    os.makedirs(args.out, exist_ok=True)
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        stats_before = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    work = start_workload()
    rounds = []
    try:
        time.sleep(1)
        for r in range(args.rounds):
            order = ["ember", "perf"] if r % 2 == 0 else ["perf", "ember"]
            res = {}
            for who in order:
                log(f"round {r + 1}/{args.rounds}: {who}")
                res[who] = (run_ember(args, 99, args.window, args.out) if who == "ember"
                            else run_perf(args, args.window, args.out))
            res["ratio"] = res["perf"]["total_ns"] / res["ember"]["total_ns"]
            log(f"  ember {res['ember']['total_ns'] / 1000:.1f} us/sample, "
                f"perf {res['perf']['total_ns'] / 1000:.1f} us/sample")
            rounds.append(res)
        log(f"ember at 999 Hz for {args.hz999_window} s")
        hz999 = run_ember(args, 999, args.hz999_window, args.out)
    finally:
        for p in work:
            p.send_signal(signal.SIGTERM)
            p.wait()
        if stats_before != "1":
            with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
                f.write(stats_before)
    res = {"date": time.strftime("%Y-%m-%d"), "kernel": os.uname().release,
           "args": vars(args), "rounds": rounds, "hz999": hz999}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)

    e = [r["ember"] for r in rounds]
    p = [r["perf"] for r in rounds]
    lines = [
        f"{res['date']}, kernel {res['kernel']}, {args.rounds} rounds, {args.window} s windows "
        f"at 99 Hz on {os.cpu_count()} CPUs; samples per window: ember "
        f"{', '.join(str(x['samples']) for x in e)}; perf (whole run) "
        f"{', '.join(str(x['samples']) for x in p)}",
        "",
        "| per sample, µs: median (range) | ember | perf --call-graph dwarf + perf script |",
        "|---|---|---|",
        f"| in the kernel | BPF program {fmt_us([x['bpf_ns'] for x in e])} | not counted "
        "(the 8 KiB copy runs in the interrupt) |",
        f"| recording process | collector {fmt_us([x['collector_ns'] for x in e])} | "
        f"perf record {fmt_us([x['record_window_ns'] for x in p])} |",
        f"| unwinding and symbolizing afterwards | – (done by the collector) | perf script "
        f"{fmt_us([x['script_ns'] for x in p])} |",
        f"| **total** | **{fmt_us([x['total_ns'] for x in e])}** | "
        f"**{fmt_us([x['total_ns'] for x in p])}** |",
        "",
        "perf / ember per round: " + ", ".join(f"{r['ratio']:.1f}x" for r in rounds)
        + f" (median {statistics.median(r['ratio'] for r in rounds):.1f}x); perf.data "
        f"{statistics.median(x['perf_data_bytes'] / x['samples'] for x in p):.0f} bytes per sample",
        "",
        "ember's summaries: " + " / ".join(x["summary"][-1] for x in e if x["summary"]),
        "ember's unwinder: " + " / ".join(x["unwinder"][-1] for x in e if x["unwinder"]),
        "",
        f"999 Hz, {args.hz999_window} s window: {hz999['samples']} samples, BPF "
        f"{hz999['bpf_ns'] / 1000:.1f} µs, collector {hz999['collector_ns'] / 1000:.1f} µs per "
        f"sample ({hz999['collector_cpu_share'] * 100:.1f} % of one CPU); ring buffer full "
        f"{hz999['ringbuf_full']}, errors {hz999['errors']}",
        "  " + "\n  ".join(hz999["summary"] + hz999["unwinder"]),
    ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
