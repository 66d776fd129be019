"""What the runtime backends' tests share: the models, the reference and the tolerance.

The tolerance is relative to an output's size: float32 rounding grows with it
(pose_landmark_full's logits reach ~1400, where ONNX Runtime's CPU provider and LiteRT
already differ by 0.4), and bf16 misses it by about ten times.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediagraph import models
from mediagraph.calculators.inference import _backends as B
from mediagraph.calculators.inference import _converted

# LiteRT lacks this model's custom operators: its reference is ONNX Runtime on the twin.
NO_LITERT = {"face_landmark_with_attention.tflite"}


def tolerance(reference: np.ndarray) -> float:
    return 1e-3 * max(1.0, float(np.abs(reference).max()))


def fetched(name: str) -> Path:
    """A fetched model's path; the test skips, saying so, where it is not fetched."""
    try:
        return models.resolve(name)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def random_inputs(backend: B.Backend) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.uniform(-1, 1, spec.shape).astype(spec.dtype) for spec in backend.inputs]


def reference(path: Path) -> B.Backend:
    """The outputs every runtime is held to: LiteRT's, or ORT's on the twin."""
    if path.name in NO_LITERT:
        return B.cpu(path, 1, _converted.onnx_twin)
    return B.LiteRtCpu(path, 1)


def run_face_model_through_a_config(delegate: str) -> tuple[list[np.ndarray], dict]:
    """face_detection_short_range on zeros through an InferenceCalculator whose options
    say `delegate { <delegate> }`, parsed from a config as a user writes it: the outputs,
    and what the profile row reports (backend, device)."""
    from mediagraph import Graph, parse_config

    path = fetched("face_detection_short_range.tflite")
    config = parse_config(f"""
        input_stream: "in" output_stream: "out"
        node {{ calculator: "InferenceCalculator"
          input_stream: "TENSORS:in" output_stream: "TENSORS:out"
          options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
            model_path: "{path}" delegate {{ {delegate} }} }} }} }}""")
    graph = Graph(config)
    out = graph.run({"in": [([np.zeros((1, 128, 128, 3), np.float32)], 0)]}, timeout=120)
    row = next(r for r in graph.profile().nodes if r.calculator == "InferenceCalculator")
    return list(out["out"][0].value), row.info
