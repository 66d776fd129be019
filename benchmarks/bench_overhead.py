"""Scheduler overhead: a chain of N PassThroughCalculators carrying small packets.

Prints microseconds per packet, per packet per node, and packets/s (median of
--repeats runs) for N = 1, 10, 50, with the output observed by a callback, the same
workload as `bench_mediapipe_baseline.py` runs on MediaPipe's C++ core. Packets are
created inside the timed loop (as an application feeding a graph does); pass
--precreate to build them first, as the baseline does by default.

    python benchmarks/bench_overhead.py
    python benchmarks/bench_overhead.py --mediapipe-python /tmp/mpvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
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


def bench(packets: int, repeats: int, threads: list[int | None], precreate: bool) -> list[dict[str, Any]]:
    results = []
    for num_threads in threads:
        for n in CHAIN_LENGTHS:
            config = chain_config(n, num_threads)
            secs = statistics.median(run_once(config, packets, precreate) for _ in range(repeats))
            us = secs / packets * 1e6
            results.append({"engine": "mediagraph", "num_threads": num_threads or "default",
                            "nodes": n, "packets_per_s": packets / secs, "us_per_packet": us,
                            "us_per_packet_per_node": us / n})
    return results


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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = bench(args.packets, args.repeats, [t or None for t in args.threads], args.precreate)
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
        print(json.dumps({"mediagraph": results, "mediapipe": baseline,
                          "marginal_us_per_node": marginal_us_per_node(results)}, indent=2))
        return 0
    print(f"{args.packets} packets, median of {args.repeats} runs, packets "
          f"{'pre-created' if args.precreate else 'created in the timed loop'}")
    print(f"{'engine':>10} {'threads':>8} {'nodes':>5} {'packets/s':>11} {'µs/pkt':>8} {'µs/pkt/node':>12}")
    for r in results + [dict(b, engine="mediapipe") for b in baseline]:
        print(f"{r['engine']:>10} {r['num_threads']!s:>8} {r['nodes']:>5} "
              f"{r['packets_per_s']:>11,.0f} {r['us_per_packet']:>8.2f} "
              f"{r['us_per_packet_per_node']:>12.3f}")
    for setting, slope in sorted(marginal_us_per_node(results).items()):
        print(f"mediagraph marginal cost per node (threads={setting}): {slope:.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
