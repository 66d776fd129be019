"""Holistic: MediaPipe 0.10.14's holistic_landmark_cpu.binarypb, unchanged, and its pieces.

The graph runs the pose first; each hand is searched for where the pose's wrist, pinky and
index landmarks put it (HandLandmarksFromPoseCpu: a ROI from the pose, re-cropped by
hand_recrop.tflite, then the full hand landmark model), the face where the pose's face
landmarks put it (FaceLandmarksFromPoseCpu: a ROI from the pose, the short-range face
detector inside it, then the face mesh). In video, hands and face follow their previous
landmarks through back edges (HandTracking, FaceTracking) and the pose is smoothed.

The media is the man in black of ultralytics' bus photo (`samples.still("person")`, whole
body, both hands and the face in view) and `samples.person_frame_fn` moving him across
640x480 frames. With $MEDIAGRAPH_MEDIAPIPE_PYTHON naming a python with mediapipe 0.10.14,
the still is also compared with `mediapipe.solutions.holistic(static_image_mode=True)`.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401
from mediagraph import models
from mediagraph.formats import (
    ImageFrame,
    NormalizedLandmark,
    NormalizedLandmarkList,
    NormalizedRect,
)
from mediagraph.testing import samples, timestamps

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[2]
GRAPHS = ROOT / "graphs"
BINARYPB = "holistic_landmark_cpu.binarypb"
MODELS = ("pose_detection.tflite", "pose_landmark_full.tflite", "hand_recrop.tflite",
          "hand_landmark_full.tflite", "face_detection_short_range.tflite",
          "face_landmark.tflite", "face_landmark_with_attention.tflite")
# What mediapipe/python/solutions/holistic.py sets for a still (static_image_mode=True).
STILL_SIDE_PACKETS = {"model_complexity": 1, "smooth_landmarks": False,
                      "enable_segmentation": False, "smooth_segmentation": False,
                      "refine_face_landmarks": False, "use_prev_landmarks": False}
VIDEO_SIDE_PACKETS = dict(STILL_SIDE_PACKETS, smooth_landmarks=True, use_prev_landmarks=True,
                          enable_segmentation=True, smooth_segmentation=True)
# MediaPipe's expansion of HolisticLandmarkCpu: every subgraph, SwitchContainer as its
# demux, mux and contained nodes (counted from the configs compiled into the 0.10.14 wheel).
MEDIAPIPE_NODE_COUNT = 202
LEFT_WRIST, RIGHT_WRIST = 15, 16


@pytest.fixture(scope="module")
def holistic_models() -> Path:
    for name in MODELS:
        try:
            models.resolve(name)
        except FileNotFoundError as exc:
            pytest.skip(str(exc))
    path = models.mediapipe_graph(BINARYPB)
    if not path.is_file():
        pytest.skip(f"{BINARYPB} is not cached: run `mediagraph models fetch`")
    return path


@pytest.fixture(scope="module")
def person() -> np.ndarray:
    return samples.still("person")


def person_box(width=640, height=480):
    return samples.person_box(0, 5, width, height)


def run_still(config, image, **side) -> dict[str, list[mg.Packet]]:
    return mg.Graph(config).run({"image": [(ImageFrame(image), 0)]},
                                side_packets=dict(STILL_SIDE_PACKETS, **side), timeout=300)


def points(packets: list[mg.Packet]) -> np.ndarray:
    (packet,) = packets
    return packet.value.to_array()


def inside(xy: np.ndarray, box, width=640, height=480, margin=10.0) -> bool:
    x0, y0, x1, y1 = box
    x, y = xy[:, 0] * width, xy[:, 1] * height
    return bool((x > x0 - margin).all() and (x < x1 + margin).all()
                and (y > y0 - margin).all() and (y < y1 + margin).all())


# -- the graph, as MediaPipe ships it -----------------------------------------------------

def test_binarypb_text_form_and_subgraph_expand_to_mediapipes_nodes(holistic_models):
    binary = mg.Graph(holistic_models)
    text = mg.Graph(mg.to_text(binary.config))
    wrapped = mg.Graph((GRAPHS / "holistic_landmark_cpu.pbtxt").read_text().replace(
        'type: "HolisticLandmarkCpu"', ""))
    as_node = mg.Graph("""
        input_stream: "image" output_stream: "pose" output_stream: "face"
        output_stream: "left" output_stream: "right"
        node { calculator: "HolisticLandmarkCpu" input_stream: "IMAGE:image"
               output_stream: "POSE_LANDMARKS:pose" output_stream: "FACE_LANDMARKS:face"
               output_stream: "LEFT_HAND_LANDMARKS:left"
               output_stream: "RIGHT_HAND_LANDMARKS:right" }
    """)
    counts = {len(g.spec.nodes) for g in (binary, text, wrapped, as_node)}
    assert counts == {MEDIAPIPE_NODE_COUNT}


def test_still_gives_pose_face_and_both_hands(holistic_models, person):
    out = run_still(holistic_models, person)
    box = person_box()
    pose, face = points(out["pose_landmarks"]), points(out["face_landmarks"])
    left, right = points(out["left_hand_landmarks"]), points(out["right_hand_landmarks"])
    assert (len(pose), len(face), len(left), len(right)) == (33, 468, 21, 21)
    assert len(points(out["pose_world_landmarks"])) == 33
    for found in (pose[:25], face, left, right):  # 25+: legs, may leave the crop's box
        assert inside(found, box)
    # Each hand is where its pose wrist is, and the two are apart.
    for hand, wrist in ((left, LEFT_WRIST), (right, RIGHT_WRIST)):
        assert np.hypot(*((hand[0, :2] - pose[wrist, :2]) * (640, 480))) < 25
    assert np.hypot(*((left[0, :2] - right[0, :2]) * (640, 480))) > 40
    # The face mesh sits on the pose's face: its nose tip near the pose's nose.
    assert np.hypot(*((face[1, :2] - pose[0, :2]) * (640, 480))) < 10
    assert out["segmentation_mask"] == []  # enable_segmentation false


def test_refine_face_landmarks_gives_478(holistic_models, person):
    out = run_still(holistic_models, person, refine_face_landmarks=True)
    face = points(out["face_landmarks"])
    assert len(face) == 478
    assert inside(face, person_box())


def test_text_form_runs_the_same(holistic_models, person):
    binary = run_still(holistic_models, person)
    text = run_still(mg.to_text(mg.Graph(holistic_models).config), person)
    for name in ("pose_landmarks", "face_landmarks", "left_hand_landmarks",
                 "right_hand_landmarks"):
        np.testing.assert_allclose(points(text[name]), points(binary[name]), atol=1e-6)


def test_nothing_but_bounds_on_an_empty_frame(holistic_models):
    blank = np.full((240, 320, 3), 90, np.uint8)
    out = run_still(holistic_models, blank)
    assert all(out[name] == [] for name in ("pose_landmarks", "face_landmarks",
                                            "left_hand_landmarks", "right_hand_landmarks"))


@pytest.mark.dsp
def test_every_model_runs_on_the_hexagon_dsp_and_agrees_with_cpu(holistic_models, person):
    """`inference_delegate="dsp"`: the six models (pose detection and landmarks, hand
    re-crop and landmarks, face detection and mesh) converted to ONNX, all on the
    (emulated) HTP, within a pixel of the CPU run."""
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    pytest.importorskip("tflite2onnx")
    cpu = run_still(holistic_models, person)
    graph = mg.Graph(holistic_models, inference_delegate="dsp")
    try:
        dsp = graph.run({"image": [(ImageFrame(person), 0)]}, side_packets=STILL_SIDE_PACKETS,
                        timeout=600)
    except mg.CalculatorError as exc:
        pytest.skip(f"QNN HTP could not start here: {exc}")
    backends = {row.info.get("backend") for row in graph.profile().nodes
                if row.calculator == "InferenceCalculator"}
    assert backends == {"onnxruntime-qnn-htp"}
    for name in ("pose_landmarks", "face_landmarks", "left_hand_landmarks",
                 "right_hand_landmarks"):
        difference = (points(dsp[name]) - points(cpu[name]))[:, :2] * (640, 480)
        assert np.hypot(*difference.T).mean() < 1.0, name


# -- the hand-from-pose pieces on their own -----------------------------------------------

def wrist_pinky_index(wrist, pinky, index, visibility=0.9) -> NormalizedLandmarkList:
    return NormalizedLandmarkList(tuple(NormalizedLandmark(x, y, 0.0, visibility, visibility)
                                        for x, y in (wrist, pinky, index)))


def test_recrop_roi_from_pose_landmarks_by_hand():
    """An upright hand: the middle finger at (2 index + pinky) / 3 = (0.5, 0.5), twice the
    wrist distance (0.3) wide, scaled by 2.7 and moved up by 0.1 of the unscaled side."""
    graph = mg.Graph("""
        input_stream: "hand" input_stream: "size" output_stream: "roi"
        node { calculator: "HandLandmarksFromPoseToRecropRoi"
               input_stream: "HAND_LANDMARKS_FROM_POSE:hand" input_stream: "IMAGE_SIZE:size"
               output_stream: "ROI:roi" }
    """)
    hand = wrist_pinky_index((0.5, 0.8), (0.4, 0.5), (0.55, 0.5))
    out = graph.run({"hand": [(hand, 0)], "size": [((200, 200), 0)]}, timeout=30)
    (roi,) = [p.value for p in out["roi"]]
    assert (roi.x_center, roi.y_center, roi.width, roi.height, roi.rotation) == \
        pytest.approx((0.5, 0.44, 1.62, 1.62, 0.0), abs=1e-6)


def test_hand_roi_turns_with_the_forearm():
    """A hand pointing right (wrist on the left): a quarter turn clockwise."""
    graph = mg.Graph("""
        input_stream: "hand" input_stream: "size" output_stream: "roi"
        node { calculator: "HandLandmarksFromPoseToRecropRoi"
               input_stream: "HAND_LANDMARKS_FROM_POSE:hand" input_stream: "IMAGE_SIZE:size"
               output_stream: "ROI:roi" }
    """)
    hand = wrist_pinky_index((0.2, 0.5), (0.5, 0.6), (0.5, 0.45))
    out = graph.run({"hand": [(hand, 0)], "size": [((200, 200), 0)]}, timeout=30)
    assert out["roi"][0].value.rotation == pytest.approx(math.pi / 2, abs=1e-6)


def test_hand_visibility_is_the_pose_wrists_above_one_tenth():
    graph = mg.Graph("""
        input_stream: "hand" output_stream: "visible"
        node { calculator: "HandVisibilityFromHandLandmarksFromPose"
               input_stream: "HAND_LANDMARKS_FROM_POSE:hand" output_stream: "VISIBILITY:visible" }
    """)
    hands = [(wrist_pinky_index((0.5, 0.5), (0.4, 0.4), (0.6, 0.4), v), i)
             for i, v in enumerate((0.05, 0.1, 0.11, 0.9))]
    out = graph.run({"hand": hands}, timeout=30)
    assert [p.value for p in out["visible"]] == [False, False, True, True]


@pytest.fixture(scope="module")
def pose_of_person(holistic_models, person) -> NormalizedLandmarkList:
    """The still's pose landmarks from PoseLandmarkCpu (MediaPipe's pose graph)."""
    graph = mg.Graph("""
        input_stream: "image" output_stream: "pose"
        node { calculator: "PoseLandmarkCpu" input_stream: "IMAGE:image"
               output_stream: "LANDMARKS:pose" }
    """)
    out = graph.run({"image": [(ImageFrame(person), 0)]},
                    side_packets={}, timeout=300)
    (packet,) = out["pose"]
    return packet.value


HANDS_FROM_POSE = """
    input_stream: "image" input_stream: "pose"
    output_stream: "left" output_stream: "right"
    output_stream: "left_from_pose" output_stream: "left_recrop" output_stream: "left_roi"
    output_stream: "right_from_pose" output_stream: "right_recrop" output_stream: "right_roi"
    node { calculator: "HandLandmarksLeftAndRightCpu" input_stream: "IMAGE:image"
           input_stream: "POSE_LANDMARKS:pose"
           output_stream: "LEFT_HAND_LANDMARKS:left"
           output_stream: "RIGHT_HAND_LANDMARKS:right"
           output_stream: "LEFT_HAND_ROI_FROM_POSE:left_from_pose"
           output_stream: "LEFT_HAND_ROI_FROM_RECROP:left_recrop"
           output_stream: "LEFT_HAND_TRACKING_ROI:left_roi"
           output_stream: "RIGHT_HAND_ROI_FROM_POSE:right_from_pose"
           output_stream: "RIGHT_HAND_ROI_FROM_RECROP:right_recrop"
           output_stream: "RIGHT_HAND_TRACKING_ROI:right_roi" }
"""


def rect_contains(rect: NormalizedRect, xy: np.ndarray, width=640, height=480) -> bool:
    """Whether every point lies inside the rotated rect (pixels)."""
    c, s = math.cos(-rect.rotation), math.sin(-rect.rotation)
    dx = (xy[:, 0] - rect.x_center) * width
    dy = (xy[:, 1] - rect.y_center) * height
    u, v = c * dx - s * dy, s * dx + c * dy
    return bool((abs(u) <= rect.width * width / 2).all()
                and (abs(v) <= rect.height * height / 2).all())


def test_hands_from_pose_landmarks_alone(pose_of_person, person):
    out = mg.Graph(HANDS_FROM_POSE).run(
        {"image": [(ImageFrame(person), 0)], "pose": [(pose_of_person, 0)]}, timeout=300)
    pose = pose_of_person.to_array()
    for side, wrist in (("left", LEFT_WRIST), ("right", RIGHT_WRIST)):
        hand = points(out[side])
        assert len(hand) == 21
        (from_pose,), (recrop,), (roi,) = (
            [p.value for p in out[f"{side}_{name}"]] for name in ("from_pose", "recrop", "roi"))
        # Static: nothing tracked, the landmark model runs on the re-crop ROI, which is
        # tighter than the pose's search ROI and holds the whole hand.
        assert roi == recrop
        assert recrop.width < from_pose.width
        assert rect_contains(recrop, hand)
        assert rect_contains(from_pose, pose[[wrist, wrist + 2, wrist + 4]])


def test_a_hand_whose_pose_wrist_is_not_visible_is_not_searched(pose_of_person, person):
    hidden = list(pose_of_person.landmark)
    wrist = hidden[LEFT_WRIST]
    hidden[LEFT_WRIST] = NormalizedLandmark(wrist.x, wrist.y, wrist.z, 0.05, wrist.presence)
    out = mg.Graph(HANDS_FROM_POSE).run(
        {"image": [(ImageFrame(person), 0)],
         "pose": [(NormalizedLandmarkList(tuple(hidden)), 0)]}, timeout=300)
    assert out["left"] == out["left_from_pose"] == out["left_recrop"] == []
    assert len(points(out["right"])) == 21


# -- video: tracking over the back edges, smoothing ---------------------------------------

FRAMES = 16
MOTION = 120  # the first FRAMES frames of a 120-frame pass: a few pixels a frame


@pytest.fixture(scope="module")
def video(holistic_models):
    """HolisticLandmarkCpu over the moving person, with the hand debug streams observed."""
    draw = samples.person_frame_fn()
    frames = [(ImageFrame(draw(i, MOTION, 640, 480)), i * 33_333) for i in range(FRAMES)]
    graph = mg.Graph(holistic_models)
    out = graph.run({"image": frames}, side_packets=VIDEO_SIDE_PACKETS, timeout=600)
    hands = mg.Graph(HANDS_FROM_POSE)
    hand_out = hands.run({"image": frames, "pose": [(p.value, p.timestamp)
                                                    for p in out["pose_landmarks"]]},
                         timeout=600)
    return frames, out, graph, hand_out


def test_video_finds_everything_on_every_frame(video):
    frames, out, _, _ = video
    every = [int(ts) for _, ts in frames]
    for name in ("pose_landmarks", "pose_world_landmarks", "face_landmarks",
                 "left_hand_landmarks", "right_hand_landmarks", "segmentation_mask"):
        assert timestamps(out[name]) == every, name
    for packet in out["face_landmarks"]:
        index = every.index(int(packet.timestamp))
        assert inside(packet.value.to_array(),
                      samples.person_box(index, MOTION, 640, 480)), index


def test_video_tracks_the_pose_and_keeps_the_hand_and_face_models_on_every_frame(video):
    """Pose detection runs once (the pose ROI follows its landmarks); the hand re-crop and
    face detector run every frame, as MediaPipe's graph does, and choose between their ROI
    and the previous frame's in HandTracking / FaceTracking."""
    _, _, graph, _ = video
    calls = {row.name: row.calls for row in graph.profile().nodes
             if row.calculator == "InferenceCalculator"}
    detection = [n for n in calls if "pose_detection" in n]
    assert [calls[n] for n in detection] == [1]
    for name, count in calls.items():
        if name not in detection:
            assert count == FRAMES, name


def test_hand_tracking_keeps_the_previous_roi_while_it_fits(video):
    """From the second frame on, the previous frame's hand ROI stands in for the re-crop
    ROI on some frames (the person moves a few pixels a frame), never on the first."""
    frames, _, _, hand_out = video
    for side in ("left", "right"):
        recrop = {int(p.timestamp): p.value for p in hand_out[f"{side}_recrop"]}
        used = {int(p.timestamp): p.value for p in hand_out[f"{side}_roi"]}
        assert used[0] == recrop[0]
        tracked = [ts for ts in used if ts and used[ts] != recrop[ts]]
        assert tracked, side
        assert len(timestamps(hand_out[side])) == FRAMES


def test_smoothing_changes_the_pose_only_after_the_first_frame(holistic_models, video):
    frames, smoothed, _, _ = video
    raw = mg.Graph(holistic_models).run(
        {"image": frames[:4]}, side_packets=dict(VIDEO_SIDE_PACKETS, smooth_landmarks=False),
        timeout=600)
    first_raw, first_smooth = points(raw["pose_landmarks"][:1]), points(
        smoothed["pose_landmarks"][:1])
    np.testing.assert_allclose(first_smooth, first_raw, atol=1e-6)
    later = np.abs(raw["pose_landmarks"][3].value.to_array()
                   - smoothed["pose_landmarks"][3].value.to_array()).max()
    assert later > 1e-5


# -- agreement with MediaPipe itself ------------------------------------------------------

ENV_VAR = "MEDIAGRAPH_MEDIAPIPE_PYTHON"


STILLS = {"person": lambda: samples.still("person"), "bus": lambda: samples.photo("bus")}


@pytest.fixture(scope="module")
def mediapipe_still(holistic_models, tmp_path_factory):
    """MediaPipe 0.10.14's holistic solution (static mode, plain and refined) on the
    person and on the whole bus photo (several people: pose and face found, no hands)."""
    python = os.environ.get(ENV_VAR)
    if not python:
        pytest.skip(f"set {ENV_VAR} to a python with mediapipe==0.10.14 to compare")
    import cv2

    folder = tmp_path_factory.mktemp("holistic")
    answers = {}
    for name, image in STILLS.items():
        png = folder / f"{name}.png"
        cv2.imwrite(str(png), cv2.cvtColor(image(), cv2.COLOR_RGB2BGR))
        for refine in (False, True):
            command = [python, str(ROOT / "tools" / "mediapipe_reference.py"), "stills",
                       "holistic", str(png)] + (["--refine"] if refine else [])
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if done.returncode:
                pytest.fail(f"MediaPipe's holistic failed:\n{done.stderr[-2000:]}")
            (still,) = json.loads(done.stdout)["stills"]
            answers[name, refine] = still
    return answers


def test_mediapipe_expands_the_graph_to_the_same_node_count(holistic_models):
    """MediaPipe's own ValidatedGraphConfig of the binarypb has MEDIAPIPE_NODE_COUNT nodes."""
    python = os.environ.get(ENV_VAR)
    if not python:
        pytest.skip(f"set {ENV_VAR} to a python with mediapipe==0.10.14 to compare")
    script = ("import sys\n"
              "from mediapipe.python._framework_bindings import validated_graph_config as v\n"
              "g = v.ValidatedGraphConfig()\n"
              "g.initialize(binary_graph_path=sys.argv[1])\n"
              "from mediapipe.framework import calculator_pb2\n"
              "c = calculator_pb2.CalculatorGraphConfig()\n"
              "c.ParseFromString(g.binary_config)\n"
              "print(len(c.node))\n")
    done = subprocess.run([python, "-c", script, str(holistic_models)], capture_output=True,
                          text=True, timeout=300, check=True)
    assert int(done.stdout.split()[-1]) == MEDIAPIPE_NODE_COUNT


# Our subgraphs that must be MediaPipe 0.10.14's, node for node (names aside).
SAME_AS_MEDIAPIPE = (
    "HolisticLandmarkCpu", "HandLandmarksLeftAndRightCpu", "HandLandmarksFromPoseCpu",
    "HandVisibilityFromHandLandmarksFromPose", "HandLandmarksFromPoseToRecropRoi",
    "HandRecropByRoiCpu", "HandTracking", "HandLandmarksToRoi", "FaceLandmarksFromPoseCpu",
    "FaceLandmarksFromPoseToRecropRoi", "FaceDetectionFrontDetectionsToRoi", "FaceTracking",
    "FaceLandmarksToRoi", "HandLandmarkModelLoader", "PalmDetectionModelLoader",
    "PalmDetectionCpu", "HandLandmarkLandmarksToRoi", "FaceDetectionShortRangeByRoiCpu")


@pytest.fixture(scope="module")
def mediapipe_subgraphs() -> dict[str, list[str]]:
    """The subgraph configs compiled into MediaPipe's wheel, by type."""
    python = os.environ.get(ENV_VAR)
    if not python:
        pytest.skip(f"set {ENV_VAR} to a python with mediapipe==0.10.14 to compare")
    done = subprocess.run([python, str(ROOT / "tools" / "mediapipe_embedded_graphs.py")],
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


def unnamed(config):
    config = type(config).FromString(config.SerializeToString())
    for node in config.node:
        node.ClearField("name")
    return config


@pytest.mark.parametrize("name", SAME_AS_MEDIAPIPE)
def test_subgraph_is_mediapipes_own(mediapipe_subgraphs, name):
    from mediagraph.config import library

    ours = unnamed(library.find_subgraph(name))
    if name == "FaceDetectionShortRangeByRoiCpu":
        # MediaPipe's file says `type: "FaceDetectionShortRangeCpu"`; its BUILD target
        # registers it under this name. The variant with the ROI input is the one.
        variants = [mg.parse_config(text) for text in
                    mediapipe_subgraphs["FaceDetectionShortRangeCpu"]]
        (theirs,) = [c for c in variants if "ROI:roi" in c.input_stream]
        theirs.type = name
    else:
        (text,) = mediapipe_subgraphs[name]
        theirs = mg.parse_config(text)
    assert ours == unnamed(theirs)


def mean_error_percent(ours: np.ndarray, theirs, width=640, height=480) -> float:
    """Mean landmark distance in % of the image's larger side."""
    theirs = np.array([row[:2] for row in theirs], np.float64)
    distance = np.hypot((ours[:, 0] - theirs[:, 0]) * width, (ours[:, 1] - theirs[:, 1]) * height)
    return float(100 * distance.mean() / max(width, height))


SETS = ("pose_landmarks", "face_landmarks", "left_hand_landmarks", "right_hand_landmarks")


@pytest.mark.parametrize("refine", [False, True], ids=["plain", "refine"])
@pytest.mark.parametrize("still", sorted(STILLS))
def test_still_agrees_with_mediapipe(mediapipe_still, holistic_models, still, refine):
    theirs = mediapipe_still[still, refine]
    image = STILLS[still]()
    height, width = image.shape[:2]
    ours = run_still(holistic_models, image, refine_face_landmarks=refine)
    errors = {}
    for name in SETS:
        expected = theirs["landmarks"][name]
        assert (expected is None) == (ours[name] == []), name
        if expected is not None:
            found = points(ours[name])
            assert len(found) == len(expected), name
            errors[name] = mean_error_percent(found, expected, width, height)
    assert errors and all(error < 1.0 for error in errors.values()), errors
    print(f"{still} mean landmark error, % of the larger side (refine={refine}):", errors,
          file=sys.stderr)


def test_hands_from_mediapipes_own_pose_agree_with_its_hands(mediapipe_still, person):
    """HandLandmarksLeftAndRightCpu alone, fed MediaPipe's pose landmarks: its hands must
    be MediaPipe's, whatever our pose graph does."""
    theirs = mediapipe_still["person", False]["landmarks"]
    pose = NormalizedLandmarkList(tuple(
        NormalizedLandmark(x, y, z, v, p) for x, y, z, v, p in theirs["pose_landmarks"]))
    out = mg.Graph(HANDS_FROM_POSE).run(
        {"image": [(ImageFrame(person), 0)], "pose": [(pose, 0)]}, timeout=300)
    for side in ("left", "right"):
        expected = theirs[f"{side}_hand_landmarks"]
        assert expected is not None and out[side]
        assert mean_error_percent(points(out[side]), expected) < 0.2, side


VIDEO_FRAMES, VIDEO_MOTION = 24, 60


@pytest.fixture(scope="module")
def mediapipe_video(holistic_models, tmp_path_factory):
    """MediaPipe's holistic graph in video mode over the moving person, with its hand and
    face ROIs (tools/mediapipe_holistic_internals.py), and the frames it saw."""
    python = os.environ.get(ENV_VAR)
    if not python:
        pytest.skip(f"set {ENV_VAR} to a python with mediapipe==0.10.14 to compare")
    import cv2

    folder = tmp_path_factory.mktemp("holistic_video")
    draw = samples.person_frame_fn()
    frames, paths = [], []
    for i in range(VIDEO_FRAMES):
        image = draw(i, VIDEO_MOTION, 640, 480)
        paths.append(folder / f"{i:03d}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        frames.append((ImageFrame(image), (i + 1) * 33_333))  # as MediaPipe's solutions
    command = [python, str(ROOT / "tools" / "mediapipe_holistic_internals.py"),
               str(holistic_models), *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode:
        pytest.fail(f"MediaPipe's holistic graph failed:\n{done.stderr[-2000:]}")
    return frames, json.loads(done.stdout.strip().splitlines()[-1])


def mediapipe_landmarks(rows, count=None) -> NormalizedLandmarkList:
    return NormalizedLandmarkList(tuple(NormalizedLandmark(*row) for row in rows[:count]))


def test_hands_and_face_track_as_mediapipe_on_its_own_pose(mediapipe_video):
    """HandLandmarksLeftAndRightCpu and FaceLandmarksFromPoseCpu alone, fed MediaPipe's
    pose landmarks frame by frame: on every frame they keep the previous ROI exactly when
    MediaPipe does, and their landmarks are MediaPipe's."""
    frames, theirs = mediapipe_video
    stamps = [ts for _, ts in frames]
    pose = [(mediapipe_landmarks(theirs["pose_landmarks"][str(ts)]), ts) for ts in stamps]
    hands = mg.Graph(HANDS_FROM_POSE).run({"image": frames, "pose": pose}, timeout=600)
    face = mg.Graph("""
        input_stream: "image" input_stream: "pose"
        output_stream: "face" output_stream: "recrop" output_stream: "roi"
        node { calculator: "FaceLandmarksFromPoseCpu" input_stream: "IMAGE:image"
               input_stream: "FACE_LANDMARKS_FROM_POSE:pose"
               output_stream: "FACE_LANDMARKS:face"
               output_stream: "FACE_ROI_FROM_DETECTION:recrop"
               output_stream: "FACE_TRACKING_ROI:roi" }
    """).run({"image": frames, "pose": [
        (mediapipe_landmarks(theirs["pose_landmarks"][str(ts)], 11), ts) for ts in stamps]},
        timeout=600)
    cases = [("left_hand", hands["left"], hands["left_recrop"], hands["left_roi"]),
             ("right_hand", hands["right"], hands["right_recrop"], hands["right_roi"]),
             ("face", face["face"], face["recrop"], face["roi"])]
    kept = 0
    for name, found, recrop, roi in cases:
        found = {int(p.timestamp): p.value.to_array() for p in found}
        recrop = {int(p.timestamp): p.value for p in recrop}
        roi = {int(p.timestamp): p.value for p in roi}
        key = "face_landmarks" if name == "face" else f"{name}_landmarks"
        their_recrop = ("face_roi_from_detection" if name == "face"
                        else f"{name}_roi_from_recrop")
        their_roi = "face_tracking_roi" if name == "face" else f"{name}_tracking_roi"
        assert sorted(found) == sorted(int(ts) for ts in theirs[key]) == stamps, name
        errors = []
        for ts in stamps:
            theirs_kept = theirs[their_roi][str(ts)] != theirs[their_recrop][str(ts)]
            assert (roi[ts] != recrop[ts]) == theirs_kept, (name, ts)
            kept += theirs_kept
            errors.append(mean_error_percent(found[ts], theirs[key][str(ts)]))
        assert max(errors) < 0.2 and float(np.mean(errors)) < 0.05, (name, errors)
    assert kept  # the clip does exercise tracking


def test_whole_graph_in_video_mode_agrees_with_mediapipe(mediapipe_video, holistic_models):
    """The binarypb in video mode (tracking, smoothing) on the same frames as MediaPipe's:
    the same parts found on every frame and landmarks within 1% on average. Single frames
    may differ more where the two pose graphs, a fraction of a pixel apart, tip a hand's
    tracking decision different ways."""
    frames, theirs = mediapipe_video
    ours = mg.Graph(holistic_models).run(
        {"image": frames}, side_packets=dict(VIDEO_SIDE_PACKETS, enable_segmentation=False,
                                             smooth_segmentation=False), timeout=600)
    for name in SETS:
        found = {int(p.timestamp): p.value.to_array() for p in ours[name]}
        expected = {int(ts): rows for ts, rows in theirs[name].items()}
        assert sorted(found) == sorted(expected), name
        errors = [mean_error_percent(found[ts], expected[ts]) for ts in sorted(found)]
        assert float(np.mean(errors)) < 1.0, (name, errors)
        print(f"{name}: mean {np.mean(errors):.3f}% max {max(errors):.3f}% over "
              f"{len(errors)} frames", file=sys.stderr)
