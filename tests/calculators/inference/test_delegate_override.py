"""`inference_delegate` / `--delegate`: every inference node on one device, subgraphs included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401  (registers the calculators)
import mediagraph as mg
from mediagraph.calculators.inference import _backends as B
from mediagraph import models
from mediagraph.testing import samples
from mediagraph.cli import main
from mediagraph.config.options_access import find_node_options
from mediagraph.formats import ImageFrame

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[3]
FACE_GRAPH = ('input_stream: "image" node { calculator: "FaceDetectionShortRangeCpu" '
              'input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }')


def _delegates(graph: mg.Graph) -> list[str]:
    """The delegate member each expanded InferenceCalculator node now sets."""
    found = []
    for node in graph.spec.config.node:
        if node.calculator == "InferenceCalculator":
            options = find_node_options(node, "mediapipe.InferenceCalculatorOptions")
            found.append(",".join(f.name for f, _ in options.delegate.ListFields()))
    return found


@pytest.mark.parametrize(("asked", "member"), [("gpu", "gpu"), ("cpu", "xnnpack"),
                                               ("hexagon", "dsp"), ("AUTO", "auto")])
def test_the_delegate_inside_a_subgraph_is_replaced(asked, member):
    graph = mg.Graph(FACE_GRAPH, inference_delegate=asked)
    assert _delegates(graph) == [member]
    assert _delegates(mg.Graph(FACE_GRAPH)) == ["xnnpack"]  # the config itself is untouched


def test_every_inference_node_of_hand_tracking_is_replaced():
    graph = mg.Graph(ROOT / "graphs" / "hand_tracking.pbtxt", inference_delegate="gpu")
    assert _delegates(graph) == ["gpu", "gpu"]  # palm detection and hand landmarks


def test_the_override_reaches_the_calculator(monkeypatch):
    """Without CUDA, a face graph sent to the GPU fails at open, saying what to install."""
    try:
        models.resolve("face_detection_short_range.tflite")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    monkeypatch.setattr(B, "gpu_providers", list)
    image = ImageFrame(np.ascontiguousarray(samples.photo()))
    with pytest.raises(mg.CalculatorError, match=r"pip install 'mediagraph\[gpu\]'"):
        mg.Graph(FACE_GRAPH, inference_delegate="gpu").run({"image": [(image, 0)]}, timeout=60)
    faces = mg.Graph(FACE_GRAPH, inference_delegate="auto").run(
        {"image": [(image, 0)]}, timeout=60)["detections"][0].value
    assert len(faces) == 1


def test_an_unknown_delegate_is_named():
    with pytest.raises(mg.GraphConfigError, match="unknown inference delegate 'tpu'; use one "
                                                  "of cpu, xnnpack"):
        mg.Graph(FACE_GRAPH, inference_delegate="tpu")


def test_a_graph_without_inference_nodes_says_so(tmp_path, capsys):
    path = tmp_path / "chain.pbtxt"
    path.write_text('node { calculator: "CountingSourceCalculator" output_stream: "n" }')
    assert main(["run", str(path), "--delegate", "gpu"]) != 0
    err = capsys.readouterr().err
    assert "chain.pbtxt" in err and "no InferenceCalculator node to run on gpu" in err
