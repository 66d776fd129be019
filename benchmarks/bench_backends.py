"""Per-call latency and agreement of each inference backend against LiteRT.

A thin wrapper over `mediagraph models bench` (mediagraph/model_bench.py), which this
script grew into: the same models as before at 1 thread, results under ./bench.

    python benchmarks/bench_backends.py [MODEL.tflite ...] [--calls 200]
"""

from __future__ import annotations

import argparse
import sys

from mediagraph.cli import main as mediagraph

MODELS = ["face_detection_short_range.tflite", "selfie_segmentation.tflite",
          "hand_landmark_full.tflite"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=MODELS)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    return mediagraph(["models", "bench", "--models", *args.models, "--calls", str(args.calls),
                       "--threads", "1"])


if __name__ == "__main__":
    sys.exit(main())
