"""Scheduler overhead: a chain of N PassThroughCalculators carrying small packets.

Prints microseconds per packet, per packet per node, and packets/s (median of
--repeats runs) for N = 1, 10, 50, with the output observed by a callback, the same
workload as `bench_mediapipe_baseline.py` runs on MediaPipe's C++ core. Packets are
created inside the timed loop (as an application feeding a graph does); pass
--precreate to build them first, as the baseline does by default.

With `--baseline-tree PATH` (a checkout or `git archive` of another commit) each repeat
also runs that tree's scheduler, in a subprocess started right after this tree's run of
the same repeat, so both see the same machine load; the table then has a "baseline" row
per setting and the ratio of packets/s.

    python benchmarks/bench_overhead.py
    python benchmarks/bench_overhead.py --mediapipe-python /tmp/mpvenv/bin/python
    git archive START | tar -x -C /tmp/start
    python benchmarks/bench_overhead.py --threads 0 --repeats 5 --baseline-tree /tmp/start \
        --mediapipe-python /tmp/mpvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import mediagraph as mg

CHAIN_LENGTHS = (1, 10, 50)


def chain_config(n: int, num_threads: int | None) -> str:
    lines = ['input_stream: "in"', 'output_stream: "out"']
    if num_threads:
        lines.append(f"num_threads: {num_threads}")
    for i in range(n):
        src = "in" if i == 0 else f"s{i}"
        dst = "out" if i == n - 1 else f"s{i + 1}"
        lines.append(f'node {{ calculator: "PassThroughCalculator" input_stream: "{src}" '
                     f'output_stream: "{dst}" }}')
    return "\n".join(lines)


def run_once(config: str, packets: int, precreate: bool) -> float:
    graph = mg.Graph(config)
    received = [0]

    def on_out(_packet: mg.Packet) -> None:
        received[0] += 1

    graph.observe_output_stream("out", on_out)
    inputs = [mg.Packet(i, i) for i in range(packets)] if precreate else None
    graph.start_run()
    add = graph.add_packet
    t0 = time.perf_counter()
    if inputs is not None:
        for packet in inputs:
            add("in", packet)
    else:
        for i in range(packets):
            add("in", mg.Packet(i, i))
    graph.close_all_inputs()
    graph.wait_until_done()
    elapsed = time.perf_counter() - t0
    assert received[0] == packets, f"got {received[0]} of {packets}"
    return elapsed


def times(packets: int, threads: list[int | None], precreate: bool) -> dict[str, float]:
    """One run of every (threads, N) setting: seconds, keyed "threads/N"."""
    return {f"{t or 0}/{n}": run_once(chain_config(n, t), packets, precreate)
            for t in threads for n in CHAIN_LENGTHS}


def baseline_times(tree: Path, packets: int, threads: list[int | None],
                   precreate: bool) -> dict[str, float]:
    """`times` of the scheduler in `tree` (staged as the wheel lays it out), run by this
    script in a fresh interpreter."""
    cmd = [sys.executable, __file__, "--once", "--packets", str(packets),
           "--threads", *(str(t or 0) for t in threads)] + (["--precreate"] if precreate else [])
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True,
                         cwd=tempfile.gettempdir(), timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rows(engine: str, runs: list[dict[str, float]], packets: int) -> list[dict[str, Any]]:
    """Median of `runs` per setting, as table rows."""
    results = []
    for key in runs[0]:
        threads, n = (int(v) for v in key.split("/"))
        secs = statistics.median(run[key] for run in runs)
        us = secs / packets * 1e6
        results.append({"engine": engine, "num_threads": threads or "default", "nodes": n,
                        "packets_per_s": packets / secs, "us_per_packet": us,
                        "us_per_packet_per_node": us / n})
    return results


def bench(packets: int, repeats: int, threads: list[int | None], precreate: bool,
          baseline: Path | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(this tree's rows, the baseline tree's rows), the two alternating per repeat."""
    ours, theirs = [], []
    staged = None
    with tempfile.TemporaryDirectory() as tmp:
        if baseline is not None:
            from bench_graphs import stage_tree  # beside this script, on sys.path

            staged = Path(stage_tree(baseline.resolve(), Path(tmp) / "baseline"))
        for _ in range(repeats):
            ours.append(times(packets, threads, precreate))
            if staged is not None:
                theirs.append(baseline_times(staged, packets, threads, precreate))
    return rows("mediagraph", ours, packets), rows("baseline", theirs, packets) if theirs else []


def marginal_us_per_node(results: list[dict[str, Any]]) -> dict[str, float]:
    """Slope of µs/packet between N=1 and N=50 for each thread setting."""
    slopes = {}
    for setting in {r["num_threads"] for r in results}:
        rows = {r["nodes"]: r["us_per_packet"] for r in results if r["num_threads"] == setting}
        if 1 in rows and 50 in rows:
            slopes[str(setting)] = (rows[50] - rows[1]) / 49
    return slopes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="*", default=[0, 1, 2],
                        help="num_threads settings (0 = default)")
    parser.add_argument("--precreate", action="store_true")
    parser.add_argument("--mediapipe-python", metavar="PYTHON",
                        help="also run bench_mediapipe_baseline.py with this interpreter")
    parser.add_argument("--baseline-tree", type=Path, help="another checkout to time too")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)  # a baseline run
    args = parser.parse_args()
    threads = [t or None for t in args.threads]
    if args.once:
        print(json.dumps(times(args.packets, threads, args.precreate)))
        return 0
    results, older = bench(args.packets, args.repeats, threads, args.precreate,
                           args.baseline_tree)
    baseline = []
    if args.mediapipe_python:
        script = Path(__file__).with_name("bench_mediapipe_baseline.py")
        cmd = [args.mediapipe_python, str(script), "--json", "--packets", str(args.packets),
               "--repeats", str(args.repeats)]
        if not args.precreate:
            cmd.append("--create-in-loop")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        baseline = json.loads(out)["results"]
    if args.json:
        print(json.dumps({"mediagraph": results, "baseline_tree": older, "mediapipe": baseline,
                          "marginal_us_per_node": marginal_us_per_node(results)}, indent=2))
        return 0
    print(f"{args.packets} packets, median of {args.repeats} runs, packets "
          f"{'pre-created' if args.precreate else 'created in the timed loop'}")
    print(f"{'engine':>10} {'threads':>8} {'nodes':>5} {'packets/s':>11} {'µs/pkt':>8} {'µs/pkt/node':>12}")
    for r in results + older + [dict(b, engine="mediapipe") for b in baseline]:
        print(f"{r['engine']:>10} {r['num_threads']!s:>8} {r['nodes']:>5} "
              f"{r['packets_per_s']:>11,.0f} {r['us_per_packet']:>8.2f} "
              f"{r['us_per_packet_per_node']:>12.3f}")
    for engine, table in (("mediagraph", results), ("baseline", older)):
        for setting, slope in sorted(marginal_us_per_node(table).items()):
            print(f"{engine} marginal cost per node (threads={setting}): {slope:.2f} µs")
    for other, table in (("baseline", older), ("mediapipe", baseline)):
        for r in results:
            match = [b for b in table if b["nodes"] == r["nodes"]
                     and (other == "mediapipe" or b["num_threads"] == r["num_threads"])]
            if match:
                best = max(b["packets_per_s"] for b in match)  # MediaPipe: its best setting
                print(f"mediagraph / {other} (threads={r['num_threads']}, N={r['nodes']}): "
                      f"{r['packets_per_s'] / best:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
