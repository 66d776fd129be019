"""Frames/s of the README's video graphs, optionally against an older checkout, alternating.

Runs graphs/face_detection_video.pbtxt, selfie_segmentation.pbtxt (blur),
selfie_segmentation_overlay.pbtxt and hand_tracking.pbtxt over 300-frame 640x480 samples
(`python -m mediagraph.testing.samples OUT --face|--hand --frames 300`), each run in a
fresh subprocess, and prints the median frames/s of --repeats runs per graph and the
median CPU time per frame (all the process's threads): on a shared, loaded machine the
CPU time moves much less than the frames/s, so it is the steadier before/after measure;
and the median peak RSS of each run's process (VmHWM, Python and the libraries included).

With `--baseline-tree PATH` (a checkout or `git archive` of another commit) every run of
this tree is followed by the same run on that tree, so both see the same machine load;
the baseline runs with PYTHONPATH pointing at a copy of it laid out as the wheel installs
it (mediagraph/, mediagraph/calculators/, mediagraph/graphs/).

    python benchmarks/bench_graphs.py [--repeats 5] [--graphs face,hand]
    git archive START | tar -x -C /tmp/start
    python benchmarks/bench_graphs.py --baseline-tree /tmp/start --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = {  # name: (graph file, sample kind, output stream counted)
    "face": ("face_detection_video.pbtxt", "face", "output_video"),
    "selfie_overlay": ("selfie_segmentation_overlay.pbtxt", "face", "output_video"),
    "selfie_blur": ("selfie_segmentation.pbtxt", "face", "output_video"),
    "hand": ("hand_tracking.pbtxt", "hand", "output_video"),
}


def worker(graph_file: str, src: str, dst: str) -> None:
    """One timed run in this process; prints {"frames": n, "seconds": s, "cpu": s,
    "peak_rss_mib": MiB}."""
    import mediagraph as mg

    graph = mg.Graph(Path(graph_file).read_text())
    count = [0]
    stream = GRAPHS[_name_of(graph_file)][2]
    graph.observe_output_stream(stream, lambda _p: count.__setitem__(0, count[0] + 1))
    start, cpu = time.perf_counter(), time.process_time()
    graph.run(side_packets={"input_video_path": src, "output_video_path": dst})
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"frames": count[0], "seconds": seconds, "cpu": cpu,
                      "peak_rss_mib": _peak_rss_mib()}))


def _peak_rss_mib() -> float:
    """This process's VmHWM in MiB (read here, not imported: a baseline tree may predate
    mediagraph.model_bench.peak_rss_mb); nan where /proc is not."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status
                        if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return float("nan")


def _name_of(graph_file: str) -> str:
    base = Path(graph_file).name
    return next(name for name, (file, _, _) in GRAPHS.items() if file == base)


def stage_tree(tree: Path, target: Path) -> str:
    """`tree` copied as the wheel lays it out; returns the PYTHONPATH that runs it. The
    tree's own root follows and its graphs sit beside the package too, so a checkout from
    before the installed layout (a top-level `calculators` package, graphs found at
    `../graphs`) runs as well."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    package = target / "mediagraph"
    shutil.copytree(tree / "mediagraph", package, ignore=ignore)
    shutil.copytree(tree / "calculators", package / "calculators", ignore=ignore)
    shutil.copytree(tree / "graphs", package / "graphs", ignore=ignore)
    shutil.copytree(tree / "graphs", target / "graphs", ignore=ignore)  # where old ones look
    return os.pathsep.join([str(target), str(tree.resolve())])


def run_once(tree: Path, pythonpath: str | None, name: str, src: Path,
             dst: Path) -> tuple[float, float, float]:
    """Frames/s, CPU ms per frame and peak RSS (MiB) of graph `name` of `tree`, in a fresh
    interpreter."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    graph_file = tree / "graphs" / GRAPHS[name][0]
    out = subprocess.run([sys.executable, __file__, "--worker", str(graph_file), str(src),
                          str(dst)], env=env, capture_output=True, text=True, timeout=600,
                         cwd=tempfile.gettempdir())
    if out.returncode:
        raise RuntimeError(f"{name} on {tree} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return (result["frames"] / result["seconds"], 1000 * result["cpu"] / result["frames"],
            result["peak_rss_mib"])


def make_samples(folder: Path, frames: int) -> dict[str, Path]:
    paths = {}
    for kind in ("face", "hand"):
        path = folder / f"{kind}.mp4"
        if not path.exists():
            subprocess.run([sys.executable, "-m", "mediagraph.testing.samples", str(path),
                            f"--{kind}", "--frames", str(frames)], check=True,
                           capture_output=True)
        paths[kind] = path
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--graphs", default=",".join(GRAPHS), help="comma-separated names")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--samples", type=Path, help="folder for (or with) face.mp4, hand.mp4")
    parser.add_argument("--baseline-tree", type=Path, help="another checkout to time too")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    names = [n.strip() for n in args.graphs.split(",") if n.strip()]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sample_dir = args.samples or tmp
        sample_dir.mkdir(parents=True, exist_ok=True)
        samples = make_samples(sample_dir, args.frames)
        trees: list[tuple[str, Path, Path | None]] = [("this tree", ROOT, None)]
        if args.baseline_tree is not None:
            baseline = args.baseline_tree.resolve()
            trees.append(("baseline", baseline, stage_tree(baseline, tmp / "baseline")))
        rates: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        rss: dict[tuple[str, str], list[float]] = {}
        for repeat in range(args.repeats):
            for name in names:
                src = samples[GRAPHS[name][1]]
                for label, tree, path in trees:
                    fps, ms, mib = run_once(tree, path, name, src, tmp / f"{name}.mp4")
                    rates.setdefault((label, name), []).append(fps)
                    cpu.setdefault((label, name), []).append(ms)
                    rss.setdefault((label, name), []).append(mib)
                    print(f"  repeat {repeat + 1} {name:15s} {label:10s} {fps:7.1f} frames/s "
                          f"{ms:6.2f} CPU ms/frame {mib:6.1f} MiB peak RSS", file=sys.stderr,
                          flush=True)
        print(f"medians of {args.repeats} ({os.cpu_count()} cores; "
              f"{args.frames}-frame 640x480 samples)")
        for title, table, digits in (("frames/s", rates, 1), ("CPU ms per frame", cpu, 2),
                                     ("peak RSS MiB", rss, 1)):
            header = f"{title:17s}" + "".join(f"{label:>12s}" for label, _, _ in trees)
            print(header + ("       ratio" if len(trees) > 1 else ""))
            for name in names:
                medians = [statistics.median(table[(label, name)]) for label, _, _ in trees]
                line = f"  {name:15s}" + "".join(f"{m:12.{digits}f}" for m in medians)
                if len(medians) > 1:
                    line += f"{medians[0] / medians[1]:12.3f}"
                print(line)


if __name__ == "__main__":
    main()
