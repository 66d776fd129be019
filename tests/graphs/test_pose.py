"""MediaPipe's pose solution: pose_landmark_cpu.binarypb, unchanged, and its subgraphs.

The models run on a real person: one standing man of ultralytics' bus photo (taken out of
its wheel by `samples.photo`, never installed), cropped with his whole body in view. In
static-image mode (the side packets `mediapipe.solutions.pose` sets with
static_image_mode=True) the binarypb, its text form and the `PoseLandmarkCpu` subgraph find
him with 33 landmarks in the right order, world landmarks in metres around his hips and a
mask over him. In video mode (use_prev_landmarks, smoothing on) the detector runs on the
first frame only and the ROI comes from the previous frame's landmarks over the back edge
while he moves across the frame. When a MediaPipe venv is given
(MEDIAGRAPH_MEDIAPIPE_PYTHON, e.g. /work/mpvenv/bin/python), the same still goes through
MediaPipe's own graph and the two must agree.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
import mediagraph as mg
from mediagraph import models
from mediagraph.config.loader import load_config, to_text
from mediagraph.formats import ImageFormat, ImageFrame, LandmarkList, NormalizedLandmarkList
from mediagraph.testing import samples

pytestmark = pytest.mark.timeout(300)
GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
CONFIG = models.mediapipe_graph("pose_landmark_cpu.binarypb")
CROP = (380, 200, 900, 380)  # top, left, bottom, right: one standing man of photo("bus")
# mediapipe/python/solutions/pose.py, static_image_mode=True and False
STATIC = {"model_complexity": 1, "smooth_landmarks": False, "enable_segmentation": True,
          "smooth_segmentation": False, "use_prev_landmarks": False}
VIDEO = {"model_complexity": 1, "smooth_landmarks": True, "enable_segmentation": True,
         "smooth_segmentation": True, "use_prev_landmarks": True}
NOSE, LEFT_HIP, RIGHT_HIP, LEFT_ANKLE, RIGHT_ANKLE = 0, 23, 24, 27, 28
OUTPUTS = ("pose_landmarks", "pose_world_landmarks", "segmentation_mask", "pose_detection",
           "pose_rect_from_landmarks", "pose_rect_from_detection")


@pytest.fixture(scope="module")
def pose_models() -> None:
    for name in ("pose_detection.tflite", "pose_landmark_full.tflite"):
        try:
            models.resolve(name)
        except FileNotFoundError as exc:
            pytest.skip(str(exc))
    if not CONFIG.exists():
        pytest.skip(f"{CONFIG} is missing: run `mediagraph models fetch`")


@pytest.fixture(scope="module")
def person() -> np.ndarray:
    top, left, bottom, right = CROP
    return np.ascontiguousarray(samples.photo("bus")[top:bottom, left:right])


def run_still(config, image: np.ndarray, **side) -> dict[str, list[mg.Packet]]:
    return mg.Graph(config).run({"image": [(ImageFrame(image), 0)]},
                                side_packets={**STATIC, **side}, timeout=120)


def check_person(out: dict[str, list[mg.Packet]], box=(0.0, 0.0, 1.0, 1.0)) -> None:
    """33 landmarks inside `box` (x0, y0, x1, y1 normalized), head over hips over ankles;
    world landmarks in metres around the hips; a VEC32F1 mask over the body."""
    landmarks = out["pose_landmarks"][-1].value
    assert isinstance(landmarks, NormalizedLandmarkList) and len(landmarks) == 33
    xy = landmarks.to_array()[:, :2]
    x0, y0, x1, y1 = box
    assert (xy[:, 0] > x0 - 0.02).all() and (xy[:, 0] < x1 + 0.02).all(), xy
    assert (xy[:, 1] > y0 - 0.02).all() and (xy[:, 1] < y1 + 0.02).all(), xy
    hips_y = xy[[LEFT_HIP, RIGHT_HIP], 1].mean()
    assert xy[NOSE, 1] < hips_y < xy[[LEFT_ANKLE, RIGHT_ANKLE], 1].min()
    assert all(0.0 <= p.visibility <= 1.0 and 0.0 <= p.presence <= 1.0
               for p in landmarks.landmark)
    world = out["pose_world_landmarks"][-1].value
    assert isinstance(world, LandmarkList) and len(world) == 33
    metres = world.to_array()
    assert np.abs(metres[[LEFT_HIP, RIGHT_HIP]].mean(axis=0)).max() < 0.05
    assert np.abs(metres).max() < 1.2                      # a person, in metres
    assert metres[NOSE, 1] < -0.4 and metres[LEFT_ANKLE, 1] > 0.5   # y points down
    assert [p.visibility for p in world.landmark] == [p.visibility for p in landmarks.landmark]
    mask = out["segmentation_mask"][-1].value
    assert isinstance(mask, ImageFrame) and mask.format == ImageFormat.VEC32F1
    height, width = mask.data.shape[:2]
    pixels = np.clip((xy * (width, height)).astype(int), 0, (width - 1, height - 1))
    body = [11, 12, 23, 24]                                 # shoulders and hips
    assert (mask.data[pixels[body, 1], pixels[body, 0], 0] > 0.5).all()
    person = mask.data[..., 0] > 0.5
    c0, r0 = int(max(x0 - 0.02, 0) * width), int(max(y0 - 0.02, 0) * height)
    c1, r1 = int(min(x1 + 0.02, 1) * width) + 1, int(min(y1 + 0.02, 1) * height) + 1
    inside = person[r0:r1, c0:c1].sum()
    assert 0.2 < inside / person[r0:r1, c0:c1].size < 0.8     # a body, not the whole box
    assert person.sum() - inside < 0.02 * inside              # and nothing much outside it


def test_binarypb_and_its_text_form_validate(pose_models):
    for config in (CONFIG, to_text(load_config(CONFIG))):
        graph = mg.Graph(config)
        assert graph.config.type == "PoseLandmarkCpu"


@pytest.mark.parametrize("form", ["binary", "text"])
def test_static_mode_finds_the_person(pose_models, person, form):
    config = CONFIG if form == "binary" else to_text(load_config(CONFIG))
    out = run_still(config, person)
    assert {name: len(out[name]) for name in OUTPUTS} == dict.fromkeys(OUTPUTS, 1)
    check_person(out)
    mask = out["segmentation_mask"][0].value
    assert mask.data.shape == person.shape[:2] + (1,)


def test_pose_landmark_cpu_is_a_subgraph_with_the_binarypbs_interface(pose_models, person):
    text = f"""
        input_stream: "image"
        output_stream: "landmarks" output_stream: "world" output_stream: "mask"
        node {{ calculator: "PoseLandmarkCpu" input_stream: "IMAGE:image"
          {"".join(f'input_side_packet: "{k.upper()}:{k}" ' for k in STATIC)}
          output_stream: "LANDMARKS:landmarks" output_stream: "WORLD_LANDMARKS:world"
          output_stream: "SEGMENTATION_MASK:mask" }}"""
    ours = load_config(GRAPHS / "pose_landmark_cpu.pbtxt")
    theirs = load_config(CONFIG)
    for field in ("input_stream", "output_stream", "input_side_packet"):
        assert list(getattr(ours, field)) == list(getattr(theirs, field))
    out = mg.Graph(text).run({"image": [(ImageFrame(person), 0)]}, side_packets=STATIC,
                             timeout=120)
    reference = run_still(CONFIG, person)
    np.testing.assert_array_equal(out["landmarks"][0].value.to_array(),
                                  reference["pose_landmarks"][0].value.to_array())
    np.testing.assert_array_equal(out["mask"][0].value.data,
                                  reference["segmentation_mask"][0].value.data)


def test_without_segmentation_no_mask_comes(pose_models, person):
    out = run_still(CONFIG, person, enable_segmentation=False)
    assert len(out["pose_landmarks"]) == 1 and out["segmentation_mask"] == []


def test_without_side_packets_mediapipes_defaults_apply(pose_models, person):
    # model_complexity 1, no segmentation, smoothing and previous landmarks on
    out = mg.Graph(CONFIG).run({"image": [(ImageFrame(person), 0)]}, timeout=120)
    assert len(out["pose_landmarks"]) == 1 and out["segmentation_mask"] == []


def test_an_image_without_a_person_gives_nothing(pose_models):
    out = run_still(CONFIG, np.full((240, 320, 3), 128, np.uint8))
    assert all(out[name] == [] for name in OUTPUTS)


@pytest.mark.parametrize("complexity, model", [(0, "pose_landmark_lite"),
                                               (2, "pose_landmark_heavy")])
def test_a_model_complexity_whose_model_is_not_in_the_wheel_says_so(pose_models, person,
                                                                   complexity, model):
    with pytest.raises(mg.CalculatorError, match=f"{model}.tflite.*not in the "
                       r"mediapipe==0.10.14 wheel.*model_complexity 1"):
        run_still(CONFIG, person, model_complexity=complexity)


def walking(person: np.ndarray, frames: int, width: int = 640, height: int = 480
            ) -> tuple[list[np.ndarray], list[tuple[float, float, float, float]]]:
    """The person scaled to 85% of the frame height, walking left to right on grey; each
    frame and the person's box in it (normalized x0, y0, x1, y1)."""
    import cv2

    h, w = person.shape[:2]
    scale = 0.85 * height / h
    images, boxes = [], []
    for i in range(frames):
        x = 80 + i * (width - 160 - w * scale) / max(frames - 1, 1)
        y = 0.08 * height
        affine = np.array([[scale, 0, x], [0, scale, y]], np.float32)
        images.append(cv2.warpAffine(person, affine, (width, height),
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=(114,) * 3))
        boxes.append((x / width, y / height, (x + w * scale) / width, (y + h * scale) / height))
    return images, boxes


def test_video_mode_tracks_over_the_back_edge(pose_models, person):
    frames, boxes = walking(person, 8)
    times = [round(i * 1e6 / 30) for i in range(8)]  # 30 fps: the filters work in seconds
    graph = mg.Graph(CONFIG)
    out = graph.run({"image": [(ImageFrame(f), t) for t, f in zip(times, frames)]},
                    side_packets=VIDEO, timeout=240)
    # the detector ran on the first frame only: every later ROI came from landmarks
    assert [p.timestamp for p in out["pose_detection"]] == [0]
    assert [p.timestamp for p in out["pose_rect_from_detection"]] == [0]
    for name in ("pose_landmarks", "pose_world_landmarks", "segmentation_mask",
                 "pose_rect_from_landmarks"):
        assert [p.timestamp for p in out[name]] == times, name
    for i in range(8):
        check_person({name: out[name][i:i + 1] for name in out}, boxes[i])
    centres = [out["pose_rect_from_landmarks"][i].value.x_center for i in range(8)]
    assert np.all(np.diff(centres) > 0)                    # the ROI follows him


def test_static_mode_detects_on_every_frame(pose_models, person):
    frames, _ = walking(person, 3)
    out = mg.Graph(CONFIG).run({"image": [(ImageFrame(f), i) for i, f in enumerate(frames)]},
                               side_packets=STATIC, timeout=120)
    assert [p.timestamp for p in out["pose_detection"]] == [0, 1, 2]


@pytest.mark.dsp
def test_hexagon_dsp_agrees_with_cpu(pose_models, person):
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    pytest.importorskip("tflite2onnx")
    cpu = run_still(CONFIG, person)
    try:
        dsp = mg.Graph(CONFIG, inference_delegate="dsp").run(
            {"image": [(ImageFrame(person), 0)]}, side_packets=STATIC, timeout=240)
    except mg.CalculatorError as exc:
        pytest.skip(f"QNN HTP could not start here: {exc}")
    difference = np.abs(dsp["pose_landmarks"][0].value.to_array()
                        - cpu["pose_landmarks"][0].value.to_array())[:, :2]
    assert difference.max() < 0.005
    a = dsp["segmentation_mask"][0].value.data > 0.5
    b = cpu["segmentation_mask"][0].value.data > 0.5
    assert (a & b).sum() / (a | b).sum() > 0.98


_CLI_GRAPH = """
    input_side_packet: "input_video_path"
    output_stream: "pose_landmarks"
    node { calculator: "VideoDecoderCalculator"
           input_side_packet: "INPUT_FILE_PATH:input_video_path"
           output_stream: "VIDEO:frames" }
    node { calculator: "PoseLandmarkCpu" input_stream: "IMAGE:frames"
           input_side_packet: "MODEL_COMPLEXITY:model_complexity"
           input_side_packet: "SMOOTH_LANDMARKS:smooth_landmarks"
           input_side_packet: "USE_PREV_LANDMARKS:use_prev_landmarks"
           output_stream: "LANDMARKS:pose_landmarks" }
"""


def _walking_clip(person: np.ndarray, path: Path, frames: int) -> Path:
    import av

    images, _ = walking(person, frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize("delegate", ["cpu", pytest.param("dsp", marks=pytest.mark.dsp)])
def test_the_cli_runs_pose_over_a_video_with_a_delegate(pose_models, person, tmp_path, capsys,
                                                        delegate):
    """`mediagraph run ... --delegate dsp`: every InferenceCalculator of the pose graph
    (detector and landmark model, converted to ONNX) on the emulated Hexagon HTP."""
    if delegate == "dsp":
        pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    pytest.importorskip("tflite2onnx")
    from mediagraph.cli import main

    clip = _walking_clip(person, tmp_path / "walk.mp4", 8)
    config = tmp_path / "pose_video.pbtxt"
    config.write_text(_CLI_GRAPH)
    code = main(["run", str(config), "-i", str(clip), "--delegate", delegate, "-q",
                 "--print-outputs", "--side", "model_complexity=1",
                 "--side", "smooth_landmarks=true", "--side", "use_prev_landmarks=true"])
    printed = capsys.readouterr().out
    assert code == 0, printed[-2000:]
    import re

    assert len(re.findall(r"^pose_landmarks @ \d+", printed, re.M)) == 8, \
        re.findall(r"^\S+ @ \d+", printed, re.M)


def test_onnx_models_agree_with_litert(pose_models, person):
    pytest.importorskip("tflite2onnx")
    for name in ("pose_detection.tflite", "pose_landmark_full.tflite"):
        assert models.convert(models.resolve(name)).exists()
    cpu = run_still(CONFIG, person)
    onnx = mg.Graph(CONFIG, inference_delegate="cpu").run(
        {"image": [(ImageFrame(person), 0)]}, side_packets=STATIC, timeout=120)
    difference = np.abs(onnx["pose_landmarks"][0].value.to_array()
                        - cpu["pose_landmarks"][0].value.to_array())[:, :2]
    assert difference.max() < 0.002


# -- agreement with MediaPipe's own graph -------------------------------------------------

_MEDIAPIPE_RUN = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import mediapipe as mp
    from mediapipe.framework import calculator_pb2
    from mediapipe.python import packet_creator, packet_getter
    from mediapipe.python._framework_bindings import image_frame, resource_util
    config, frames_path, side = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    frames = np.load(frames_path)
    resource_util.set_resource_dir(os.path.dirname(os.path.dirname(mp.__file__)))
    graph_config = calculator_pb2.CalculatorGraphConfig()
    graph_config.ParseFromString(open(config, "rb").read())
    graph = mp.CalculatorGraph(graph_config=graph_config)
    got = {}
    for name in ("pose_landmarks", "pose_world_landmarks", "segmentation_mask",
                 "pose_detection"):
        graph.observe_output_stream(name, lambda n, p: got.setdefault(n, []).append(
            (p.timestamp.value, p)))
    graph.start_run(input_side_packets={
        k: (packet_creator.create_bool(v) if isinstance(v, bool) else packet_creator.create_int(v))
        for k, v in side.items()})
    for i, frame in enumerate(frames):
        graph.add_packet_to_input_stream("image", packet_creator.create_image_frame(
            image_format=image_frame.ImageFormat.SRGB, data=frame).at(i * 33333))
    graph.close_all_packet_sources()
    graph.wait_until_done()
    points = lambda p: [[l.x, l.y, l.z, l.visibility] for l in packet_getter.get_proto(p).landmark]
    np.save(frames_path + ".masks.npy", np.stack([
        np.array(packet_getter.get_image_frame(p).numpy_view())
        for _, p in got["segmentation_mask"]]))
    print(json.dumps({
        "landmarks": [points(p) for _, p in got["pose_landmarks"]],
        "world": [points(p) for _, p in got["pose_world_landmarks"]],
        "detections": [t for t, _ in got.get("pose_detection", [])]}))
""")



def _mediapipe_python() -> str:
    python = os.environ.get("MEDIAGRAPH_MEDIAPIPE_PYTHON")
    if not python:
        pytest.skip("set MEDIAGRAPH_MEDIAPIPE_PYTHON to a python with mediapipe==0.10.14")
    return python


_MEDIAPIPE_EXPAND = textwrap.dedent("""
    import sys
    from mediapipe.python._framework_bindings import validated_graph_config
    config = validated_graph_config.ValidatedGraphConfig()
    config.initialize(binary_graph_path=sys.argv[1])
    print(config.text_config)
""")


def _node_shapes(config) -> collections.Counter:
    """Each node's calculator, port counts and options (Switch* options aside: mediagraph
    adds `channels`), as a multiset."""
    from google.protobuf import text_format

    shapes: collections.Counter = collections.Counter()
    for node in config.node:
        calculator = node.calculator.replace("InferenceCalculatorCpu", "InferenceCalculator")
        options = "" if calculator.startswith("Switch") else text_format.MessageToString(
            node.options, as_one_line=True)
        shapes[(calculator, len(node.input_stream), len(node.output_stream),
                len(node.input_side_packet), len(node.output_side_packet), options)] += 1
    return shapes


def test_expands_to_the_nodes_mediapipe_expands_it_to(pose_models):
    """Our pose subgraphs, expanded, are MediaPipe 0.10.14's compiled-in ones: the same 71
    nodes with the same options (MediaPipe's own ValidatedGraphConfig expands its side)."""
    from mediagraph.config.loader import parse_text

    done = subprocess.run([_mediapipe_python(), "-c", _MEDIAPIPE_EXPAND, str(CONFIG)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = _node_shapes(parse_text(done.stdout))
    ours = _node_shapes(mg.Graph(CONFIG).spec.config)
    assert ours == theirs, (ours - theirs, theirs - ours)


def _mediapipe_answers(frames: list[np.ndarray], side: dict, tmp_path: Path) -> dict:
    """MediaPipe 0.10.14 running the same binarypb over `frames` (30 fps timestamps)."""
    path = tmp_path / "frames.npy"
    np.save(path, np.stack(frames))
    done = subprocess.run([_mediapipe_python(), "-c", _MEDIAPIPE_RUN, str(CONFIG), str(path),
                           json.dumps(side)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path, env={**os.environ, "GLOG_minloglevel": "2"})
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    answers["masks"] = np.load(str(path) + ".masks.npy")
    return answers


def _agreement(ours: dict, theirs: dict, index: int, size: tuple[int, int]
               ) -> tuple[np.ndarray, float, float]:
    """Per-landmark error (fraction of the larger side), world error (m), mask IoU."""
    width, height = size
    mine = ours["pose_landmarks"][index].value.to_array()[:, :2]
    reference = np.array(theirs["landmarks"][index])[:, :2]
    error = np.hypot(*((mine - reference) * (width, height)).T) / max(width, height)
    world = np.abs(ours["pose_world_landmarks"][index].value.to_array()
                   - np.array(theirs["world"][index])[:, :3]).max()
    a = ours["segmentation_mask"][index].value.data[..., 0] > 0.5
    b = theirs["masks"][index].reshape(a.shape) > 0.5
    return error, float(world), float((a & b).sum() / (a | b).sum())


def test_agrees_with_mediapipes_own_graph(pose_models, person, tmp_path):
    theirs = _mediapipe_answers([person], STATIC, tmp_path)
    ours = run_still(CONFIG, person)
    error, world, iou = _agreement(ours, theirs, 0, person.shape[1::-1])
    assert error.mean() < 0.01 and error.max() < 0.02
    assert world < 0.02                                     # 2 cm
    assert iou > 0.95
    print(f"pose vs MediaPipe's graph: mean {error.mean():.3%}, max {error.max():.3%} of the "
          f"image size; world {world * 1000:.1f} mm; mask IoU {iou:.4f}", file=sys.stderr)


def test_video_mode_agrees_with_mediapipes_own_graph(pose_models, person, tmp_path):
    """Tracking and smoothing too: the same detections, landmarks and masks frame by frame
    (tiny differences in a frame's landmarks move the next ROI a little: they stay small)."""
    frames, _ = walking(person, 8)
    theirs = _mediapipe_answers(frames, VIDEO, tmp_path)
    ours = mg.Graph(CONFIG).run(
        {"image": [(ImageFrame(f), i * 33333) for i, f in enumerate(frames)]},
        side_packets=VIDEO, timeout=240)
    assert [p.timestamp for p in ours["pose_detection"]] == theirs["detections"] == [0]
    assert len(ours["pose_landmarks"]) == len(theirs["landmarks"]) == 8
    results = [_agreement(ours, theirs, i, (640, 480)) for i in range(8)]
    errors = np.array([e.mean() for e, _, _ in results])
    ious = np.array([iou for _, _, iou in results])
    assert errors.max() < 0.01 and ious.mean() > 0.95 and ious.min() > 0.9
    print(f"pose video vs MediaPipe's graph: landmark error per frame {np.round(errors * 100, 3)}"
          f" %, mask IoU {np.round(ious, 4)}", file=sys.stderr)
