#!/usr/bin/env python3
"""Writes docs/benchmarks.md and its plot from one run of the benchmarks (tools/benchmarks).

usage: benchmark_report.py RESULTS_DIR MARKDOWN_OUT PNG_OUT

RESULTS_DIR holds, per benchmark binary, NAME.json (Google Benchmark's --benchmark_out) and
NAME.txt (its console output, whose last lines are the summary the binary prints).

Each section of the page is generated, then followed by a NOTES_MARKER line: what follows
the marker, up to the next section, is written by hand (earlier layouts' figures, runs by
hand, explanations) and is carried over from the page being replaced.
"""

import datetime
import json
import os
import re
import subprocess
import sys

BINARIES = [
    ("ring_benchmark", "The ring (ring/ring_benchmark.cc)"),
    ("link_benchmark", "Links (syslink/link_benchmark.cc)"),
    ("broker_benchmark", "The broker (syslink/broker/broker_benchmark.cc)"),
    ("server_benchmark", "Idle links on a server (rpc/server_benchmark.cc)"),
    ("channel_threads_benchmark",
     "Threads sharing a channel (rpc/channel_threads_benchmark.cc)"),
    ("echo_benchmark", "Generated stubs against gRPC (examples/echo/echo_benchmark.cc)"),
    ("fs_benchmark", "The file service against tmpfs (examples/fs/bench/fs_benchmark.cc)"),
    ("grpc_bridge_benchmark", "The gRPC bridge (rpc/grpc/grpc_bridge_benchmark.cc)"),
    ("stream_benchmark", "Server streaming against gRPC (rpc/grpc/stream_benchmark.cc)"),
    ("stream_benchmark_unpinned",
     "Server streaming against gRPC, no process pinned (rpc/grpc/stream_benchmark.cc "
     "--unpinned)"),
]

# Round trips to plot: (label, binary, benchmark name).
ROUND_TRIPS = [
    ("cache line (floor)", "echo_benchmark", "BM_CacheLineFloor/real_time"),
    ("ring, spin", "ring_benchmark", "BM_RingRoundTrip/spin/real_time"),
    ("link call, spin", "link_benchmark", "BM_LinkCall/spin/real_time"),
    ("stub, spin", "echo_benchmark", "BM_StubSay/spin/real_time"),
    ("stub, hybrid", "echo_benchmark", "BM_StubSay/hybrid/real_time"),
    ("ring, blocking", "ring_benchmark", "BM_RingRoundTrip/blocking/real_time"),
    ("socketpair", "echo_benchmark", "BM_SocketPair64/real_time"),
    ("gRPC unary, Unix socket", "echo_benchmark", "BM_GrpcSay64/real_time"),
    ("gRPC unary, TCP", "grpc_bridge_benchmark", "BM_PlainGrpc/64/real_time"),
    ("bridge: gRPC + gateway + link", "grpc_bridge_benchmark", "BM_Bridge/64/real_time"),
]

SUMMARY_PREFIXES = ("floors", "ring ", "packed records", "hybrid consumer", "link ", "connects",
                    "death", "stub ", "128KiB", "fs ", "idle links", "bridge ", "channel threads",
                    "stream ", "alternating ", "  bridge", "  ServeGrpc", "  GrpcChannel",
                    "spin places")


NOTES_MARKER = "<!-- notes by hand below: tools/benchmarks keeps them -->"


def kept_notes(markdown):
    """{section heading: its hand-written lines} from the page being replaced."""
    notes = {}
    if not os.path.exists(markdown):
        return notes
    heading, inside = None, False
    with open(markdown) as f:
        for line in f.read().split("\n"):
            if line.startswith("## "):
                heading, inside = line, False
            elif line == NOTES_MARKER and heading is not None:
                inside = True
                notes[heading] = []
            elif inside:
                notes[heading].append(line)
    for heading, lines in notes.items():
        while lines and not lines[-1].strip():
            lines.pop()
    return notes


def with_notes(section, notes):
    """`section` (its heading first) followed by the marker and its kept notes."""
    kept = notes.get(section[0], [])
    return section + [NOTES_MARKER] + kept + ([""] if kept else [])


def medians(path):
    """{benchmark name: median run} from a Google Benchmark JSON file."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for run in data.get("benchmarks", []):
        if run.get("aggregate_name") == "median":
            out[run["run_name"]] = run
        elif run.get("run_type") == "iteration" and run["run_name"] not in out:
            out[run["run_name"]] = run
    return out, data.get("context", {})


def nanos(run):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[run.get("time_unit", "ns")]
    return run["real_time"] * scale


def summary_lines(path):
    with open(path, errors="replace") as f:
        return [line.rstrip() for line in f if line.startswith(SUMMARY_PREFIXES)]


def plot(results, png):
    try:
        import matplotlib
    except ImportError:
        sys.exit("benchmark_report.py: the plot needs matplotlib (Debian: python3-matplotlib)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = [], []
    for label, binary, name in ROUND_TRIPS:
        run = results.get(binary, {}).get(name)
        if run:
            labels.append(label)
            values.append(nanos(run) / 1000)
    fig, ax = plt.subplots(figsize=(8, 4))
    bars = ax.barh(labels[::-1], values[::-1], color="#4a7ab5")
    ax.set_xscale("log")
    ax.set_xlabel("round trip, microseconds (log scale; median of 3)")
    ax.set_title("64-byte round trip between two processes on two vCPUs")
    for bar, value in zip(bars, values[::-1]):
        ax.text(value * 1.1, bar.get_y() + bar.get_height() / 2, f"{value:.2f} us",
                va="center", fontsize=8)
    ax.set_xlim(min(values) / 2, max(values) * 4)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


INSTRUCTIONS_INTRO = [
    "## Instructions per round trip (tools/count-instructions)",
    "",
    "The software of each layer's hot path, counted by callgrind with both sides of a",
    "64-byte round trip in one thread: no waiting, no cache-line transfers (`dispatch`:",
    "the server's generated `Dispatch()` of one call alone). Unlike the times above, these",
    "counts are the same on every run of the same build.",
]


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, as ' (model)', or '' when unknown: figures
    from different hosts (an AMD and an Intel VM, say) differ more than runs on one."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return f" ({line.split(':', 1)[1].strip()})"
    except OSError:
        pass
    return ""


def main():
    if sys.argv[1:] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip())
    results_dir, markdown, png = sys.argv[1:4]
    results, context = {}, {}
    for binary, _ in BINARIES:
        path = os.path.join(results_dir, binary + ".json")
        if os.path.exists(path):
            results[binary], context = medians(path)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    lines = [
        "# Benchmarks",
        "",
        "Regenerated by `tools/benchmarks` (every benchmark, optimized, then this page and",
        "its plot). Each measurement is the median of 3 runs, and every ratio compares results",
        "of the same run: the machine is a noisy 2-vCPU VM, where absolute times drift between",
        "runs (for minutes at a time, cross-CPU figures run 3-5x slower), so read ratios, not",
        "times.",
        "",
        f"Run on {datetime.date.today()} at commit `{commit}`, "
        f"{context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz"
        f"{cpu_model()}.",
        "",
        f"![64-byte round trips]({os.path.basename(png)})",
        "",
    ]
    notes = kept_notes(markdown)
    for binary, title in BINARIES:
        text = os.path.join(results_dir, binary + ".txt")
        if not os.path.exists(text):
            if f"## {title}" in notes:  # not run this time: its notes stay
                lines += with_notes([f"## {title}", "", "Not run by this run.", ""], notes)
            continue
        section = [f"## {title}", "", "```"] + summary_lines(text) + ["```", ""]
        section += ["| Benchmark | Median | Rate |", "|---|---|---|"]
        for name, run in sorted(results.get(binary, {}).items()):
            rate = ""
            if "items_per_second" in run:
                rate = f"{run['items_per_second'] / 1e6:.2f} M/s"
            elif "bytes_per_second" in run and run["bytes_per_second"] > 0:
                rate = f"{run['bytes_per_second'] / 1e9:.2f} GB/s"
            shown = re.sub(r"/iterations:\d+", "", name.replace("/real_time", ""))
            section.append(f"| `{shown}` | {nanos(run):,.0f} ns | {rate} |")
        lines += with_notes(section + [""], notes)
    instructions = os.path.join(results_dir, "instructions.txt")
    if os.path.exists(instructions):
        with open(instructions) as f:
            counted = [line.rstrip() for line in f if line.strip()]
        lines += with_notes(INSTRUCTIONS_INTRO + ["", "```"] + counted + ["```", ""], notes)
    with open(markdown, "w") as f:
        f.write("\n".join(lines))
    plot(results, png)


if __name__ == "__main__":
    sys.exit(main())
