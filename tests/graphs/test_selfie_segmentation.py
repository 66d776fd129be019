"""Selfie segmentation: MediaPipe's SelfieSegmentationCpu interface on a real photo, and
the background-blur and mask-overlay video graphs through the CLI (checked with PyAV)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mediagraph as mg
from mediagraph import models
from mediagraph.testing import samples
from mediagraph.formats import ImageFormat, ImageFrame

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = ROOT / "graphs"
MODEL = "selfie_segmentation.tflite"
LANDSCAPE_MODEL = "selfie_segmentation_landscape.tflite"
pytestmark = pytest.mark.timeout(180)

# The astronaut portrait (512x512): regions the model must call person and background.
PERSON = (slice(300, 500), slice(150, 350))   # her suit, centre-bottom
FACE = (slice(60, 170), slice(190, 280))
BACKGROUND = (slice(0, 250), slice(470, 512))  # plain grey wall right of the shuttle

# MediaPipe's selfie_segmentation_cpu.pbtxt as it ships (comments dropped), registered
# there as SelfieSegmentationCpu; its wheel carries the binary form.
MEDIAPIPE_CPU_CONFIG = """
type: "SelfieSegmentationCpu"
input_stream: "IMAGE:image"
input_side_packet: "MODEL_SELECTION:model_selection"
output_stream: "SEGMENTATION_MASK:segmentation_mask"
node {
  calculator: "SwitchContainer"
  input_side_packet: "SELECT:model_selection"
  input_stream: "IMAGE:image"
  output_stream: "TENSORS:input_tensors"
  options: {
    [mediapipe.SwitchContainerOptions.ext] {
      select: 0
      contained_node: {
        calculator: "ImageToTensorCalculator"
        options: {
          [mediapipe.ImageToTensorCalculatorOptions.ext] {
            output_tensor_width: 256
            output_tensor_height: 256
            keep_aspect_ratio: false
            output_tensor_float_range { min: 0.0 max: 1.0 }
            border_mode: BORDER_ZERO
          }
        }
      }
      contained_node: {
        calculator: "ImageToTensorCalculator"
        options: {
          [mediapipe.ImageToTensorCalculatorOptions.ext] {
            output_tensor_width: 256
            output_tensor_height: 144
            keep_aspect_ratio: false
            output_tensor_float_range { min: 0.0 max: 1.0 }
            border_mode: BORDER_ZERO
          }
        }
      }
    }
  }
}
node {
  calculator: "TfLiteCustomOpResolverCalculator"
  output_side_packet: "OP_RESOLVER:op_resolver"
}
node {
  calculator: "SelfieSegmentationModelLoader"
  input_side_packet: "MODEL_SELECTION:model_selection"
  output_side_packet: "MODEL:model"
}
node {
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:output_tensors"
  input_side_packet: "MODEL:model"
  input_side_packet: "OP_RESOLVER:op_resolver"
  options: {
    [mediapipe.InferenceCalculatorOptions.ext] {
      delegate { xnnpack {} }
    }
  }
}
node {
  calculator: "ImagePropertiesCalculator"
  input_stream: "IMAGE_CPU:image"
  output_stream: "SIZE:input_size"
}
node {
  calculator: "TensorsToSegmentationCalculator"
  input_stream: "TENSORS:output_tensors"
  input_stream: "OUTPUT_SIZE:input_size"
  output_stream: "MASK:mask_image"
  options: {
    [mediapipe.TensorsToSegmentationCalculatorOptions.ext] {
      activation: NONE
    }
  }
}
node: {
  calculator: "FromImageCalculator"
  input_stream: "IMAGE:mask_image"
  output_stream: "IMAGE_CPU:segmentation_mask"
}
"""
# A node using the subgraph, as MediaPipe's header comment shows it.
USE_SUBGRAPH = """
input_stream: "image"
input_side_packet: "model_selection"
output_stream: "segmentation_mask"
node {
  calculator: "SelfieSegmentationCpu"
  input_side_packet: "MODEL_SELECTION:model_selection"
  input_stream: "IMAGE:image"
  output_stream: "SEGMENTATION_MASK:segmentation_mask"
}
"""


@pytest.fixture(scope="module")
def portrait() -> ImageFrame:
    try:
        models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return ImageFrame(np.ascontiguousarray(samples.photo()))


def segment(config, image: ImageFrame, side_packets=None) -> ImageFrame:
    out = mg.Graph(config).run({"image": [(image, 0)]}, side_packets or {},
                               timeout=120)["segmentation_mask"]
    assert len(out) == 1
    return out[0].value


def assert_person_segmented(mask: ImageFrame, image: ImageFrame) -> None:
    assert mask.format == ImageFormat.VEC32F1
    assert (mask.width, mask.height) == (image.width, image.height)
    m = mask.data[:, :, 0]
    assert 0.0 <= m.min() and m.max() <= 1.0
    assert m[PERSON].mean() > 0.95 and m[FACE].mean() > 0.9
    assert m[BACKGROUND].max() < 0.05


@pytest.mark.parametrize("selection", [0, 1], ids=["general", "landscape"])
@pytest.mark.parametrize("form", ["text", "binary", "wheel"])
def test_mediapipes_own_config_runs_unchanged(portrait, form, selection):
    # MODEL_SELECTION picks the model (SelfieSegmentationModelLoader) and its input
    # tensor (a SwitchContainer of two ImageToTensorCalculators)
    try:
        models.resolve(LANDSCAPE_MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    if form == "wheel":  # the binary config MediaPipe's wheel ships
        path = models.cache_dir() / "mediapipe_graphs" / "selfie_segmentation_cpu.binarypb"
        if not path.is_file():
            pytest.skip(f"{path} is not in the model cache; run `mediagraph models fetch`")
        config = mg.load_config(path)
    else:
        config = mg.parse_config(MEDIAPIPE_CPU_CONFIG)
    if form == "binary":
        config = mg.parse_config(mg.to_binary(config))
    assert_person_segmented(segment(config, portrait, {"model_selection": selection}), portrait)


@pytest.mark.parametrize("form", ["text", "binary"])
def test_a_mediapipe_node_using_the_subgraph_runs_unchanged(portrait, form):
    config = mg.parse_config(USE_SUBGRAPH)
    if form == "binary":
        config = mg.parse_config(mg.to_binary(config))
    assert_person_segmented(segment(config, portrait, {"model_selection": 0}), portrait)


def test_model_selection_may_be_left_out(portrait):
    config = mg.parse_config(USE_SUBGRAPH.replace(
        'input_side_packet: "MODEL_SELECTION:model_selection"', "").replace(
        'input_side_packet: "model_selection"', ""))
    assert_person_segmented(segment(config, portrait), portrait)


def test_the_mask_follows_the_image_size(portrait):
    wide = ImageFrame(np.ascontiguousarray(np.hstack([portrait.data, portrait.data])))
    mask = segment(mg.parse_config(USE_SUBGRAPH), wide, {"model_selection": 0})
    assert (mask.width, mask.height) == (1024, 512)


# -- the video graphs, through the CLI --------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "mediagraph", *args], check=False,
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


def decode(path: Path) -> tuple[list[np.ndarray], bool]:
    import av

    with av.open(str(path)) as container:
        has_audio = bool(container.streams.audio)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames, has_audio


def sharpness(frame: np.ndarray) -> float:
    import cv2

    return float(cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory) -> Path:
    try:
        models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return samples.make_face_video(tmp_path_factory.mktemp("selfie") / "face.mp4", frames=15,
                                   width=320, height=240, fps=15, audio=True)


@pytest.mark.parametrize("graph", ["selfie_segmentation.pbtxt",
                                   "selfie_segmentation_overlay.pbtxt"])
def test_video_graph_writes_every_frame_from_the_cli(graph, face_clip, tmp_path):
    out = tmp_path / "out.mp4"
    result = cli("run", str(GRAPHS / graph), "--input", str(face_clip), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    source, _ = decode(face_clip)
    frames, has_audio = decode(out)
    assert len(frames) == len(source) == 15 and has_audio
    assert frames[0].shape == (240, 320, 3)
    middle, original = frames[7].astype(int), source[7].astype(int)
    if graph == "selfie_segmentation.pbtxt":
        # the background is blurred, so the frame loses detail but keeps its colours
        assert sharpness(frames[7]) < 0.8 * sharpness(source[7])
        assert abs(middle.mean() - original.mean()) < 5
    else:
        # the person is tinted towards (0, 200, 255): bluer, less red
        assert middle[:, :, 2].mean() > original[:, :, 2].mean() + 5
        assert middle[:, :, 0].mean() < original[:, :, 0].mean() - 5


@pytest.mark.parametrize("selection", [0, 1])
def test_our_subgraph_honours_model_selection(selection):
    try:
        models.resolve("selfie_segmentation_landscape.tflite")
        models.resolve("selfie_segmentation.tflite")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    photo = samples.photo()
    graph = mg.Graph("""
        input_stream: "image"
        input_side_packet: "selection"
        node { calculator: "SelfieSegmentationCpu" input_stream: "IMAGE:image"
               input_side_packet: "MODEL_SELECTION:selection"
               output_stream: "SEGMENTATION_MASK:mask" }
    """)
    out = graph.run({"image": [(ImageFrame(np.ascontiguousarray(photo)), 0)]},
                    {"selection": selection}, timeout=120)
    mask = out["mask"][0].value.to_ndarray()[:, :, 0]
    assert mask.shape == photo.shape[:2]
    assert mask[300:500, 150:350].mean() > 0.8 and mask[0:250, 470:512].mean() < 0.2


@pytest.mark.parametrize(("selection", "name"), [(0, MODEL), (1, LANDSCAPE_MODEL)],
                         ids=["general", "landscape"])
def test_the_converted_model_runs_on_onnx_runtime(portrait, selection, name, tmp_path):
    # The model converted to ONNX (its custom Convolution2DTransposeBias a ConvTranspose),
    # run by our SelfieSegmentationCpu with ONNX Runtime on the CPU: the tflite mask.
    pytest.importorskip("tflite2onnx")
    pytest.importorskip("onnxruntime")
    try:
        src = models.resolve(name)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    onnx_path = models.convert(src, tmp_path / Path(name).with_suffix(".onnx").name)
    text = (GRAPHS / "selfie_segmentation_cpu.pbtxt").read_text()
    wired = '  input_side_packet: "MODEL:model"\n'
    assert text.count(wired) == 1 and text.count("delegate { xnnpack {} }") == 1
    on_onnx = mg.parse_config(text.replace(wired, "").replace(
        "delegate { xnnpack {} }", f'model_path: "{onnx_path}" delegate {{ xnnpack {{}} }}'))
    side_packets = {"model_selection": selection}
    mask = segment(on_onnx, portrait, side_packets)
    assert_person_segmented(mask, portrait)
    reference = segment(mg.load_config(GRAPHS / "selfie_segmentation_cpu.pbtxt"), portrait,
                        side_packets)
    assert np.abs(mask.data - reference.data).max() <= 1e-4 + 1e-5
