"""Per-call latency of each fetched model on each backend this machine has.

Backends: LiteRT (XNNPACK) on the .tflite, ONNX Runtime's CPU provider on the converted
.onnx, and where CUDA starts, the CUDA provider plainly and replaying a CUDA graph (what
`delegate { gpu {} }` does for video). Each cell is the median of --calls timed calls
after 20 warm-up calls, on one fixed random input, in microseconds; the inference
calculator's input check and the copies back to numpy are included, graph scheduling is
not.

    python benchmarks/bench_inference.py [--calls 300] [--threads 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mediagraph.calculators.inference import _backends as B
from mediagraph import models


def _time(run: Callable[[list[np.ndarray]], list[np.ndarray]], arrays: list[np.ndarray],
          calls: int) -> float:
    for _ in range(20):
        run(arrays)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        run(arrays)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--threads", type=int, default=-1,
                        help="CPU backends' threads (-1: the runtime's default)")
    args = parser.parse_args()
    cuda = "CUDAExecutionProvider" in B.gpu_providers()
    columns = ["litert", "ort-cpu"] + (["cuda", "cuda graph"] if cuda else [])
    print(f"median µs per call, {args.calls} calls; CPU threads {args.threads}")
    print(f"{'model':<36}" + "".join(f"{c:>12}" for c in columns))
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(models.MEDIAPIPE_MODELS):
            tflite = Path(shutil.copy(models.resolve(name), tmp))
            onnx = models.convert(tflite)
            backends = [B.LiteRtCpu(tflite, args.threads), B.OrtCpu(onnx, args.threads)]
            if cuda:
                backends += [B.OrtGpu(onnx, 1, True, "", False), B.OrtGpu(onnx, 1, True, "", True)]
            rng = np.random.default_rng(0)
            arrays = [rng.uniform(0, 1, [d if d > 0 else 1 for d in s.shape]).astype(s.dtype)
                      for s in backends[0].inputs]
            cells = []
            for backend in backends:
                # A refused capture runs plainly: the plain column already has that.
                refused = cuda and backend is backends[-1] and "cuda graph" not in backend.device
                cells.append(f"{'-':>12}" if refused else
                             f"{_time(backend.run, arrays, args.calls):12.0f}")
            print(f"{name.removesuffix('.tflite'):<36}" + "".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
