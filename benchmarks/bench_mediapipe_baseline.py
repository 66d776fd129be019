"""Baseline: MediaPipe 0.10.14's own C++ CalculatorGraph, driven from Python.

This exists to give ``benchmarks/bench_overhead.py`` (mediagraph's scheduler
overhead benchmark) a reference point: the same workload -- a chain of N
``PassThroughCalculator`` nodes fed small int packets -- run on the real
MediaPipe C++ scheduler through its Python bindings.

mediagraph never depends on mediapipe, so this script must be run from a
separate virtualenv that has ``mediapipe==0.10.14`` installed, e.g.::

    python3 -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.14
    /tmp/mpvenv/bin/python benchmarks/bench_mediapipe_baseline.py

Timing covers the first ``add_packet_to_input_stream`` through
``wait_until_done`` returning. Graph construction, ``start_run`` and packet
creation (``create_int(i).at(i)``) happen before the clock starts. The output
callback (which must take the GIL) only increments a counter.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import mediapipe as mp

CHAIN_LENGTHS: tuple[int, ...] = (1, 10, 50)
THREAD_SETTINGS: tuple[int | None, ...] = (None, 1, 2)  # None = num_threads unset


def chain_config(n: int, num_threads: int | None) -> str:
    """CalculatorGraphConfig text: in -> N x PassThroughCalculator -> out."""
    lines = ['input_stream: "in"', 'output_stream: "out"']
    if num_threads is not None:
        lines.append(f"num_threads: {num_threads}")
    for i in range(n):
        src = "in" if i == 0 else f"s{i}"
        dst = "out" if i == n - 1 else f"s{i + 1}"
        lines.append(
            f'node {{ calculator: "PassThroughCalculator" '
            f'input_stream: "{src}" output_stream: "{dst}" }}'
        )
    return "\n".join(lines)


def run_once(config: str, packets: int, create_in_loop: bool = False) -> float:
    """Push `packets` int packets through one fresh graph; return seconds taken."""
    graph = mp.CalculatorGraph(graph_config=config)
    received = [0]

    def on_out(_stream: str, _packet: mp.Packet) -> None:
        received[0] += 1

    graph.observe_output_stream("out", on_out)
    inputs = None if create_in_loop else [
        mp.packet_creator.create_int(i).at(i) for i in range(packets)]
    graph.start_run()
    t0 = time.perf_counter()
    if inputs is None:
        for i in range(packets):
            graph.add_packet_to_input_stream("in", mp.packet_creator.create_int(i).at(i))
    else:
        for pkt in inputs:
            graph.add_packet_to_input_stream("in", pkt)
    graph.close_all_packet_sources()
    graph.wait_until_done()
    elapsed = time.perf_counter() - t0
    assert received[0] == packets, f"got {received[0]} of {packets} packets"
    return elapsed


def bench(packets: int, repeats: int, create_in_loop: bool = False) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for threads in THREAD_SETTINGS:
        for n in CHAIN_LENGTHS:
            config = chain_config(n, threads)
            secs = statistics.median(run_once(config, packets, create_in_loop)
                                     for _ in range(repeats))
            us_per_pkt = secs / packets * 1e6
            results.append({
                "num_threads": "default" if threads is None else threads,
                "nodes": n,
                "packets": packets,
                "repeats": repeats,
                "median_s": secs,
                "packets_per_s": packets / secs,
                "us_per_packet": us_per_pkt,
                "us_per_packet_per_node": us_per_pkt / n,
            })
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--create-in-loop", action="store_true",
                        help="create each packet inside the timed loop, as an application does")
    args = parser.parse_args()

    results = bench(args.packets, args.repeats, args.create_in_loop)
    if args.json:
        print(json.dumps({"mediapipe": mp.__version__, "results": results}, indent=2))
        return
    print(f"mediapipe {mp.__version__}: {args.packets} packets, "
          f"median of {args.repeats} runs")
    print(f"{'threads':>8} {'nodes':>5} {'packets/s':>12} {'us/pkt':>9} {'us/pkt/node':>12}")
    for r in results:
        print(f"{r['num_threads']!s:>8} {r['nodes']:>5} {r['packets_per_s']:>12,.0f} "
              f"{r['us_per_packet']:>9.2f} {r['us_per_packet_per_node']:>12.3f}")


if __name__ == "__main__":
    main()
