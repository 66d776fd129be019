"""Hand tracking graphs: palm detection, hand landmarks, the tracking loop, the video graph.

The models run on a real hand: `samples.make_hand_video` moves the pointing hand of
ultralytics' zidane photo (taken out of its wheel, never installed) across the frame, and
`samples.hand_box` says where the hand is in each frame. On that clip the tracking graph
reports one hand with 21 landmarks on every frame, all inside the hand's box; palm
detection runs on the first frame only and every later frame's ROI comes from the previous
frame's landmarks through the back edge; and the landmark model's ONNX twin agrees with
the .tflite one on the same frames and ROIs. The models are also checked on the no-hand
path (nothing reported, no errors, the back-edge loop ends), and the tracking scheme
itself is checked on MediaPipe's graph with the two model subgraphs swapped for scripted
stand-ins: everything between them (gates, loops, ROI maths, the back edge) is the real
graph.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
import mediagraph as mg
from mediagraph.calculators.preprocess.image_to_tensor import FloatRange
from mediagraph import Calculator, Input, Output, SideInput, models
from mediagraph.testing import samples
from mediagraph.formats import (
    Detection,
    ImageFrame,
    NormalizedLandmarkList,
    NormalizedRect,
    RelativeBoundingBox,
    RelativeKeypoint,
)
from mediagraph.testing import timestamps

pytestmark = pytest.mark.timeout(120)
GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
MEDIAPIPE_CONFIG = models.mediapipe_graph("hand_landmark_tracking_cpu.binarypb")


@pytest.fixture(scope="module")
def hand_models() -> None:
    for name in ("palm_detection_lite.tflite", "hand_landmark_lite.tflite",
                 "palm_detection_full.tflite", "hand_landmark_full.tflite"):
        try:
            models.resolve(name)
        except FileNotFoundError as exc:
            pytest.skip(str(exc))


def blank(width=320, height=240, value=128) -> ImageFrame:
    return ImageFrame(np.full((height, width, 3), value, np.uint8))


def test_palm_detection_finds_no_palm_in_a_blank_image(hand_models):
    graph = mg.Graph('input_stream: "image" output_stream: "palms" '
                     'node { calculator: "PalmDetectionCpu" input_stream: "IMAGE:image" '
                     'output_stream: "DETECTIONS:palms" }')
    out = graph.run({"image": [(blank(), 0), (blank(value=30), 1)]}, timeout=60)
    assert all(p.value == [] for p in out["palms"])


def test_hand_landmark_reports_nothing_for_an_roi_without_a_hand(hand_models):
    graph = mg.Graph("""
        input_stream: "image" input_stream: "roi"
        output_stream: "landmarks" output_stream: "world" output_stream: "handedness"
        node { calculator: "HandLandmarkCpu" input_stream: "IMAGE:image"
               input_stream: "ROI:roi" output_stream: "LANDMARKS:landmarks"
               output_stream: "WORLD_LANDMARKS:world" output_stream: "HANDEDNESS:handedness" }
    """)
    roi = NormalizedRect(0.5, 0.5, 0.6, 0.6, rotation=0.4)
    out = graph.run({"image": [(blank(), 0), (blank(), 1)], "roi": [(roi, 0), (roi, 1)]},
                    timeout=60)
    assert out == {"landmarks": [], "world": [], "handedness": []}


def test_hand_landmark_chain_matches_the_model_through_mediapipes_formulas(hand_models):
    """With the presence threshold lowered, every ROI "has a hand": the graph's landmarks
    must be the model's raw output through normalization, letterbox removal and the
    rotated-ROI projection, written out here independently."""
    text = (GRAPHS / "hand_landmark_cpu.pbtxt").read_text()
    assert text.count("threshold: 0.5") == 1
    text = text.replace("threshold: 0.5", "threshold: -1000").replace(
        'type: "HandLandmarkCpu"', "")
    image = ImageFrame(np.random.default_rng(1).integers(0, 255, (240, 320, 3), np.uint8))
    roi = NormalizedRect(0.55, 0.45, 0.5, 0.6, rotation=0.5)  # not square: letterboxed
    out = mg.Graph(text).run({"image": [(image, 0)], "hand_rect": [(roi, 0)]},
                             side_packets={"model_complexity": 0}, timeout=60)

    from mediagraph.testing import CalculatorRunner

    crop = CalculatorRunner("ImageToTensorCalculator", options={
        "output_tensor_width": 224, "output_tensor_height": 224, "keep_aspect_ratio": True,
        "output_tensor_float_range": FloatRange(min=0.0, max=1.0)},
        outputs=["TENSORS", "LETTERBOX_PADDING"]).run(
        {"IMAGE": [(image, 0)], "NORM_RECT": [(roi, 0)]})
    padding = crop["LETTERBOX_PADDING"][0].value
    raw = CalculatorRunner("InferenceCalculator", options={
        "model_path": "hand_landmark_lite.tflite"}).run(
        {"TENSORS": [(crop["TENSORS"][0].value, 0)]})["TENSORS"][0].value
    left, top, right, bottom = padding
    expected = []
    for x, y, z in np.asarray(raw[0], np.float64).reshape(21, 3):
        x, y, z = x / 224, y / 224, z / 224 / 0.4
        x, y, z = (x - left) / (1 - left - right), (y - top) / (1 - top - bottom), \
            z / (1 - left - right)
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        dx, dy = x - 0.5, y - 0.5
        expected.append(((c * dx - s * dy) * roi.width + roi.x_center,
                         (s * dx + c * dy) * roi.height + roi.y_center, z * roi.width))
    landmarks = out["hand_landmarks"][0].value
    np.testing.assert_allclose(landmarks.to_array(), expected, atol=1e-5)

    world = np.asarray(raw[3], np.float64).reshape(21, 3)
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    turned = np.c_[c * world[:, 0] - s * world[:, 1], s * world[:, 0] + c * world[:, 1],
                   world[:, 2]]
    np.testing.assert_allclose(out["hand_world_landmarks"][0].value.to_array(), turned,
                               atol=1e-5)

    score = float(np.asarray(raw[2]).reshape(-1)[0])
    (best,) = out["handedness"][0].value.classification
    assert (best.label, best.score) == (("Left", pytest.approx(score)) if score >= 0.5
                                        else ("Right", pytest.approx(1 - score)))


def test_hand_tracking_video_runs_every_frame_and_reports_no_hands(hand_models, tmp_path):
    clip = samples.make_video(tmp_path / "in.mp4", frames=12)
    out = tmp_path / "hands.mp4"
    graph = mg.Graph(GRAPHS / "hand_tracking.pbtxt")
    hands: list[mg.Packet] = []
    frames: list[mg.Packet] = []
    graph.observe_output_stream("multi_hand_landmarks", hands.append)
    graph.observe_output_stream("output_video", frames.append)
    graph.run(side_packets={"input_video_path": str(clip), "output_video_path": str(out)},
              timeout=120)
    assert hands == []
    assert timestamps(frames) == [round(i * 1e6 / 30) for i in range(12)]
    import av

    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 12


# -- a real hand: the pointing hand of the zidane photo, moving --------------------------

CLIP = {"frames": 30, "width": 320, "height": 240}


@pytest.fixture(scope="module")
def hand_clip(hand_models, tmp_path_factory) -> tuple[Path, list[ImageFrame]]:
    """A 30-frame 320x240 clip of the hand drifting and zooming, and its decoded frames."""
    import av

    clip = samples.make_hand_video(tmp_path_factory.mktemp("hand") / "hand.mp4", audio=False,
                                   **CLIP)
    with av.open(str(clip)) as container:
        frames = [ImageFrame(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    assert len(frames) == CLIP["frames"]
    return clip, frames


def tracking_config() -> str:
    return (GRAPHS / "hand_landmark_tracking_cpu.pbtxt").read_text().replace(
        'type: "HandLandmarkTrackingCpu"', "")


@pytest.fixture(scope="module")
def tracked(hand_clip) -> tuple[dict[str, list[mg.Packet]], mg.Graph]:
    """HandLandmarkTrackingCpu with the real models over the clip's frames (timestamp = index)."""
    graph = mg.Graph(tracking_config())
    out = graph.run({"image": [(frame, i) for i, frame in enumerate(hand_clip[1])]},
                    side_packets={"num_hands": 1, "model_complexity": 0,
                                  "use_prev_landmarks": True}, timeout=120)
    return out, graph


def inside_hand_box(landmarks: NormalizedLandmarkList, index: int) -> bool:
    x0, y0, x1, y1 = samples.hand_box(index, CLIP["frames"], CLIP["width"], CLIP["height"])
    points = landmarks.to_array()
    x, y = points[:, 0] * CLIP["width"], points[:, 1] * CLIP["height"]
    return bool((x >= x0).all() and (x <= x1).all() and (y >= y0).all() and (y <= y1).all())


def test_tracking_reports_the_real_hand_on_every_frame_inside_its_box(tracked):
    out, _ = tracked
    every = list(range(CLIP["frames"]))
    assert timestamps(out["multi_hand_landmarks"]) == every
    assert timestamps(out["multi_handedness"]) == every
    for packet in out["multi_hand_landmarks"]:
        (hand,) = packet.value
        assert len(hand.landmark) == 21
        assert inside_hand_box(hand, int(packet.timestamp)), f"frame {packet.timestamp}"
    # The hand moves about 70 px: landmarks that stayed put would leave the box.
    first, last = (samples.hand_box(i, CLIP["frames"], CLIP["width"], CLIP["height"])
                   for i in (0, CLIP["frames"] - 1))
    assert first[0] - last[0] > 50
    labels = {p.value[0].classification[0].label for p in out["multi_handedness"]}
    assert len(labels) == 1  # one hand, classified the same way throughout


def test_palm_detection_runs_once_and_the_back_edge_carries_the_roi(tracked, hand_clip):
    """Frame 0's ROI comes from the palm; every later frame's from the previous frame's
    landmarks: HandLandmarkCpu on exactly those ROIs gives the tracking graph's landmarks."""
    out, graph = tracked
    assert timestamps(out["hand_rects_from_palm_detections"]) == [0]
    assert timestamps(out["hand_rects_from_landmarks"]) == list(range(CLIP["frames"]))
    calls = {row.name: row.calls for row in graph.profile().nodes
             if row.calculator == "InferenceCalculator"}
    assert calls == {"palm_detection_cpu__InferenceCalculator": 1,
                     "hand_landmark_cpu__InferenceCalculator": CLIP["frames"]}

    rois = [out["hand_rects_from_palm_detections"][0].value[0]] + [
        p.value[0] for p in out["hand_rects_from_landmarks"][:-1]]
    alone, _ = landmarks_on_rois(hand_clip[1], rois, "hand_landmark_lite.tflite")
    for mine, theirs in zip(alone["hand_landmarks"], out["multi_hand_landmarks"]):
        np.testing.assert_allclose(mine.value.to_array(), theirs.value[0].to_array(),
                                   atol=1e-6)


def landmarks_on_rois(frames, rois, model: str) -> tuple[dict[str, list[mg.Packet]], set]:
    """HandLandmarkCpu (its config, `model` given as the MODEL its loader would make) on
    frame i with ROI i; its outputs and the inference backends that ran."""
    text = (GRAPHS / "hand_landmark_cpu.pbtxt").read_text().replace(
        'type: "HandLandmarkCpu"', "")
    loader = re.search(r'node \{\s*calculator: "HandLandmarkModelLoader".*?\}\n', text, re.S)
    text = text.replace(loader.group(0), "")
    graph = mg.Graph(text)
    out = graph.run({"image": [(f, i) for i, f in enumerate(frames)],
                     "hand_rect": [(r, i) for i, r in enumerate(rois)]},
                    side_packets={"model": str(models.resolve(model))}, timeout=120)
    backends = {row.info.get("backend") for row in graph.profile().nodes
                if row.calculator == "InferenceCalculator"}
    return out, backends


def test_onnx_landmark_model_agrees_with_tflite_on_the_hand_clip(tracked, hand_clip):
    pytest.importorskip("tflite2onnx")
    onnx = models.convert(models.resolve("hand_landmark_lite.tflite"))
    out, _ = tracked
    rois = [p.value[0] for p in out["hand_rects_from_landmarks"]]
    lite, lite_backends = landmarks_on_rois(hand_clip[1], rois, "hand_landmark_lite.tflite")
    twin, twin_backends = landmarks_on_rois(hand_clip[1], rois, str(onnx))
    assert (lite_backends, twin_backends) == ({"litert"}, {"onnxruntime-cpu"})
    every = list(range(CLIP["frames"]))
    assert timestamps(lite["hand_landmarks"]) == timestamps(twin["hand_landmarks"]) == every
    for a, b in zip(lite["hand_landmarks"], twin["hand_landmarks"]):
        np.testing.assert_allclose(b.value.to_array(), a.value.to_array(), atol=1e-4)
    for a, b in zip(lite["handedness"], twin["handedness"]):
        (x,), (y,) = a.value.classification, b.value.classification
        assert x.label == y.label and abs(x.score - y.score) < 1e-3


def test_hand_tracking_video_draws_the_hand_on_every_frame(hand_clip, tmp_path):
    import av

    clip, frames = hand_clip
    out = tmp_path / "hands.mp4"
    graph = mg.Graph(GRAPHS / "hand_tracking.pbtxt")
    hands: list[mg.Packet] = []
    graph.observe_output_stream("multi_hand_landmarks", hands.append)
    graph.run(side_packets={"input_video_path": str(clip), "output_video_path": str(out)},
              timeout=120)
    assert timestamps(hands) == [round(i * 1e6 / 30) for i in range(CLIP["frames"])]
    assert all(len(p.value) == 1 and inside_hand_box(p.value[0], i)
               for i, p in enumerate(hands))
    with av.open(str(out)) as container:
        drawn = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(drawn) == CLIP["frames"]
    for i, (before, after) in enumerate(zip(frames, drawn)):
        # The skeleton (red points, green lines) is the only big change, and it is on the hand.
        changed = np.abs(after.astype(int) - before.data.astype(int)).max(axis=2) > 100
        ys, xs = np.nonzero(changed)
        assert len(xs) > 50, f"frame {i}: nothing drawn"
        x0, y0, x1, y1 = samples.hand_box(i, CLIP["frames"], CLIP["width"], CLIP["height"])
        assert x0 <= xs.mean() <= x1 and y0 <= ys.mean() <= y1, f"frame {i}"
        margin = 16  # the drawn points' radius
        assert xs.min() >= x0 - margin and xs.max() <= x1 + margin, f"frame {i}"
        assert ys.min() >= y0 - margin and ys.max() <= y1 + margin, f"frame {i}"


# -- the tracking scheme, with scripted models --------------------------------------------

PALM_CALLS: list[int] = []
LOST_AT: set[int] = set()


class ScriptedPalmDetection(Calculator):
    """One upright palm in the image centre at every frame it is asked about."""

    image = Input(ImageFrame)
    model_complexity = SideInput(int, optional=True)
    detections = Output(list)

    def process(self, cc):
        PALM_CALLS.append(int(cc.input_timestamp))
        keypoints = tuple(RelativeKeypoint(0.5, y) for y in (0.6, 0.5, 0.4, 0.5, 0.5, 0.5, 0.5))
        cc.send(self.detections, [Detection(
            score=(0.9,), relative_bounding_box=RelativeBoundingBox(0.4, 0.4, 0.2, 0.2),
            relative_keypoints=keypoints)])


class ScriptedHandLandmark(Calculator):
    """21 landmarks spread over the middle of the ROI, unless the frame is in LOST_AT."""

    image = Input(ImageFrame)
    roi = Input(NormalizedRect)
    model_complexity = SideInput(int, optional=True)
    landmarks = Output(NormalizedLandmarkList)
    world_landmarks = Output(NormalizedLandmarkList)
    handedness = Output(list)

    def process(self, cc):
        rect = cc.get(self.roi)
        if cc.get(self.image) is None or rect is None or self._frame(cc) in LOST_AT:
            return
        y = np.linspace(0.5 + rect.height / 4, 0.5 - rect.height / 4, 21)
        x = np.full(21, rect.x_center) + np.linspace(-0.01, 0.01, 21)
        points = np.c_[x, y - 0.5 + rect.y_center, np.zeros(21)]
        landmarks = NormalizedLandmarkList.from_array(points)
        cc.send(self.landmarks, landmarks)
        cc.send(self.world_landmarks, landmarks)
        cc.send(self.handedness, ["Right"])

    def _frame(self, cc) -> int:
        # Inside the hand loop timestamps are loop counters; the frame is recovered from
        # the image, which carries its frame number as its pixel value.
        return int(cc.get(self.image).data[0, 0, 0])


def scripted_tracking_config() -> str:
    text = (GRAPHS / "hand_landmark_tracking_cpu.pbtxt").read_text()
    assert text.count('calculator: "PalmDetectionCpu"') == 1
    assert text.count('calculator: "HandLandmarkCpu"') == 1
    text = text.replace('calculator: "PalmDetectionCpu"', 'calculator: "ScriptedPalmDetection"')
    text = text.replace('calculator: "HandLandmarkCpu"', 'calculator: "ScriptedHandLandmark"')
    return text.replace('type: "HandLandmarkTrackingCpu"', "")


def run_tracking(frames: int, lost: set[int], num_hands: int = 1, use_prev: bool = True):
    PALM_CALLS.clear()
    LOST_AT.clear()
    LOST_AT.update(lost)
    graph = mg.Graph(scripted_tracking_config())
    images = [(ImageFrame(np.full((120, 160, 3), i, np.uint8)), i) for i in range(frames)]
    out = graph.run({"image": images},
                    side_packets={"num_hands": num_hands, "use_prev_landmarks": use_prev},
                    timeout=60)
    return out, list(PALM_CALLS)


def test_palm_detection_runs_only_while_no_hand_is_tracked():
    out, palm_calls = run_tracking(8, lost={3})
    # Frame 0 detects; 1-3 track (3 loses the hand); 4 detects again; 5-7 track.
    assert palm_calls == [0, 4]
    assert timestamps(out["multi_hand_landmarks"]) == [0, 1, 2, 4, 5, 6, 7]
    assert timestamps(out["hand_rects_from_palm_detections"]) == [0, 4]
    assert timestamps(out["hand_rects_from_landmarks"]) == [0, 1, 2, 4, 5, 6, 7]
    assert all(len(p.value) == 1 for p in out["multi_hand_landmarks"])


def test_tracked_roi_follows_the_previous_landmarks():
    out, _ = run_tracking(3, lost=set())
    rects = [p.value[0] for p in out["hand_rects_from_landmarks"]]
    for rect in rects:  # a nearly upright synthetic hand; square in pixels
        assert abs(rect.rotation) < 0.1
        assert rect.width * 160 == pytest.approx(rect.height * 120, rel=1e-5)
    assert math.isclose(rects[1].x_center, rects[0].x_center, abs_tol=0.02)


def test_use_prev_landmarks_false_detects_palms_every_frame():
    _, palm_calls = run_tracking(4, lost=set(), use_prev=False)
    assert palm_calls == [0, 1, 2, 3]


def test_two_hands_wanted_keep_palm_detection_running():
    _, palm_calls = run_tracking(4, lost=set(), num_hands=2)
    assert palm_calls == [0, 1, 2, 3]


@pytest.mark.skipif(not MEDIAPIPE_CONFIG.is_file(),
                    reason="MediaPipe's configs are not cached: run `mediagraph models fetch`")
def test_mediapipes_own_tracking_config_runs_unchanged(hand_models):
    config = mg.load_config(MEDIAPIPE_CONFIG)
    config.ClearField("type")
    graph = mg.Graph(config)
    images = [(blank(), i) for i in range(3)]
    out = graph.run({"image": images}, side_packets={"num_hands": 2, "model_complexity": 0,
                                                     "use_prev_landmarks": True}, timeout=60)
    assert out["multi_hand_landmarks"] == [] and out["multi_handedness"] == []


@pytest.mark.parametrize("loader, model", [("HandLandmarkModelLoader", "hand_landmark"),
                                           ("PalmDetectionModelLoader", "palm_detection")])
@pytest.mark.parametrize("complexity, variant", [(0, "lite"), (1, "full"), (None, "full")])
def test_model_complexity_picks_the_lite_or_full_model_as_mediapipe(hand_models, loader, model,
                                                                    complexity, variant):
    """MediaPipe's loaders: 0 the lite model, 1 the full one, and full when not connected."""
    wired = complexity is not None
    graph = mg.Graph(('input_side_packet: "complexity" ' if wired else "")
                     + 'output_side_packet: "model" '
                     + f'node {{ calculator: "{loader}" output_side_packet: "MODEL:model" '
                     + ('input_side_packet: "MODEL_COMPLEXITY:complexity" ' if wired else "")
                     + "}")
    graph.run({}, {"complexity": complexity} if wired else {}, timeout=30)
    assert Path(graph.get_output_side_packet("model")) == models.resolve(
        f"{model}_{variant}.tflite")
