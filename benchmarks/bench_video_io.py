"""Decode -> resize -> encode: a mediagraph graph vs a plain single-threaded loop.

Both do the same three operations on the same generated 640x480 30 fps H.264 video
(PyAV decode with decoder threads, OpenCV resize to 320x240, PyAV libx264 encode), in
the same process; the graph overlaps the stages on separate threads. Prints frames/s
(median of --repeats runs) and the ratio.

    python benchmarks/bench_video_io.py [--frames 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import mediagraph as mg
from mediagraph.testing import samples

WIDTH, HEIGHT = 320, 240
GRAPH = """
input_side_packet: "input_video_path"
input_side_packet: "output_video_path"
node { calculator: "VideoDecoderCalculator" input_side_packet: "INPUT_FILE_PATH:input_video_path"
       output_stream: "VIDEO:video" output_stream: "VIDEO_PRESTREAM:header"
       node_options { [type.googleapis.com/mediagraph.VideoDecoderCalculatorOptions] {
         thread_type: "THREAD_TYPE" } } }
node { calculator: "ImageTransformationCalculator" input_stream: "IMAGE:video"
       output_stream: "IMAGE:small"
       options { [mediapipe.ImageTransformationCalculatorOptions.ext] {
         output_width: %d output_height: %d scale_mode: STRETCH } } }
node { calculator: "VideoEncoderCalculator" input_stream: "VIDEO:small"
       input_stream: "VIDEO_PRESTREAM:header" input_side_packet: "OUTPUT_FILE_PATH:output_video_path" }
""" % (WIDTH, HEIGHT)


def plain_loop(src: Path, dst: Path, thread_type: str) -> int:
    import av
    import cv2

    frames = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        if thread_type != "NONE":
            vin.thread_type = thread_type
        rate = vin.average_rate or Fraction(30)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for frame in inp.decode(vin):
            rgb = frame.to_ndarray(format="rgb24")
            small = cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
            new = av.VideoFrame.from_ndarray(small, format="rgb24")
            new.pts = frames
            new.time_base = 1 / rate
            for packet in vout.encode(new):
                out.mux(packet)
            frames += 1
        for packet in vout.encode():
            out.mux(packet)
    return frames


def graph_run(src: Path, dst: Path, thread_type: str) -> int:
    graph = mg.Graph(GRAPH.replace("THREAD_TYPE", thread_type))
    count = [0]
    graph.observe_output_stream("small", lambda _p: count.__setitem__(0, count[0] + 1))
    graph.run(side_packets={"input_video_path": str(src), "output_video_path": str(dst)})
    return count[0]


def frames_in(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--thread-types", nargs="+", default=["AUTO", "NONE"],
                        help="decoder threading to try in both (FFmpeg thread_type)")
    args = parser.parse_args()
    runners = {"plain loop": plain_loop, "mediagraph": graph_run}
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = samples.make_video(Path(tmp) / "in.mp4", frames=args.frames, width=640, height=480,
                                 fps=30, audio=False)
        for i in range(args.repeats):
            for thread_type in args.thread_types:
                for name, fn in runners.items():
                    dst = Path(tmp) / f"{name.replace(' ', '_')}_{thread_type}_{i}.mp4"
                    start = time.perf_counter()
                    n = fn(src, dst, thread_type)
                    elapsed = time.perf_counter() - start
                    assert n == args.frames == frames_in(dst), (name, n, frames_in(dst))
                    results.setdefault((name, thread_type), []).append(n / elapsed)
    print(f"{args.frames} frames 640x480 -> {WIDTH}x{HEIGHT}, median of {args.repeats} runs "
          "(frames/s)")
    for thread_type in args.thread_types:
        plain = statistics.median(results[("plain loop", thread_type)])
        graph = statistics.median(results[("mediagraph", thread_type)])
        print(f"decoder threads {thread_type:5s}  plain loop {plain:7.1f}  mediagraph "
              f"{graph:7.1f}  ratio {graph / plain:.2f}x")
    best_plain = max(statistics.median(v) for k, v in results.items() if k[0] == "plain loop")
    best_graph = max(statistics.median(v) for k, v in results.items() if k[0] == "mediagraph")
    print(f"best of each: plain loop {best_plain:.1f}, mediagraph {best_graph:.1f}, "
          f"ratio {best_graph / best_plain:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
