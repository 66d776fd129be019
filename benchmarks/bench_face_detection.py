"""Face detection on video: graphs/face_detection_video.pbtxt vs a hand-written loop.

Both decode the same 640x480 30 fps 300-frame H.264 video of a real face (PyAV, decoder
threads on), letterbox each frame into the 128x128 tensor, run face_detection_short_range
on LiteRT, decode boxes against the SSD anchors, run weighted non-max suppression, draw
the box and keypoints with OpenCV, and encode with libx264 -- in the same process, the
loop on one thread, the graph on its scheduler. Prints frames/s (median of --repeats),
the ratios, the graph's per-node busy times and CPU use, each side's peak RSS, and three
bounds. The loops
convert each frame to RGB and back, as one writes it with PyAV; the graph keeps the
decoded YUV planes throughout (YCBCR420P frames), which is part of what it measures.

Two loops: "loop" is what one writes by hand (the libraries' own threads on: FFmpeg frame
threads, x264's threads, XNNPACK's pool); "loop, 1 thread" also turns those off (the
issue's single-threaded loop: every stage on one core, one after another).
Bounds: "stage bound" is 1 / the slowest of decode, inference and encode, each measured
alone with its library threads on; "work bound" is cores / (the sum of the three, each
measured on one thread): no pipeline of these stages can pass it; the "pipeline of
one-thread stages" bound is the lower of the work bound and 1 / the slowest one-thread
stage -- what a perfect pipeline of single-threaded stages could reach (the graph can
pass it, since x264 spreads one stage over several threads). The stages are timed in
every repeat, right after its runs, and the bounds use their medians; each repeat's graph
frames/s over its own work bound is printed too.

    python benchmarks/bench_face_detection.py [--repeats 3]
    python benchmarks/bench_face_detection.py --mediapipe-python /tmp/mpvenv/bin/python
    python benchmarks/bench_face_detection.py --delegate cpu,gpu --cores 2

Each timed run is a process of its own (this script with --run), so its peak RSS is its
own: Linux's VmHWM, the whole process's high-water mark (Python, numpy and the libraries
included; the median of --repeats is shown). Part of it is the libraries' code, counted
as far as the page cache happens to hold it (it moves by 20-30 MiB with the machine's
memory pressure), so the peak of the anonymous part (RssAnon, sampled every 10 ms: heap,
frames, encoder buffers) is shown beside it as the steadier before/after measure. The
libraries a run needs are imported before its clock starts, as they were by the earlier
runs when every run shared one process.

MediaPipe's solution is timed twice per repeat: with PyAV's default encoder threads
(x264 slices, what a script gets without asking: the issue's reference harness) and with
x264's frame threads (what the graph's encoder uses); `--mediapipe-threads` picks one.

`--delegate` runs the graph once per repeat for each listed delegate (the face detection
subgraph FaceDetectionShortRange{Cpu,Gpu,Dsp}); `--cores N` pins the process to N cores
first, to compare with a smaller machine.
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
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

import mediagraph as mg
from mediagraph import models
from mediagraph.model_bench import peak_rss_mb  # VmHWM, in MiB
from mediagraph.testing import samples

ROOT = Path(__file__).resolve().parent.parent
GRAPH = ROOT / "graphs" / "face_detection_video.pbtxt"
MODEL = "face_detection_short_range.tflite"
SUBGRAPHS = {"cpu": "FaceDetectionShortRangeCpu", "gpu": "FaceDetectionShortRangeGpu",
             "dsp": "FaceDetectionShortRangeDsp"}


def _x264_frame_threads() -> int:
    from mediagraph.calculators.io.video_encoder import _x264_frame_threads as threads

    return threads()


def _set_threads(stream: Any, single_thread: bool) -> None:
    """A PyAV decoder or encoder stream: FFmpeg's own threads on (frame threads, as the
    graph's decoder and encoder use), or exactly one thread."""
    if stream.codec_context.is_encoder:
        if single_thread:
            stream.codec_context.options = {"threads": "1"}
        else:  # as many frame threads as the graph's encoder takes
            stream.codec_context.thread_type = "FRAME"
            stream.codec_context.thread_count = _x264_frame_threads()
        return
    stream.thread_type = "SLICE" if single_thread else "AUTO"
    if single_thread:
        stream.thread_count = 1


def hand_written_loop(src: Path, dst: Path, single_thread: bool = False) -> int:
    """What one would write by hand: one thread, the same model and operations
    (`single_thread`: the decoder, encoder and interpreter's own threads off too)."""
    import av
    import cv2
    from ai_edge_litert.interpreter import Interpreter

    from mediagraph.calculators.postprocess.non_max_suppression import (NonMaxSuppressionCalculatorOptions,
                                                              suppress)
    from mediagraph.calculators.postprocess.ssd_anchors import (SsdAnchorsCalculatorOptions,
                                                      generate_anchors)
    from mediagraph.formats import Detection, RelativeBoundingBox, RelativeKeypoint

    interpreter = Interpreter(model_path=str(models.resolve(MODEL)),
                              num_threads=1 if single_thread else None)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    outputs = {tuple(d["shape"]): d["index"] for d in interpreter.get_output_details()}
    anchors = generate_anchors(SsdAnchorsCalculatorOptions.from_dict(dict(
        num_layers=4, min_scale=0.1484375, max_scale=0.75, input_size_width=128,
        input_size_height=128, anchor_offset_x=0.5, anchor_offset_y=0.5,
        strides=[8, 16, 16, 16], aspect_ratios=[1.0], fixed_anchor_size=True,
        interpolated_scale_aspect_ratio=1.0)))
    nms = NonMaxSuppressionCalculatorOptions.from_dict(dict(
        min_suppression_threshold=0.3, overlap_type="INTERSECTION_OVER_UNION",
        algorithm="WEIGHTED"))
    frames = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        _set_threads(vin, single_thread)
        vout = out.add_stream("libx264", rate=vin.average_rate or 30)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        _set_threads(vout, single_thread)
        for frame in inp.decode(vin):
            rgb = frame.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            scale = 128 / max(h, w)
            pad_x, pad_y = (128 - w * scale) / 2, (128 - h * scale) / 2
            warp = np.array([[scale, 0, pad_x], [0, scale, pad_y]], np.float32)
            tensor = cv2.warpAffine(rgb, warp, (128, 128), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            interpreter.set_tensor(input_index,
                                   (tensor.astype(np.float32) / 127.5 - 1.0)[None])
            interpreter.invoke()
            raw = interpreter.get_tensor(outputs[(1, 896, 16)])[0]
            logits = interpreter.get_tensor(outputs[(1, 896, 1)])[0, :, 0]
            scores = 1 / (1 + np.exp(-np.clip(logits, -100, 100).astype(np.float64)))
            detections = []
            for i in np.nonzero(scores >= 0.5)[0]:
                ax, ay, aw, ah = anchors[i]
                cx, cy = raw[i, 0] / 128 * aw + ax, raw[i, 1] / 128 * ah + ay
                bw, bh = raw[i, 2] / 128 * aw, raw[i, 3] / 128 * ah
                points = raw[i, 4:16].reshape(6, 2) / 128 * (aw, ah) + (ax, ay)
                detections.append(Detection(
                    score=(float(scores[i]),), label_id=(0,),
                    relative_bounding_box=RelativeBoundingBox(cx - bw / 2, cy - bh / 2, bw, bh),
                    relative_keypoints=tuple(RelativeKeypoint(float(x), float(y))
                                             for x, y in points)))
            canvas = rgb.copy()
            for face in suppress(detections, nms):
                box = face.relative_bounding_box
                x0 = int(((box.xmin * 128) - pad_x) / scale)
                y0 = int(((box.ymin * 128) - pad_y) / scale)
                x1 = int(((box.xmin + box.width) * 128 - pad_x) / scale)
                y1 = int(((box.ymin + box.height) * 128 - pad_y) / scale)
                cv2.rectangle(canvas, (x0, y0), (x1, y1), (255, 0, 0), 4)
                for point in face.relative_keypoints:
                    center = (int((point.x * 128 - pad_x) / scale),
                              int((point.y * 128 - pad_y) / scale))
                    cv2.circle(canvas, center, 4, (255, 0, 0), -1)
            encoded = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            encoded.pts, encoded.time_base = frames, Fraction(1, 30)
            out.mux(vout.encode(encoded))
            frames += 1
        out.mux(vout.encode(None))
    return frames


def graph_run(src: Path, dst: Path, delegate: str = "cpu") -> tuple[int, mg.Graph]:
    text = GRAPH.read_text().replace(f'"{SUBGRAPHS["cpu"]}"', f'"{SUBGRAPHS[delegate]}"')
    graph = mg.Graph(text)
    count = [0]
    graph.observe_output_stream("output_video", lambda _p: count.__setitem__(0, count[0] + 1))
    graph.run(side_packets={"input_video_path": str(src), "output_video_path": str(dst)})
    return count[0], graph


class _AnonPeak:
    """The peak of this process's RssAnon (MiB), sampled every 10 ms on a thread of its own
    while in the `with` block (Linux; None elsewhere)."""

    def __enter__(self) -> "_AnonPeak":
        import threading

        self.peak: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while True:
            try:
                with open("/proc/self/status") as status:
                    anon = next(int(line.split()[1]) / 1024 for line in status
                                if line.startswith("RssAnon:"))
            except (OSError, StopIteration):
                return
            self.peak = anon if self.peak is None else max(self.peak, anon)
            if self._stop.wait(0.01):
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed_run(kind: str, src: Path, dst: Path) -> dict[str, Any]:
    """One run of `kind` ("loop", "single", or "graph:DELEGATE") in this process: frames,
    frames/s, CPU use (of one core), peak RSS and peak anonymous RSS. The libraries it needs
    are imported first."""
    import av  # noqa: F401
    import cv2  # noqa: F401
    from ai_edge_litert import interpreter  # noqa: F401

    if kind.startswith("graph:"):
        import mediagraph.calculators  # noqa: F401  (registers them, as an earlier run had)
    profile = None
    with _AnonPeak() as anon:
        start, cpu = time.perf_counter(), time.process_time()
        if kind.startswith("graph:"):
            frames, graph = graph_run(src, dst, kind.partition(":")[2])
            profile = graph.profile().table()
        else:
            frames = hand_written_loop(src, dst, single_thread=kind == "single")
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return {"frames": frames, "fps": frames / wall, "cpu": cpu / wall,
            "peak_rss_mib": peak_rss_mb(), "peak_anon_mib": anon.peak, "profile": profile}


def run_apart(kind: str, src: Path, dst: Path) -> dict[str, Any]:
    """timed_run(kind) in a fresh process (this script with --run), so its RSS is its own."""
    out = subprocess.run([sys.executable, __file__, "--run", kind, str(src), str(dst)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def stage_times(src: Path, dst: Path, single_thread: bool) -> dict[str, float]:
    """Seconds per frame of decode, inference and encode, each stage alone (with its
    library threads, or on exactly one thread)."""
    import av
    from ai_edge_litert.interpreter import Interpreter

    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        _set_threads(vin, single_thread)
        start = time.perf_counter()
        images = [f.to_ndarray(format="rgb24") for f in inp.decode(vin)]
        decode = (time.perf_counter() - start) / len(images)
    interpreter = Interpreter(model_path=str(models.resolve(MODEL)),
                              num_threads=1 if single_thread else None)
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]
    tensor = np.zeros((1, 128, 128, 3), np.float32)
    start = time.perf_counter()
    for _ in images:
        interpreter.set_tensor(index, tensor)
        interpreter.invoke()
    inference = (time.perf_counter() - start) / len(images)
    with av.open(str(dst), "w") as out:
        vout = out.add_stream("libx264", rate=30)
        vout.width, vout.height, vout.pix_fmt = images[0].shape[1], images[0].shape[0], "yuv420p"
        _set_threads(vout, single_thread)
        start = time.perf_counter()
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(vout.encode(frame))
        out.mux(vout.encode(None))
        encode = (time.perf_counter() - start) / len(images)
    return {"decode": decode, "inference": inference, "encode": encode}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mediapipe-python", metavar="PYTHON",
                        help="also time MediaPipe's solution (bench_mediapipe_face.py) with it")
    parser.add_argument("--mediapipe-threads", default="default,frame",
                        help="MediaPipe harness encoder threads: default, frame, or both")
    parser.add_argument("--delegate", default="cpu",
                        help="comma-separated graph delegates to time: cpu, gpu, dsp")
    parser.add_argument("--cores", type=int, default=0, help="pin the process to N cores")
    parser.add_argument("--run", nargs=3, metavar=("KIND", "SRC", "DST"),
                        help=argparse.SUPPRESS)  # one timed run, in the process it starts
    args = parser.parse_args()
    if args.run:
        kind, src, dst = args.run
        print(json.dumps(timed_run(kind, Path(src), Path(dst))))
        return 0
    delegates = args.delegate.split(",")
    if unknown := set(delegates) - set(SUBGRAPHS):
        parser.error(f"unknown delegate {', '.join(sorted(unknown))}: use cpu, gpu or dsp")
    if args.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.cores])
    models.resolve(MODEL)
    loop_fps: list[float] = []
    single_fps: list[float] = []
    graph_fps: dict[str, list[float]] = {d: [] for d in delegates}
    graph_cpu: dict[str, list[float]] = {d: [] for d in delegates}
    rss: dict[str, list[float]] = {k: [] for k in ["loop", "single", *delegates]}
    anon: dict[str, list[float]] = {k: [] for k in rss}
    mp_threads = args.mediapipe_threads.split(",")
    if unknown := set(mp_threads) - {"default", "frame"}:
        parser.error(f"unknown --mediapipe-threads {', '.join(sorted(unknown))}: "
                     "use default and/or frame")
    mediapipe_fps: dict[str, list[float]] = {t: [] for t in mp_threads}
    mediapipe_rss: dict[str, list[float]] = {t: [] for t in mp_threads}
    repeat_stages: list[dict[str, float]] = []
    repeat_single: list[dict[str, float]] = []
    work_ratios: list[float] = []  # each repeat's graph frames/s over its own work bound
    with tempfile.TemporaryDirectory() as tmp:
        # Video only: the loop has no audio track to carry, so neither does the graph.
        src = samples.make_face_video(Path(tmp) / "face.mp4", frames=args.frames, width=640,
                                      height=480, fps=30, audio=False)
        profile = None
        for i in range(args.repeats):
            for kind, fps in (("loop", loop_fps), ("single", single_fps)):
                run = run_apart(kind, src, Path(tmp) / f"{kind}_{i}.mp4")
                fps.append(run["fps"])
                rss[kind].append(run["peak_rss_mib"])
                anon[kind].append(run["peak_anon_mib"] or 0.0)
            for delegate in delegates:
                run = run_apart(f"graph:{delegate}", src, Path(tmp) / f"graph_{i}.mp4")
                assert run["frames"] == args.frames
                graph_fps[delegate].append(run["fps"])
                graph_cpu[delegate].append(run["cpu"])
                rss[delegate].append(run["peak_rss_mib"])
                anon[delegate].append(run["peak_anon_mib"] or 0.0)
                profile = run["profile"]  # the last run's, as printed below
            for threads in mp_threads if args.mediapipe_python else ():
                script = Path(__file__).with_name("bench_mediapipe_face.py")
                mode = f"frame={_x264_frame_threads()}" if threads == "frame" else threads
                out = subprocess.run([args.mediapipe_python, str(script), str(src),
                                      str(Path(tmp) / f"mp_{i}.mp4"), mode], check=True,
                                     capture_output=True, text=True).stdout
                result = json.loads(out)
                mediapipe_fps[threads].append(result["fps"])
                if "peak_rss_mib" in result:
                    mediapipe_rss[threads].append(result["peak_rss_mib"])
            # The bounds' stages are timed in every repeat, beside the runs they bound:
            # one timing at the end moved the bound by 20% with this machine's speed.
            repeat_stages.append(stage_times(src, Path(tmp) / "stages.mp4", single_thread=False))
            repeat_single.append(stage_times(src, Path(tmp) / "stages1.mp4", single_thread=True))
            work_ratios.append(graph_fps[delegates[0]][-1] * sum(repeat_single[-1].values())
                               / _cores())
    stages = {k: statistics.median(r[k] for r in repeat_stages) for k in repeat_stages[0]}
    single_stages = {k: statistics.median(r[k] for r in repeat_single) for k in repeat_single[0]}
    loop, pipeline = statistics.median(loop_fps), statistics.median(graph_fps[delegates[0]])
    single = statistics.median(single_fps)
    bound = 1 / max(stages.values())
    cores = _cores()
    work_bound = cores / sum(single_stages.values())
    print(f"{args.frames} frames 640x480, median of {args.repeats} runs (frames/s), {cores} cores")
    print(f"hand-written loop   {loop:7.1f}   runs: {', '.join(f'{v:.1f}' for v in loop_fps)}"
          f"   ({_memory(rss['loop'], anon['loop'])})")
    print(f"loop, 1 thread      {single:7.1f}   runs: {', '.join(f'{v:.1f}' for v in single_fps)}"
          f"   ({_memory(rss['single'], anon['single'])})")
    for delegate in delegates:
        runs = graph_fps[delegate]
        print(f"graph, {delegate:<12} {statistics.median(runs):7.1f}   runs: "
              f"{', '.join(f'{v:.1f}' for v in runs)}   "
              f"({_memory(rss[delegate], anon[delegate])}; CPU "
              f"{statistics.median(graph_cpu[delegate]):.0%} of one core; "
              f"{statistics.median(runs) / loop:.2f}x the loop, "
              f"{statistics.median(runs) / statistics.median(single_fps):.2f}x 1 thread)")
    for threads, runs in mediapipe_fps.items():
        if not runs:
            continue
        reference = statistics.median(runs)
        print(f"MediaPipe, {threads + ' threads':<15} {reference:7.1f}   runs: "
              f"{', '.join(f'{v:.1f}' for v in runs)}   (graph / MediaPipe "
              f"{pipeline / reference:.2f}x"
              + (f"; peak RSS {statistics.median(mediapipe_rss[threads]):.0f} MiB)"
                 if mediapipe_rss[threads] else ")"))
    print(f"graph ({delegates[0]}) / loop     {pipeline / loop:7.2f}x")
    print(f"graph ({delegates[0]}) / 1-thread {pipeline / single:7.2f}x")
    print("stages alone, library threads on (ms/frame): "
          + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in stages.items())
          + f"; stage bound {bound:.1f} frames/s; graph at {pipeline / bound:.0%} of it")
    print("stages alone, one thread (ms/frame): "
          + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in single_stages.items())
          + f"; {cores}-core work bound {work_bound:.1f} frames/s; graph at "
          f"{pipeline / work_bound:.0%} of it (each repeat against its own bound: "
          f"{', '.join(f'{r:.0%}' for r in work_ratios)}; median "
          f"{statistics.median(work_ratios):.0%})")
    # Where the graph stands against the work bound: the CPU time it spends a frame (all
    # threads: codecs, model, Python stages, framework) against the stages' sum, and how
    # busy it keeps the cores. The bound needs both at 1.0.
    cpu_per_frame = [c / f for c, f in zip(graph_cpu[delegates[0]], graph_fps[delegates[0]])]
    busy = statistics.median(graph_cpu[delegates[0]]) / cores
    print(f"graph ({delegates[0]}): {statistics.median(cpu_per_frame) * 1e3:.2f} ms of CPU a "
          f"frame against the one-thread stages' {sum(single_stages.values()) * 1e3:.2f} "
          f"({statistics.median(cpu_per_frame) / sum(single_stages.values()):.2f}x), with the "
          f"{cores} cores {busy:.0%} busy")
    serial_bound = min(work_bound, 1 / max(single_stages.values()))
    print(f"perfect {cores}-core pipeline of one-thread stages (the slowest stage or the "
          f"work bound) {serial_bound:.1f} frames/s; graph at {pipeline / serial_bound:.0%} "
          "of it")
    print("peak RSS (VmHWM) / peak anonymous RSS of each run's process, MiB: "
          + "; ".join(f"{k} {', '.join(f'{v:.0f}/{a:.0f}' for v, a in zip(rss[k], anon[k]))}"
                      for k in rss))
    assert profile is not None
    print(profile)
    return 0


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _memory(rss: list[float], anon: list[float]) -> str:
    """Median peak RSS and peak anonymous RSS, MiB."""
    return f"peak RSS {statistics.median(rss):.0f} MiB, anon {statistics.median(anon):.0f} MiB"


if __name__ == "__main__":
    sys.exit(main())
