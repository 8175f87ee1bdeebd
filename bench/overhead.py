#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""CPU cost per sample of ember against `perf record -a -g` and bcc's `profile`, in one run.

Method (docs/benchmarks.md and the project's benchmarking notes): the workload (bench/deep_stack.c,
one copy per CPU) keeps every CPU busy in deep stacks. For each rate, for each of --windows rounds,
each profiler runs in turn (the order rotates every round) and is measured by accounting, not by
wall-clock time:

  * BPF program cost: with kernel.bpf_stats_enabled=1, run_time_ns / run_cnt of the profiler's
    perf-event programs, read from /proc/PID/fdinfo of its program fds at the start and end of
    the steady window;
  * the profiler's own CPU: the sum of the first field of /proc/PID/task/*/schedstat (exact
    scheduler nanoseconds) over the window, divided by the samples taken in it;
  * start-up: CPU from exec to the start of the window, less the steady rate over the time it
    was already sampling; time to the first sample for the BPF tools;
  * lifetime CPU and max RSS: wait4()'s rusage of the profiler;
  * the cost of getting from the recording to a symbolized profile: `perf report` and
    `perf script` on perf.data, `ember export` on ember's database, and bcc's own exit work
    (it reads its stack map and symbolizes when it stops).

Ratios (ember / peer) are taken within each round, then summarised as median and range, because
the machine is shared and absolute figures drift between rounds.

Writes OUT/results.json and OUT/summary.md; prints the summary.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

PERF_EVENT_PROG_TYPE = 7  # BPF_PROG_TYPE_PERF_EVENT


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def task_cpu_ns(pid):
    """Exact CPU time of every live thread of pid (scheduler nanoseconds), or None."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread exited between listdir and open
    return total


def bpf_prog_stats(pid):
    """(run_time_ns, run_cnt, nprogs) summed over pid's perf-event BPF program fds."""
    rt = cnt = n = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return (0, 0, 0)
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:bpf-prog":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(info.get("prog_type", "-1")) != PERF_EVENT_PROG_TYPE:
            continue
        rt += int(info.get("run_time_ns", 0))
        cnt += int(info.get("run_cnt", 0))
        n += 1
    return (rt, cnt, n)


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_measured(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    """Runs cmd to completion; returns (exit code, CPU seconds, max RSS KiB) from wait4."""
    p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def default_sigint():
    # Why: a non-interactive parent may have started us with SIGINT ignored, and an ignored
    # signal stays ignored across exec; bcc's Python then never sees KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Tool:
    name = "?"
    is_bpf = False

    def __init__(self, args, rundir):
        self.args = args
        self.rundir = rundir

    def command(self, rate):
        raise NotImplementedError

    def stdout_path(self):
        return os.path.join(self.rundir, "stdout")

    def lifetime_samples(self, m):
        return m.get("bpf_run_cnt_total")

    def to_profile(self, m):
        """Cost of turning the recording into a symbolized profile: {name: (cpu_s, samples)}."""
        return {}


class Ember(Tool):
    name = "ember"
    is_bpf = True

    def db(self):
        return os.path.join(self.rundir, "ember.db")

    def command(self, rate):
        return [self.args.ember, "record", "-F", str(rate), "--db", self.db()]

    def lifetime_samples(self, m):
        # "ember: N samples in ... : S stored, D dropped (...)"
        try:
            with open(os.path.join(self.rundir, "stderr")) as f:
                for line in f:
                    if line.startswith("ember:") and " stored," in line:
                        words = line.split()
                        m["ember_summary"] = line.strip()
                        return int(words[words.index("stored,") - 1])
        except (OSError, ValueError):
            pass
        return None

    def to_profile(self, m):
        rc, cpu, rss = run_measured([self.args.ember, "export", "--db", self.db()])
        return {"ember export": {"cpu_s": cpu, "max_rss_kib": rss, "rc": rc}}


class Perf(Tool):
    name = "perf"

    def data(self):
        return os.path.join(self.rundir, "perf.data")

    def command(self, rate):
        return ["perf", "record", "-a", "-g", "-F", str(rate), "-q", "-o", self.data()]

    def lifetime_samples(self, m):
        return m.get("perf_samples")

    def to_profile(self, m):
        out = {}
        rc, cpu, rss = run_measured(["perf", "report", "-i", self.data(), "--stdio"])
        out["perf report --stdio"] = {"cpu_s": cpu, "max_rss_kib": rss, "rc": rc}
        script_out = os.path.join(self.rundir, "perf.script")
        with open(script_out, "w") as f:
            rc, cpu, rss = run_measured(["perf", "script", "-i", self.data()], stdout=f)
        out["perf script"] = {"cpu_s": cpu, "max_rss_kib": rss, "rc": rc}
        # One sample = one header line that starts in column 0.
        n = 0
        with open(script_out, errors="replace") as f:
            for line in f:
                if line and not line[0].isspace():
                    n += 1
        m["perf_samples"] = n
        m["perf_data_bytes"] = os.path.getsize(self.data())
        os.unlink(script_out)
        return out


class Bcc(Tool):
    name = "bcc"
    is_bpf = True

    def command(self, rate):
        return [self.args.bcc_profile, "-F", str(rate), "-f"]


class EmberBaseline(Ember):
    """Another ember binary (--ember-baseline), e.g. before a change, measured the same way."""
    name = "ember-baseline"

    def command(self, rate):
        return [self.args.ember_baseline, "record", "-F", str(rate), "--db", self.db()]

    def to_profile(self, m):
        rc, cpu, rss = run_measured([self.args.ember_baseline, "export", "--db", self.db()])
        return {"ember export": {"cpu_s": cpu, "max_rss_kib": rss, "rc": rc}}


class EmberPid(Ember):
    """ember with --pid of the workload's processes: the BPF program drops every other sample,
    so the collector sees only the workload's stacks, which repeat. Its user-space figure is the
    steady state without the first-sight work that other programs on the host cause. The BPF
    figure includes the cheap filtered runs; the samples are the stored ones (from its summary,
    at its mean rate)."""
    name = "ember-pid"

    def command(self, rate):
        pids = ",".join(str(p) for p in self.args.workload_pids)
        return super().command(rate) + ["--pid", pids]


TOOLS = {"ember": Ember, "perf": Perf, "bcc": Bcc, "ember-baseline": EmberBaseline,
         "ember-pid": EmberPid}


def run_one(args, tool_cls, rate, rnd, ncpus):
    rundir = os.path.join(args.out, f"{tool_cls.name}-{rate}hz-r{rnd}")
    shutil.rmtree(rundir, ignore_errors=True)
    os.makedirs(rundir)
    tool = tool_cls(args, rundir)
    m = {"tool": tool.name, "rate": rate, "round": rnd}
    cmd = tool.command(rate)
    m["command"] = " ".join(cmd)
    with open(tool.stdout_path(), "w") as so, open(os.path.join(rundir, "stderr"), "w") as se:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=so, stderr=se, preexec_fn=default_sigint)
        t_ready = None
        cpu_ready = None
        # Warm-up: start-up work (BPF load and verify, clang for bcc, perf's synthesis of the
        # running tasks, first symbolization of the workload) happens here.
        while time.monotonic() - t0 < args.warmup_s:
            if p.poll() is not None:
                break
            if tool.is_bpf and t_ready is None:
                cpu_now = task_cpu_ns(p.pid)
                if bpf_prog_stats(p.pid)[1] > 0:
                    t_ready, cpu_ready = time.monotonic(), cpu_now
            time.sleep(0.05)
        if tool.is_bpf and t_ready is None:
            # Slow start (bcc compiling on a loaded machine): wait for the first sample.
            while p.poll() is None and time.monotonic() - t0 < args.warmup_s + 60:
                cpu_now = task_cpu_ns(p.pid)
                if bpf_prog_stats(p.pid)[1] > 0:
                    t_ready, cpu_ready = time.monotonic(), cpu_now
                    break
                time.sleep(0.05)
            time.sleep(max(0.0, args.warmup_s / 2))
        if p.poll() is not None:
            raise RuntimeError(f"{m['command']} exited early with {p.returncode}; see {rundir}")

        t1 = time.monotonic()
        c1 = task_cpu_ns(p.pid)
        b1 = bpf_prog_stats(p.pid)
        time.sleep(args.window_s)
        t2 = time.monotonic()
        c2 = task_cpu_ns(p.pid)
        b2 = bpf_prog_stats(p.pid)
        m["max_rss_before_stop_kib"] = vm_hwm_kib(p.pid)
        m["bpf_run_cnt_total"] = b2[1]

        p.send_signal(signal.SIGINT)
        _, status, ru = os.wait4(p.pid, 0)
        t3 = time.monotonic()
        p.returncode = os.waitstatus_to_exitcode(status)
    m["exit_code"] = p.returncode
    m["window_s"] = t2 - t1
    m["cpu_window_s"] = (c2 - c1) / 1e9
    m["lifetime_cpu_s"] = ru.ru_utime + ru.ru_stime
    m["max_rss_kib"] = ru.ru_maxrss
    m["exit_cpu_s"] = m["lifetime_cpu_s"] - c2 / 1e9
    m["exit_wall_s"] = t3 - t2
    expected = rate * ncpus * m["window_s"]
    m["samples_expected"] = expected
    if tool.is_bpf:
        m["bpf_progs"] = b2[2]
        m["samples_window"] = b2[1] - b1[1]
        m["bpf_ns_per_sample"] = (b2[0] - b1[0]) / max(1, m["samples_window"])
        m["time_to_first_sample_s"] = (t_ready - t0) if t_ready else None
    else:
        # perf's samples are not visible while it runs; cpu-clock sampling is exact here
        # (checked against the lifetime count from perf script below).
        m["samples_window"] = expected
        m["bpf_ns_per_sample"] = None
        t_ready = t0
    steady_rate = m["cpu_window_s"] / m["window_s"]  # CPU seconds per second
    m["collector_us_per_sample"] = m["cpu_window_s"] * 1e6 / max(1, m["samples_window"])
    m["startup_cpu_s"] = c1 / 1e9 - steady_rate * (t1 - t_ready)
    if cpu_ready is not None:
        m["cpu_to_first_sample_s"] = cpu_ready / 1e9

    if tool.name == "ember-pid":
        stored = tool.lifetime_samples(m)
        words = m.get("ember_summary", "").split()
        if stored and "in" in words:
            secs = float(words[words.index("in") + 1])
            m["samples_window"] = stored / secs * m["window_s"]
            m["collector_us_per_sample"] = m["cpu_window_s"] * 1e6 / m["samples_window"]
    prof = tool.to_profile(m)
    if tool.name == "bcc":
        prof = {"bcc exit (read map, symbolize, print)": {"cpu_s": m["exit_cpu_s"]}}
    m["lifetime_samples"] = tool.lifetime_samples(m)
    for v in prof.values():
        if m["lifetime_samples"]:
            v["us_per_sample"] = v["cpu_s"] * 1e6 / m["lifetime_samples"]
    m["to_profile"] = prof
    if not args.keep:
        shutil.rmtree(rundir, ignore_errors=True)
    return m


def med_range(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return (statistics.median(xs), min(xs), max(xs))


def fmt(mr, scale=1.0, digits=2, unit=""):
    if mr is None:
        return "–"
    md, lo, hi = (v * scale for v in mr)
    return f"{md:.{digits}f}{unit} ({lo:.{digits}f}–{hi:.{digits}f})"


def summarise(results, args):
    lines = []
    rates = sorted({r["rate"] for r in results})
    tools = [t for t in args.tools if any(r["tool"] == t for r in results)]

    def sel(tool, rate):
        return [r for r in results if r["tool"] == tool and r["rate"] == rate]

    lines.append("| rate | tool | BPF program µs/sample | user-space CPU µs/sample (steady) "
                 "| samples in window / expected | start-up CPU s | lifetime CPU s | max RSS MB |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for rate in rates:
        for t in tools:
            rs = sel(t, rate)
            if not rs:
                continue
            samp = sum(r["samples_window"] for r in rs)
            exp = sum(r["samples_expected"] for r in rs)
            samp_txt = f"{samp:.0f} / {exp:.0f}" if t != "perf" else f"(exact) {exp:.0f}"
            lines.append(
                f"| {rate} | {t} | {fmt(med_range([r['bpf_ns_per_sample'] for r in rs]), 1e-3)} "
                f"| {fmt(med_range([r['collector_us_per_sample'] for r in rs]))} "
                f"| {samp_txt} "
                f"| {fmt(med_range([r['startup_cpu_s'] for r in rs]), digits=3)} "
                f"| {fmt(med_range([r['lifetime_cpu_s'] for r in rs]), digits=3)} "
                f"| {fmt(med_range([r['max_rss_kib'] for r in rs]), 1 / 1024, 0)} |")
    lines.append("")
    lines.append("Cost of getting from the recording to a symbolized profile (µs per recorded sample):")
    lines.append("")
    lines.append("| rate | tool | step | µs/sample | CPU s | samples |")
    lines.append("|---|---|---|---|---|---|")
    for rate in rates:
        for t in tools:
            rs = sel(t, rate)
            steps = sorted({k for r in rs for k in r["to_profile"]})
            for st in steps:
                us = [r["to_profile"][st].get("us_per_sample") for r in rs if st in r["to_profile"]]
                cpu = [r["to_profile"][st]["cpu_s"] for r in rs if st in r["to_profile"]]
                ns = [r["lifetime_samples"] or 0 for r in rs]
                lines.append(f"| {rate} | {t} | `{st}` | {fmt(med_range(us))} "
                             f"| {fmt(med_range(cpu), digits=3)} | {statistics.median(ns):.0f} |")
    lines.append("")
    # Ratios within each round.
    lines.append("Ratios ember / peer, taken within each round (median and range over rounds):")
    lines.append("")
    peers = [t for t in tools if t != "ember"]
    lines.append("| rate | figure | " + " | ".join(f"ember / {p}" for p in peers) + " |")
    lines.append("|---|---|" + "---|" * len(peers))
    figures = [
        ("BPF program per sample", lambda r: r["bpf_ns_per_sample"]),
        ("user-space CPU per sample (steady)", lambda r: r["collector_us_per_sample"]),
        ("BPF + user space per sample (steady)",
         lambda r: (r["bpf_ns_per_sample"] or 0) / 1e3 + r["collector_us_per_sample"]),
        ("recording + to a profile per sample", lambda r: r["collector_us_per_sample"]
         + (r["bpf_ns_per_sample"] or 0) / 1e3
         + sum(v.get("us_per_sample", 0) for k, v in r["to_profile"].items()
               if k != "perf report --stdio")),
        ("start-up CPU", lambda r: r["startup_cpu_s"]),
        ("max RSS", lambda r: r["max_rss_kib"]),
    ]
    for rate in rates:
        for fname, f in figures:
            cells = []
            for peer in peers:
                ratios = []
                for rnd in sorted({r["round"] for r in results}):
                    e = [r for r in sel("ember", rate) if r["round"] == rnd]
                    q = [r for r in sel(peer, rate) if r["round"] == rnd]
                    if not e or not q:
                        continue
                    a, b = f(e[0]), f(q[0])
                    if a is not None and b:
                        ratios.append(a / b)
                cells.append(fmt(med_range(ratios), unit="×"))
            lines.append(f"| {rate} | {fname} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ember", default="build/ember")
    ap.add_argument("--bcc-profile", default="/usr/sbin/profile-bpfcc")
    ap.add_argument("--ember-baseline", help="a second ember binary, for the tool ember-baseline")
    ap.add_argument("--workload", required=True, help="the built bench/deep_stack binary")
    ap.add_argument("--depth", type=int, default=24)
    ap.add_argument("--rates", default="19,99,999")
    ap.add_argument("--tools", default="ember,perf,bcc")
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--window-s", type=float, default=30)
    ap.add_argument("--warmup-s", type=float, default=5)
    ap.add_argument("--out", default="/tmp/ember-overhead")
    ap.add_argument("--keep", action="store_true", help="keep each run's files")
    args = ap.parse_args()
    args.tools = args.tools.split(",")
    for t in args.tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t}")
    rates = [int(x) for x in args.rates.split(",")]
    if os.geteuid() != 0:
        sys.exit("overhead: must run as root (BPF, perf -a, bpf_stats)")
    os.makedirs(args.out, exist_ok=True)
    ncpus = os.cpu_count()

    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        old_stats = f.read().strip()
    with open("/proc/sys/kernel/perf_event_max_sample_rate") as f:
        max_rate_before = int(f.read())
    workloads = [subprocess.Popen([args.workload, "0", str(args.depth)], preexec_fn=default_sigint)
                 for _ in range(ncpus)]
    args.workload_pids = [w.pid for w in workloads]
    results = []
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "kernel": os.uname().release,
        "ncpus": ncpus,
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "perf_event_max_sample_rate_before": max_rate_before,
        "args": {k: v for k, v in vars(args).items() if k != "workload_pids"},
        "argv": sys.argv,
    }
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        time.sleep(2)
        for rate in rates:
            for rnd in range(args.windows):
                order = args.tools[rnd % len(args.tools):] + args.tools[:rnd % len(args.tools)]
                for t in order:
                    log(f"{rate} Hz round {rnd + 1}/{args.windows}: {t}")
                    m = run_one(args, TOOLS[t], rate, rnd, ncpus)
                    log(f"  cpu/sample {m['collector_us_per_sample']:.2f} µs, bpf/sample "
                        f"{(m['bpf_ns_per_sample'] or 0) / 1e3:.2f} µs, samples "
                        f"{m['samples_window']:.0f}/{m['samples_expected']:.0f}, start-up "
                        f"{m['startup_cpu_s']:.3f} s, rss {m['max_rss_kib'] / 1024:.0f} MB")
                    results.append(m)
                    with open(os.path.join(args.out, "results.json"), "w") as f:
                        json.dump({"meta": meta, "runs": results}, f, indent=1)
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old_stats)
        for w in workloads:
            w.terminate()
            w.wait()
    with open("/proc/sys/kernel/perf_event_max_sample_rate") as f:
        meta["perf_event_max_sample_rate_after"] = int(f.read())
    meta["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "runs": results}, f, indent=1)
    text = summarise(results, args)
    text = (f"{meta['date']}, kernel {meta['kernel']}, {ncpus} CPUs, load average at start "
            f"{' '.join(meta['loadavg_start'])}, at end {' '.join(meta['loadavg_end'])}; "
            f"perf_event_max_sample_rate {max_rate_before} before, "
            f"{meta['perf_event_max_sample_rate_after']} after.\n\n" + text + "\n")
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
