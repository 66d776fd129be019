"""Batch throughput: N face videos through graphs/face_detection_video.pbtxt, 1 and 2 workers,
local process pool and Ray.

Each configuration runs into a fresh output folder, so nothing is skipped. The local wall
time includes spawning the pool's workers (as a user's command does); the Ray wall time
excludes `ray.init()` (printed separately) but includes starting Ray's worker processes.
Prints files/s, frames/s, the mean per-file run time and CPU time inside the worker (all
threads of the worker process), and scaling efficiency (files/s with 2 workers / (2 x
files/s with 1)). `--threads N` sets each run's scheduler threads (default: CPU count).

    python benchmarks/bench_batch.py [--files 8] [--frames 90] [--size 320x240] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from mediagraph import batch, models
from mediagraph.testing import samples

ROOT = Path(__file__).resolve().parent.parent
GRAPH = str(ROOT / "graphs" / "face_detection_video.pbtxt")


def measure(engine: str, workers: int, videos: Path, out: Path,
            threads: int | None) -> dict[str, float]:
    start = time.perf_counter()
    results = batch.run(GRAPH, [str(videos / "*.mp4")], out, engine=engine, workers=workers,
                        threads=threads, progress=False)
    wall = time.perf_counter() - start
    failed = [r for r in results if r.status != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} files failed: {failed[0].error}")
    return {"wall_s": wall, "files_s": len(results) / wall,
            "frames_s": sum(r.frames for r in results) / wall,
            "per_file_s": statistics.mean(r.wall_s for r in results),
            "cpu_file_s": statistics.mean(r.cpu_s for r in results),
            "backend": results[0].backend or ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    models.resolve("face_detection_short_range.tflite")  # fails early: mediagraph models fetch
    width, height = (int(v) for v in args.size.split("x"))
    engines = args.engines.split(",")
    print(f"{args.files} videos x {args.frames} frames {width}x{height}, "
          f"{os.cpu_count()} CPUs, scheduler threads per run: {args.threads or 'CPU count'}")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        videos = Path(tmp) / "videos"
        videos.mkdir()
        for i in range(args.files):
            samples.make_face_video(videos / f"face{i}.mp4", frames=args.frames, width=width,
                                    height=height)
        rows = {}
        for engine in engines:
            for workers in (1, 2):
                ray = None
                if engine == "ray":
                    import ray

                    t0 = time.perf_counter()
                    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
                    print(f"ray.init(num_cpus={workers}): {time.perf_counter() - t0:.2f} s")
                try:
                    rows[engine, workers] = measure(engine, workers, videos,
                                                    Path(tmp) / f"out-{engine}-{workers}",
                                                    args.threads)
                finally:
                    if ray is not None:
                        ray.shutdown()
    print(f"{'engine':7s} {'workers':>7s} {'wall s':>7s} {'files/s':>8s} {'frames/s':>9s} "
          f"{'s/file':>7s} {'cpu s/file':>10s} {'efficiency':>10s}  backend")
    for (engine, workers), row in rows.items():
        base = rows[engine, 1]["files_s"]
        efficiency = row["files_s"] / (workers * base)
        print(f"{engine:7s} {workers:7d} {row['wall_s']:7.2f} {row['files_s']:8.2f} "
              f"{row['frames_s']:9.1f} {row['per_file_s']:7.2f} {row['cpu_file_s']:10.2f} "
              f"{efficiency:10.0%}  "
              f"{row['backend']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
