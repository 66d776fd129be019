"""MediaPipe's live demos on your webcam, with frame rate, latency and drops drawn; q or Esc quits.

    python examples/webcam_demo.py [--graph webcam_face_detection] [--camera 0 | --file in.mp4]
                                   [--headless]

Runs graphs/<graph>.pbtxt: webcam_face_detection, webcam_hand_tracking,
webcam_selfie_segmentation, webcam_pose_tracking, webcam_face_mesh,
webcam_holistic_tracking or webcam_preview. `--file` plays a video in real time as if it
were the camera, so the demo runs on a machine without one; `--headless` keeps the frames
in memory instead of opening a window, and prints latency and drops when the run ends.
Without a camera or a display it says which is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import mediagraph as mg
from mediagraph.calculators.io.display import DisplayCalculator, MemoryWindow
from mediagraph.profiler import GraphProfile

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
LIVE_GRAPHS = sorted(path.stem for path in GRAPHS.glob("webcam_*.pbtxt"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default="webcam_face_detection", choices=LIVE_GRAPHS)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    source.add_argument("--file", type=Path, help="a video, played in real time")
    parser.add_argument("--headless", action="store_true",
                        help="no window: keep the frames in memory, print figures at the end")
    args = parser.parse_args(argv)
    if args.file is not None and not args.file.is_file():
        parser.error(f"--file {args.file}: no such file")

    window = None
    if args.headless:
        window = DisplayCalculator.window_backend = MemoryWindow(keep_images=0)
    graph = mg.Graph(GRAPHS / f"{args.graph}.pbtxt")
    try:
        graph.start_run({"input_camera": str(args.file) if args.file else args.camera})
        graph.wait_until_done()
    except KeyboardInterrupt:
        graph.cancel()
    except Exception as exc:  # one error, or an ExceptionGroup when camera and window both fail
        for error in getattr(exc, "exceptions", [exc]):
            print(f"webcam demo: {error}", file=sys.stderr)
        if not args.headless:
            print("webcam demo: --headless runs without a window", file=sys.stderr)
        return 1
    if window is not None:
        print(summary(graph.profile(), window))
    return 0


def summary(profile: GraphProfile, window: MemoryWindow) -> str:
    """Frames shown and dropped, and the capture-to-screen latency."""
    dropped = {row.calculator: row.dropped for row in profile.nodes}
    latency = window.latencies_ms()
    p50, p95 = np.percentile(latency, [50, 95]) if latency.size else (0.0, 0.0)
    return (f"shown {latency.size} frames, dropped {dropped['FlowLimiterCalculator']} at the "
            f"FlowLimiter and {dropped['CameraSourceCalculator']} at the camera; latency p50 "
            f"{p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
