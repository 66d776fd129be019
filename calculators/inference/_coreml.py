"""The Core ML delegate: ONNX Runtime's CoreML execution provider on the model's `.onnx` twin.

Core ML predicts only on Apple's systems, and ONNX Runtime builds its
`CoreMLExecutionProvider` only into its macOS (and iOS) packages: PyPI's `onnxruntime`
wheels for macOS have it, the Linux and Windows ones do not. Elsewhere the delegate
fails at `open` with a `BackendUnavailable` that says so and names the nearest path that
runs here (or, with `allow_fallback: true`, runs on the CPU). coremltools converts
models on Linux too, but its `predict` needs macOS, so converting alone would not help.

On macOS the session is ONNX Runtime's usual one with the CoreML provider first and the
CPU provider after it: ONNX Runtime hands Core ML the partitions it supports and runs the
rest on the CPU. The options map onto the provider's: `compute_units` (MLComputeUnits:
ALL, CPUOnly, CPUAndGPU, CPUAndNeuralEngine), `model_format` (MLProgram, the default,
or NeuralNetwork) and `cache_dir` (ModelCacheDirectory, where the compiled Core ML
model is kept between runs). Written to ONNX Runtime's documented provider options, and
tested here only with a stand-in ONNX Runtime: no Mac was at hand.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from . import _backends as B
from . import _converted

PROVIDER = "CoreMLExecutionProvider"
COMPUTE_UNITS = ("ALL", "CPUOnly", "CPUAndGPU", "CPUAndNeuralEngine")
MODEL_FORMATS = ("MLProgram", "NeuralNetwork")
# What runs on this machine instead: the CPU path Core ML's own CPU units would stand for.
NEAREST = ("the nearest path here is the CPU (--delegate cpu, or delegate { xnnpack {} }: "
           "LiteRT with XNNPACK), or another CPU runtime (--delegate openvino, mnn, ncnn or "
           "executorch)")


def unavailable_reason(platform: str = sys.platform) -> str | None:
    """Why the CoreML provider cannot run on `platform`, or None where it can (macOS)."""
    if platform == "darwin":
        return None
    return (f"the coreml delegate runs ONNX Runtime's {PROVIDER}, which is only available on "
            f"macOS (ONNX Runtime builds it only for Apple's systems; this is {platform}); "
            f"{NEAREST}")


class OrtCoreMl(B._OrtBackend):
    """`.onnx` through ONNX Runtime's CoreML execution provider, the CPU provider after it."""

    backend = "onnxruntime-coreml"

    def __init__(self, path: Path, threads: int, compute_units: str, model_format: str,
                 cache_dir: str) -> None:
        ort = B._ort()
        available = ort.get_available_providers()
        if PROVIDER not in available:
            raise B.BackendUnavailable(
                f"ONNX Runtime here has no {PROVIDER} (it has {', '.join(available)}): "
                "PyPI's onnxruntime for macOS includes it (pip install onnxruntime); "
                f"{NEAREST}")
        so = ort.SessionOptions()
        B._no_spinning(so, threads)
        options = {"MLComputeUnits": compute_units, "ModelFormat": model_format}
        if cache_dir:
            options["ModelCacheDirectory"] = str(Path(cache_dir).expanduser())
        self._load(path, so, [(PROVIDER, options), "CPUExecutionProvider"])
        if self._session.get_providers()[0] != PROVIDER:
            raise B.BackendUnavailable(f"ONNX Runtime could not start {PROVIDER} for {path}")
        self.provider_options = options
        self.device = f"coreml ({compute_units}, {model_format})"


def open_backend(path: Path, threads: int, settings: dict[str, Any]) -> B.Backend:
    """The cached Core ML backend for `path` with the `coreml {}` delegate `settings`."""
    reason = unavailable_reason()
    if reason is not None:
        raise B.BackendUnavailable(reason)
    threads = B.delegate_threads(settings, threads)
    units = str(settings.get("compute_units") or "ALL")
    model_format = str(settings.get("model_format") or "MLProgram")
    cache_dir = str(settings.get("cache_dir") or "")
    onnx = _converted.onnx_twin(path)
    return B.cached(("onnxruntime-coreml", B.file_key(onnx), threads, units, model_format,
                     cache_dir),
                    lambda: OrtCoreMl(onnx, threads, units, model_format, cache_dir))
