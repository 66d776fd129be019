"""`mediagraph models bench`: every fetched model on every installed inference backend.

    mediagraph models bench [--models NAME...] [--backends litert,onnxruntime,...]
                            [--calls 100] [--threads 1,2] [--out DIR] [--image PATH]

For each model one set of inputs is made (the sample photo, or `--image`, resized to the
model's input and scaled to [0, 1]; an input that is not an image gets seeded uniform
noise in [-1, 1]) and written once; every backend reads that same file. LiteRT is the
reference: each backend's result holds the max abs diff of its outputs from LiteRT's,
the load time (the conversion, when the cache lacked it, is timed apart), the median
and p95 latency of `--calls` calls at each `--threads` count, and the peak RSS.

Each backend runs in a process of its own (`python -m mediagraph.model_bench --worker`),
so its peak RSS is its own: the whole process's high-water mark (`VmHWM`), which includes
the Python interpreter, numpy and mediagraph, not the runtime alone. One process per (model, backend) also keeps one runtime's thread pools
and allocator from the next one's timings.

For the detectors (`DETECTORS`), the same process also runs MediaPipe's detection
subgraph on the photo with every InferenceCalculator sent to the backend
(`inference_delegate`), so decoding, NMS and projection are the graph's own; the result
holds the mean, over LiteRT's detections, of the best IoU of a box from the backend.
ONNX Runtime on the `.onnx` twin has no delegate, so it has no IoU.

A runtime that does not import is a row saying which extra installs it; a model a
backend cannot convert is a row naming the operator. Results go to a table on stdout
and, under `--out`, `bench.csv`, `bench.json` and `bench.png` (the chart needs
matplotlib: the `bench` extra).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph import models

# Backend -> (the module it imports, the extra that installs it; None: a core dependency).
BACKENDS: dict[str, tuple[str, str | None]] = {
    "litert": ("ai_edge_litert.interpreter", None),
    "onnxruntime": ("onnxruntime", None),
    "openvino": ("openvino", "openvino"),
    "mnn": ("MNN", "mnn"),
    "ncnn": ("ncnn", "ncnn"),
    "executorch": ("executorch", "executorch"),
}
REFERENCE = "litert"
# `inference_delegate` that sends a graph's InferenceCalculators to each backend.
DELEGATES = {"litert": "cpu", "openvino": "openvino", "mnn": "mnn", "ncnn": "ncnn",
             "executorch": "executorch"}
# Detector model -> (MediaPipe's subgraph that decodes it, the sample still it looks at).
DETECTORS: dict[str, tuple[str, str]] = {
    "face_detection_short_range.tflite": ("FaceDetectionShortRangeCpu", "portrait"),
    "palm_detection_full.tflite": ("PalmDetectionCpu", "hand"),
    "pose_detection.tflite": ("PoseDetectionCpu", "bus"),
}
DEFAULT_STILL = "portrait"
WARMUP_CALLS = 3


@dataclass
class Result:
    """One (model, backend) row. `status` is "ok", "skipped" or "failed"."""

    model: str
    backend: str
    status: str
    reason: str = ""
    operator: str = ""
    max_abs_diff: float | None = None
    detection_iou: float | None = None
    detections: int | None = None
    convert_s: float | None = None
    load_s: float | None = None
    peak_rss_mb: float | None = None
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # threads -> stats


def missing(backend: str) -> str | None:
    """Why `backend` cannot run here (its module does not import), or None."""
    module, extra = BACKENDS[backend]
    # Found, not imported: the runtimes load in the workers, not in this process (a
    # runtime that is found but fails to import is the worker's `skipped` row).
    try:
        found = sys.modules.get(module, True) is not None and \
            importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return None
    install = f"pip install 'mediagraph[{extra}]'" if extra else "pip install mediagraph"
    return f"{module} is not installed; {install}"


# -- inputs --------------------------------------------------------------------------------

def _image(path: str | None, model: str) -> np.ndarray:
    """The RGB image a model's inputs and detections come from."""
    if path is not None:
        import cv2

        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"--image {path}: not an image OpenCV can read")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    from mediagraph.testing import samples

    name = DETECTORS.get(model, ("", DEFAULT_STILL))[1]
    if name == "hand":  # the pointing hand of zidane: too small in the whole photo
        top, left, bottom, right = samples.HAND_CROP
        return np.ascontiguousarray(samples.photo("zidane")[top:bottom, left:right])
    return samples.still(name)


def make_inputs(specs: Sequence[Any], image: np.ndarray) -> list[np.ndarray]:
    """One array per input spec: the image resized and scaled to [0, 1] for an NHWC
    3-channel float input, else seeded uniform noise in [-1, 1]."""
    import cv2

    rng = np.random.default_rng(0)
    arrays = []
    for spec in specs:
        shape = tuple(spec.shape)
        if len(shape) == 4 and shape[0] == 1 and shape[3] == 3 and np.dtype(spec.dtype).kind == "f":
            resized = cv2.resize(image, (shape[2], shape[1]), interpolation=cv2.INTER_AREA)
            arrays.append((resized.astype(np.float32) / 255.0)[None].astype(spec.dtype))
        else:
            arrays.append(rng.uniform(-1, 1, shape).astype(spec.dtype))
    return arrays


# -- the worker: one backend, one model, in its own process --------------------------------

def _open(backend: str, path: Path, threads: int) -> Any:
    from mediagraph.calculators.inference import _backends as B
    from mediagraph.calculators.inference import _converted

    if backend == "litert":
        return B.LiteRtCpu(path, threads)
    if backend == "onnxruntime":
        return B.OrtCpu(_converted.onnx_twin(path), threads)
    module = importlib.import_module(f"mediagraph.calculators.inference._{backend}")
    return module.open_backend(path, threads, {})


def _convert(backend: str, path: Path) -> None:
    """Make the backend's converted model now, so the load time that follows is a load."""
    from mediagraph.calculators.inference import _converted

    if backend == "onnxruntime":
        _converted.onnx_twin(path)
    elif backend != "litert":
        importlib.import_module(f"mediagraph.calculators.inference._{backend}").convert(path)


def _latency(session: Any, arrays: list[np.ndarray], calls: int) -> dict[str, float]:
    for _ in range(WARMUP_CALLS):
        session.run(arrays)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        session.run(arrays)
        times.append((time.perf_counter() - start) * 1e3)
    return {"median": statistics.median(times), "p95": float(np.percentile(times, 95))}


def _boxes(backend: str, model: str, image: np.ndarray) -> list[list[float]]:
    """The boxes (xmin, ymin, width, height, relative) MediaPipe's subgraph for `model`
    finds in `image` with its inference on `backend`."""
    import mediagraph as mg
    import mediagraph.calculators  # noqa: F401  (registers the calculators and subgraphs)
    from mediagraph.formats import ImageFrame

    subgraph = DETECTORS[model][0]
    config = (f'input_stream: "image" node {{ calculator: "{subgraph}" '
              'input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }')
    graph = mg.Graph(config, inference_delegate=DELEGATES[backend])
    out = graph.run({"image": [(ImageFrame(np.ascontiguousarray(image)), 0)]}, timeout=120)
    packets = out.get("detections", [])
    found = packets[0].value if packets else []
    return [[b.xmin, b.ymin, b.width, b.height] for d in found
            if (b := d.relative_bounding_box) is not None]


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """Run one backend on one model as `job` says; returns a Result as a dict (plus the
    detector boxes). Outputs are written to `job["outputs"]` for the caller to compare."""
    from mediagraph.calculators.inference import _backends as B
    from mediagraph.errors import MissingDependencyError

    path, backend = Path(job["path"]), job["backend"]
    result = Result(path.name, backend, "ok")
    arrays = list(np.load(job["inputs"]).values())
    try:
        start = time.perf_counter()
        _convert(backend, path)
        result.convert_s = time.perf_counter() - start
        for i, threads in enumerate(job["threads"]):
            start = time.perf_counter()
            session = _open(backend, path, threads)
            load_s = time.perf_counter() - start
            if i == 0:
                result.load_s = load_s
                np.savez(job["outputs"], *session.run(arrays))
            result.latency_ms[str(threads)] = _latency(session, arrays, job["calls"])
            del session
    except MissingDependencyError as exc:
        return {**asdict(Result(path.name, backend, "skipped", str(exc))), "boxes": None}
    except (models.ModelConversionError, B.BackendUnavailable, B.ModelLoadError) as exc:
        return {**asdict(Result(path.name, backend, "failed", str(exc),
                                getattr(exc, "operator", None) or getattr(exc, "op", "") or "")),
                "boxes": None}
    result.peak_rss_mb = peak_rss_mb()  # before the detector graph runs
    boxes = None
    if path.name in DETECTORS and backend in DELEGATES:
        try:
            boxes = _boxes(backend, path.name, np.load(job["image"]))
        except Exception as exc:  # noqa: BLE001 - the row keeps its timings and says why
            result.reason = f"no detections: {type(exc).__name__}: {exc}"
    return {**asdict(result), "boxes": boxes}


def peak_rss_mb() -> float:
    """This process's peak RSS: Linux's VmHWM, which starts afresh at exec (`ru_maxrss`
    does not: a child exec'd from a big parent reports the parent's peak); elsewhere
    ru_maxrss (KiB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _run_worker(job: dict[str, Any], timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "mediagraph.model_bench", "--worker", json.dumps(job)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {**asdict(Result(Path(job["path"]).name, job["backend"], "failed",
                                f"the worker took longer than {timeout:g} s")), "boxes": None}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {**asdict(Result(Path(job["path"]).name, job["backend"], "failed",
                                f"the worker exited with {done.returncode}: {tail}")),
                "boxes": None}
    return json.loads(lines[-1])


# -- comparing -----------------------------------------------------------------------------

def max_abs_diff(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    diffs = []
    for g, w in zip(got, want):
        if g.size != w.size:
            return math.nan
        diffs.append(float(np.abs(g.reshape(w.shape).astype(np.float64) - w).max()))
    return max(diffs, default=0.0)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two (xmin, ymin, width, height) boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def detection_iou(got: list[list[float]], want: list[list[float]]) -> float | None:
    """The mean over the reference boxes of the best IoU of a box in `got` (None: the
    reference found nothing)."""
    if not want:
        return None
    return float(np.mean([max((iou(w, g) for g in got), default=0.0) for w in want]))


# -- the command -----------------------------------------------------------------------------

def bench(model_names: Sequence[str], backends: Sequence[str], calls: int,
          threads: Sequence[int], image_path: str | None = None,
          timeout: float = 600) -> list[Result]:
    """Measure every model on every backend; LiteRT first, as the reference."""
    from mediagraph.calculators.inference import _backends as B
    from mediagraph.calculators.inference import _converted

    order = [REFERENCE] + [b for b in backends if b != REFERENCE]
    results = []
    with tempfile.TemporaryDirectory(prefix="mediagraph-bench-") as tmp:
        for name in model_names:
            path = models.resolve(name)
            image = _image(image_path, path.name)
            inputs, image_file = Path(tmp) / f"{path.stem}.in.npz", Path(tmp) / f"{path.stem}.image.npy"
            # The inputs LiteRT declares (the ONNX twin's, same layout, where LiteRT lacks
            # the model's custom operators).
            np.savez(inputs, *make_inputs(B.cpu(path, 1, _converted.onnx_twin).inputs, image))
            np.save(image_file, image)
            want: list[np.ndarray] | None = None
            want_boxes = None
            for backend in order:
                reason = missing(backend)
                if reason is not None:
                    if backend in backends:
                        results.append(Result(path.name, backend, "skipped", reason))
                    continue
                outputs = Path(tmp) / f"{path.stem}.{backend}.npz"
                row = _run_worker({"path": str(path), "backend": backend, "inputs": str(inputs),
                                   "image": str(image_file), "outputs": str(outputs),
                                   "calls": calls, "threads": list(threads)}, timeout)
                boxes = row.pop("boxes")
                result = Result(**row)
                if result.status == "ok":
                    got = list(np.load(outputs).values())
                    if backend == REFERENCE:
                        want, want_boxes = got, boxes
                    if want is not None:
                        result.max_abs_diff = max_abs_diff(got, want)
                    if boxes is not None:
                        result.detections = len(boxes)
                        if want_boxes is not None:
                            result.detection_iou = detection_iou(boxes, want_boxes)
                if backend in backends:
                    results.append(result)
    return results


COLUMNS = ["model", "backend", "status", "max_abs_diff", "detection_iou", "detections",
           "convert_s", "load_s", "peak_rss_mb"]


def flat_rows(results: Sequence[Result], threads: Sequence[int]) -> list[dict[str, Any]]:
    """One flat dict per result: the CSV's rows (latency as `ms_median_t1`, `ms_p95_t1`...)."""
    rows = []
    for r in results:
        row = {k: getattr(r, k) for k in COLUMNS}
        for t in threads:
            stats = r.latency_ms.get(str(t), {})
            row[f"ms_median_t{t}"] = stats.get("median")
            row[f"ms_p95_t{t}"] = stats.get("p95")
        row["operator"], row["reason"] = r.operator, r.reason
        rows.append(row)
    return rows


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(results: Sequence[Result], threads: Sequence[int]) -> str:
    """The results as a Markdown table (what the README shows)."""
    head = ["model", "backend", "max abs diff", "det. IoU", "load s", "peak RSS MB"]
    for t in threads:
        head += [f"ms median {t}t", f"ms p95 {t}t"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        model = r.model.removesuffix(".tflite")
        if r.status != "ok":
            why = f"{r.status}: {r.reason}".replace("|", "/").replace("\n", " ") \
                .replace(str(models.cache_dir()) + os.sep, "")  # the cache path says nothing
            lines.append(f"| {model} | {r.backend} | {why[:200]} |" + " |" * (len(head) - 3))
            continue
        cells = [model, r.backend, _cell(r.max_abs_diff, ".2g"), _cell(r.detection_iou, ".3f"),
                 _cell(r.load_s, ".2f"), _cell(r.peak_rss_mb, ".0f")]
        for t in threads:
            stats = r.latency_ms.get(str(t), {})
            cells += [_cell(stats.get("median"), ".2f"), _cell(stats.get("p95"), ".2f")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(results: Sequence[Result], threads: Sequence[int], out: Path) -> list[Path]:
    """bench.csv, bench.json and (with matplotlib) bench.png under `out`; returns what
    was written."""
    out.mkdir(parents=True, exist_ok=True)
    rows = flat_rows(results, threads)
    with open(out / "bench.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "bench.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    written = [out / "bench.csv", out / "bench.json"]
    chart = out / "bench.png"
    if draw(results, threads[0], chart):
        written.append(chart)
    return written


def draw(results: Sequence[Result], threads: int, path: Path) -> bool:
    """A bar per backend per model (median ms at `threads` threads); False, saying so,
    without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no chart: matplotlib is not installed (pip install 'mediagraph[bench]')",
              file=sys.stderr)
        return False
    ok = [r for r in results if r.status == "ok" and str(threads) in r.latency_ms]
    model_names = list(dict.fromkeys(r.model.removesuffix(".tflite") for r in ok))
    backends = list(dict.fromkeys(r.backend for r in ok))
    width = 0.8 / max(1, len(backends))
    fig, ax = plt.subplots(figsize=(min(16.0, max(6.0, 2.0 + 1.0 * len(model_names))), 4.5))
    for i, backend in enumerate(backends):
        values = [next((r.latency_ms[str(threads)]["median"] for r in ok
                        if r.backend == backend and r.model.removesuffix(".tflite") == m), 0.0)
                  for m in model_names]
        ax.bar(np.arange(len(model_names)) + i * width, values, width, label=backend)
    ax.set_xticks(np.arange(len(model_names)) + width * (len(backends) - 1) / 2)
    ax.set_xticklabels(model_names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"median ms per call, {threads} thread(s)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


HELP = """Run each fetched model on every installed backend with the same inputs (the
sample photo resized to the model's input). Per (model, backend): max abs diff from LiteRT,
detection IoU against LiteRT's decoded detections for the detectors, load time, median and
p95 latency per thread count, and peak RSS. Each backend runs in a process of its own, so
peak RSS is that process's high-water mark (VmHWM), Python, numpy and mediagraph included
(about 80 MB before a runtime loads), not the runtime's increase alone. A backend that is
not installed is a skipped row naming its extra. Writes bench.csv, bench.json and bench.png
(matplotlib: pip install 'mediagraph[bench]') under --out."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = HELP
    parser.add_argument("--models", nargs="+", metavar="NAME",
                        help="cached model names (default: every fetched .tflite model)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help=f"comma-separated, of {', '.join(BACKENDS)} (LiteRT always runs: "
                             "it is the reference)")
    parser.add_argument("--calls", type=int, default=100, help="timed calls per thread count")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--out", default="bench", metavar="DIR",
                        help="where bench.csv, bench.json and bench.png go")
    parser.add_argument("--image", metavar="PATH",
                        help="the photo for inputs and detections (default: a sample photo: "
                             "the astronaut portrait; zidane's hand for palms, bus for poses)")


def run(args: argparse.Namespace) -> int:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(unknown)}; there are {', '.join(BACKENDS)}")
    threads = [int(t) for t in args.threads.split(",")]
    names = args.models or [p.name for p in models.list_models() if p.suffix == ".tflite"]
    if not names:
        raise ValueError(f"no models in {models.cache_dir()}; run `mediagraph models fetch`")
    results = bench(names, backends, args.calls, threads, args.image)
    print(table(results, threads))
    for path in write(results, threads, Path(args.out)):
        print(f"wrote {path}")
    return 0


def _worker_main(argv: Sequence[str]) -> int:
    print(json.dumps(measure(json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.exit(_worker_main(sys.argv[1:]))
    sys.exit(0)
