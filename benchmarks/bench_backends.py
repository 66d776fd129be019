"""Per-call latency and agreement of each inference backend against LiteRT.

For each model: the median ms of 200 calls at 1 thread, and the max |diff| of every
output against LiteRT's on the same random input (face_detection_short_range,
selfie_segmentation, hand_landmark_full by default). A runtime that is not installed
is left out and said so.

    python benchmarks/bench_backends.py [MODEL.tflite ...] [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import mediagraph.calculators  # noqa: F401
from mediagraph import models
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference import _converted, _mnn, _ncnn, _openvino
from mediagraph.errors import MissingDependencyError

MODELS = ["face_detection_short_range.tflite", "selfie_segmentation.tflite",
          "hand_landmark_full.tflite"]
BACKENDS: dict[str, Callable[[Path], B.Backend]] = {
    "litert": lambda p: B.LiteRtCpu(p, 1),
    "onnxruntime-cpu (.onnx twin)": lambda p: B.OrtCpu(_converted.onnx_twin(p), 1),
    "openvino": lambda p: _openvino.open_backend(p, 1, {}),
    "mnn": lambda p: _mnn.open_backend(p, 1, {}),
    "ncnn": lambda p: _ncnn.open_backend(p, 1, {}),
}


def median_ms(session: B.Backend, arrays: list[np.ndarray], calls: int) -> float:
    for _ in range(10):
        session.run(arrays)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        session.run(arrays)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=MODELS)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    print(f"{'model':36s} {'backend':30s} {'ms/call':>8s} {'max |diff|':>11s}")
    for name in args.models:
        path = models.resolve(name)
        reference = B.LiteRtCpu(path, 1)
        rng = np.random.default_rng(0)
        arrays = [rng.uniform(-1, 1, s.shape).astype(s.dtype) for s in reference.inputs]
        want = reference.run(arrays)
        for backend, make in BACKENDS.items():
            try:
                session = make(path)
            except (MissingDependencyError, B.BackendUnavailable, models.ModelConversionError) as exc:
                print(f"{name:36s} {backend:30s} not run: {exc}")
                continue
            diff = max(float(np.abs(g - w).max()) for g, w in zip(session.run(arrays), want))
            print(f"{name:36s} {backend:30s} {median_ms(session, arrays, args.calls):8.2f} "
                  f"{diff:11.2g}")


if __name__ == "__main__":
    main()
