"""Pose tracking and holistic tracking over a 300-frame 640x480 video of a real person:
mediagraph against MediaPipe 0.10.14's `solutions.pose` / `solutions.holistic` in video
mode, in the same command.

Each run is its own subprocess (so its peak RSS is its own), the two sides alternate
within each repeat (so both see the same machine load), and the table has the median of
--repeats runs: frames/s, the ratio ours/theirs (the issue's target: at least 1.3 on 2
cores), CPU time per frame (every thread of the process) and peak RSS. On a shared, loaded
machine frames/s moves a lot from run to run; CPU time per frame is the steadier measure.

Both sides do the same work:
- decode: PyAV (FFmpeg) to rgb24 on both. PyAV is not in the MediaPipe venv, so that side
  runs with the very `av` package of this venv on PYTHONPATH (same CPython, same numpy);
- encode: PyAV's libx264, yuv420p, codec defaults, x264 frame threads (mediagraph's
  VideoEncoderCalculator defaults, repeated in tools/mediapipe_reference.py);
- model_complexity 1 (the only pose landmark model in the wheel), smoothing on, tracking
  on (static_image_mode=False; for mediagraph use_prev_landmarks=True);
- drawing: with the ready graphs (graphs/pose_tracking.pbtxt, holistic_tracking.pbtxt),
  which draw the skeleton (and the segmentation tint where they enable it), MediaPipe's
  side draws with its drawing_utils (--draw); without them mediagraph runs MediaPipe's
  own binarypb unchanged with a VideoDecoderCalculator in front and a
  VideoEncoderCalculator writing the input frames behind, and neither side draws.

    python benchmarks/bench_solutions.py --mediapipe-python /work/mpvenv/bin/python \
        [--repeats 3] [--solutions pose,holistic] [--cores 2] [--frames 300]
        [--graph ready|binarypb]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tools" / "mediapipe_reference.py"
READY = {"pose": "pose_tracking.pbtxt", "holistic": "holistic_tracking.pbtxt"}
BINARYPB = {"pose": "pose_landmark_cpu.binarypb", "holistic": "holistic_landmark_cpu.binarypb"}
ENV_VAR = "MEDIAGRAPH_MEDIAPIPE_PYTHON"


_USE_READY = True  # --graph binarypb turns the ready graphs off


def ready_graph(solution: str) -> Path | None:
    path = ROOT / "graphs" / READY[solution]
    return path if _USE_READY and path.is_file() else None


def segmentation_of(solution: str) -> bool:
    """Whether our side segments: the ready graph's choice (it tints when it asks for the
    mask), else off."""
    path = ready_graph(solution)
    return path is not None and "SEGMENTATION_MASK:" in path.read_text()


def _wrapped_binarypb(solution: str) -> Any:
    """MediaPipe's binarypb unchanged, with a decoder in front and an encoder behind."""
    import mediagraph as mg
    from mediagraph import models

    config = mg.load_config(models.mediapipe_graph(BINARYPB[solution]))
    config.ClearField("type")
    image = next(s.split(":")[-1] for s in config.input_stream if s.startswith("IMAGE:"))
    del config.input_stream[:]
    config.input_side_packet.extend(["input_video_path", "output_video_path"])
    decoder = config.node.add()
    decoder.calculator = "VideoDecoderCalculator"
    decoder.input_side_packet.append("INPUT_FILE_PATH:input_video_path")
    decoder.output_stream.extend([f"VIDEO:{image}", "VIDEO_PRESTREAM:input_video_header"])
    encoder = config.node.add()
    encoder.calculator = "VideoEncoderCalculator"
    encoder.input_stream.extend([f"VIDEO:{image}", "VIDEO_PRESTREAM:input_video_header"])
    encoder.input_side_packet.append("OUTPUT_FILE_PATH:output_video_path")
    config.max_queue_size = config.max_queue_size or 8
    return config, image


def worker(solution: str, src: str, dst: str) -> None:
    """One timed mediagraph run in this process; prints JSON like the reference's."""
    import mediagraph.calculators  # noqa: F401
    import mediagraph as mg

    side = {"input_video_path": src, "output_video_path": dst}
    ready = ready_graph(solution)
    if ready is not None:
        graph = mg.Graph(ready.read_text())
        counted = "output_video"
    else:
        config, counted = _wrapped_binarypb(solution)
        graph = mg.Graph(config)
        side.update(model_complexity=1, smooth_landmarks=True, enable_segmentation=False,
                    smooth_segmentation=True, use_prev_landmarks=True)
        if solution == "holistic":
            side["refine_face_landmarks"] = False
    frames, found = [0], [0]
    graph.observe_output_stream(counted, lambda _p: frames.__setitem__(0, frames[0] + 1))
    streams = set(graph.spec.streams)
    if "pose_landmarks" in streams:
        graph.observe_output_stream("pose_landmarks",
                                    lambda _p: found.__setitem__(0, found[0] + 1))
    start, cpu = time.perf_counter(), time.process_time()
    graph.run(side_packets=side)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"frames": frames[0], "seconds": seconds, "cpu": cpu, "found": found[0],
                      "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "graph": str(ready) if ready else f"{BINARYPB[solution]} + decoder/encoder"}))


def _av_shim(folder: Path) -> Path:
    """A folder holding only links to this venv's PyAV, for the MediaPipe side's PYTHONPATH."""
    import av

    package = Path(av.__file__).resolve().parent
    shim = folder / "av_shim"
    shim.mkdir(exist_ok=True)
    for source in (package, package.parent / "av.libs"):
        if source.exists() and not (shim / source.name).exists():
            (shim / source.name).symlink_to(source)
    return shim


def _compile_ours() -> None:
    """Byte-compile mediagraph as installing a wheel does: MediaPipe's venv has its .pyc
    from pip, while an editable checkout under PYTHONDONTWRITEBYTECODE=1 (as on CI) would
    compile every module it imports on each run, inside the timed window."""
    import compileall

    for folder in ("mediagraph", "calculators"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def _pin(cores: int | None):  # type: ignore[no-untyped-def]
    if not cores:
        return None
    chosen = sorted(os.sched_getaffinity(0))[:cores]
    return lambda: os.sched_setaffinity(0, chosen)


def run_side(side: str, solution: str, src: Path, dst: Path, python: str, shim: Path,
             cores: int | None, draw: bool, segmentation: bool) -> dict[str, Any]:
    env = dict(os.environ)
    if side == "mediagraph":
        command = [sys.executable, __file__, "--worker", solution, str(src), str(dst),
                   "--graph", "ready" if _USE_READY else "binarypb"]
    else:
        command = [python, str(REFERENCE), "video", solution, str(src), str(dst)]
        command += (["--draw"] if draw else []) + \
            (["--enable-segmentation"] if segmentation else [])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH")]))
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800,
                         cwd=tempfile.gettempdir(), preexec_fn=_pin(cores))
    if out.returncode:
        raise RuntimeError(f"{side} {solution} failed ({' '.join(command)}):\n"
                           f"{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediapipe-python", help=f"default: ${ENV_VAR}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--solutions", default="pose,holistic")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--cores", type=int, help="pin both sides to this many cores")
    parser.add_argument("--samples", type=Path, help="folder for (or with) person.mp4")
    parser.add_argument("--graph", choices=("ready", "binarypb"), default="ready",
                        help="ours: the ready graphs (when there), or MediaPipe's binarypb "
                             "unchanged between a decoder and an encoder (no drawing)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global _USE_READY
    _USE_READY = args.graph == "ready"
    if args.worker:
        worker(*args.worker)
        return 0
    python = args.mediapipe_python or os.environ.get(ENV_VAR)
    if not python:
        sys.exit(f"give --mediapipe-python or set {ENV_VAR} to a python with mediapipe")
    from mediagraph.testing import samples

    _compile_ours()
    solutions = [s.strip() for s in args.solutions.split(",") if s.strip()]
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = args.samples or tmp
        folder.mkdir(parents=True, exist_ok=True)
        src = folder / f"person_{args.frames}.mp4"
        if not src.exists():
            samples.make_person_video(src, frames=args.frames, width=640, height=480,
                                      audio=False)
        shim = _av_shim(tmp)
        for repeat in range(args.repeats):
            for solution in solutions:
                draw = ready_graph(solution) is not None
                segmentation = segmentation_of(solution)
                for side in ("mediagraph", "mediapipe"):
                    r = run_side(side, solution, src, tmp / f"{side}_{solution}.mp4", python,
                                 shim, args.cores, draw, segmentation)
                    results.setdefault((solution, side), []).append(r)
                    print(f"  repeat {repeat + 1} {solution:9s} {side:10s} "
                          f"{r['frames'] / r['seconds']:7.1f} frames/s "
                          f"{1000 * r['cpu'] / r['frames']:7.2f} CPU ms/frame "
                          f"{r['max_rss_kb'] / 1024:7.1f} MB, pose on {r['found']} frames",
                          file=sys.stderr, flush=True)
    cores = args.cores or len(os.sched_getaffinity(0))
    print(f"medians of {args.repeats} runs on {cores} cores; {args.frames}-frame 640x480 "
          f"person clip (samples.make_person_video), video mode")
    print(f"{'solution':10s} {'side':11s} {'frames/s':>9s} {'ours/theirs':>12s} "
          f"{'CPU ms/frame':>13s} {'peak RSS MB':>12s} {'pose found':>11s}  graph")
    for solution in solutions:
        rates = {}
        for side in ("mediagraph", "mediapipe"):
            runs = results[(solution, side)]
            rates[side] = statistics.median(r["frames"] / r["seconds"] for r in runs)
        for side in ("mediagraph", "mediapipe"):
            runs = results[(solution, side)]
            cpu = statistics.median(1000 * r["cpu"] / r["frames"] for r in runs)
            rss = statistics.median(r["max_rss_kb"] / 1024 for r in runs)
            found = statistics.median(r["found"] for r in runs)
            ratio = f"{rates['mediagraph'] / rates['mediapipe']:12.2f}" \
                if side == "mediagraph" else f"{'':12s}"
            graph = runs[-1].get("graph", f"solutions.{solution}"
                                 f"{' + drawing_utils' if ready_graph(solution) else ''}")
            print(f"{solution:10s} {side:11s} {rates[side]:9.1f} {ratio} {cpu:13.2f} "
                  f"{rss:12.1f} {found:11.0f}  {graph}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
