"""Face mesh: MediaPipe 0.10.14's face_landmark_front_cpu.binarypb run unchanged.

The graph runs as MediaPipe ships it (the binarypb from the model cache), as its text form
(graphs/face_landmark_front_cpu.pbtxt) and as the subgraph FaceLandmarkFrontCpu, with the
side packets mediapipe/python/solutions/face_mesh.py sets: num_faces (max_num_faces),
with_attention (refine_landmarks) and use_prev_landmarks (not static_image_mode). On real
photos it finds the faces MediaPipe finds, with 468 landmarks (478 with attention) on the
face; in video mode the back edge carries each face's ROI to the next frame, so detection
runs on the first frame only while the face moves. With $MEDIAGRAPH_MEDIAPIPE_PYTHON (or
/work/mpvenv) holding mediapipe 0.10.14, the landmarks are compared with
`mediapipe.solutions.face_mesh` itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401
from mediagraph import models
from mediagraph.formats import ImageFrame
from mediagraph.testing import samples

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[2]
BINARYPB = models.mediapipe_graph("face_landmark_front_cpu.binarypb")
TEXT = ROOT / "graphs" / "face_landmark_front_cpu.pbtxt"
SUBGRAPH = """
    input_stream: "image"
    input_side_packet: "num_faces" input_side_packet: "use_prev_landmarks"
    input_side_packet: "with_attention"
    output_stream: "multi_face_landmarks" output_stream: "face_detections"
    output_stream: "face_rects_from_landmarks" output_stream: "face_rects_from_detections"
    node { calculator: "FaceLandmarkFrontCpu" input_stream: "IMAGE:image"
           input_side_packet: "NUM_FACES:num_faces"
           input_side_packet: "USE_PREV_LANDMARKS:use_prev_landmarks"
           input_side_packet: "WITH_ATTENTION:with_attention"
           output_stream: "LANDMARKS:multi_face_landmarks"
           output_stream: "DETECTIONS:face_detections"
           output_stream: "ROIS_FROM_LANDMARKS:face_rects_from_landmarks"
           output_stream: "ROIS_FROM_DETECTIONS:face_rects_from_detections" }
"""
SOURCES = {"binarypb": lambda: BINARYPB, "text": lambda: TEXT, "subgraph": lambda: SUBGRAPH}
# The two men in front of the bus, large enough for the short-range detector.
BUS_MEN = (slice(360, 540), slice(60, 380))


@pytest.fixture(scope="module", autouse=True)
def face_models() -> None:
    try:
        for name in ("face_detection_short_range.tflite", "face_landmark.tflite",
                     "face_landmark_with_attention.tflite"):
            models.resolve(name)
        samples.photo("astronaut")
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(str(exc))
    if not BINARYPB.is_file():
        pytest.skip(f"{BINARYPB.name} is not cached: run `mediagraph models fetch`")


def side_packets(num_faces: int = 1, attention: bool = False, video: bool = False) -> dict:
    """What mediapipe.solutions.face_mesh.FaceMesh gives the graph."""
    return {"num_faces": num_faces, "with_attention": attention, "use_prev_landmarks": video}


def faces_in(image: np.ndarray, source: str = "binarypb", **options) -> list[np.ndarray]:
    graph = mg.Graph(SOURCES[source]())
    out = graph.run({"image": [(ImageFrame(np.ascontiguousarray(image)), 0)]},
                    side_packets(**options), timeout=300)
    packets = out["multi_face_landmarks"]
    return [face.to_array() for face in packets[0].value] if packets else []


def inside(points: np.ndarray, box, width: int, height: int, margin: float) -> bool:
    """All landmarks inside the face box grown by `margin` of its size (the mesh reaches the
    forehead, above the box's brows)."""
    x0, y0, x1, y1 = box
    grow_x, grow_y = margin * (x1 - x0), margin * (y1 - y0)
    xy = points[:, :2] * (width, height)
    return bool(((xy[:, 0] > x0 - grow_x) & (xy[:, 0] < x1 + grow_x)
                 & (xy[:, 1] > y0 - 2 * grow_y) & (xy[:, 1] < y1 + grow_y)).all())


def test_both_forms_validate_to_mediapipes_53_nodes():
    for source in (BINARYPB, TEXT):
        assert len(mg.Graph(source).spec.nodes) == 53   # MediaPipe's own expansion: 53


@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
@pytest.mark.parametrize("source", list(SOURCES))
def test_one_large_face_on_the_astronaut(source, attention):
    image = samples.photo("astronaut")
    faces = faces_in(image, source, num_faces=2, attention=attention)
    assert len(faces) == 1
    assert faces[0].shape == (478 if attention else 468, 3)
    assert inside(faces[0], samples.FACE_BOXES["astronaut"][0], 512, 512, margin=0.25)


def test_attention_refines_the_plain_mesh_within_a_percent():
    image = samples.photo("astronaut")
    plain, = faces_in(image)
    refined, = faces_in(image, attention=True)
    error = np.linalg.norm(plain[:, :2] - refined[:468, :2], axis=1).mean()
    assert error < 0.01
    # The irises (468 and 473) sit between their eye's corners (33/133, 362/263).
    for iris, (a, b) in ((468, (33, 133)), (473, (362, 263))):
        lo = np.minimum(refined[a, :2], refined[b, :2])
        hi = np.maximum(refined[a, :2], refined[b, :2])
        assert lo[0] < refined[iris, 0] < hi[0]
        assert abs(refined[iris, 1] - (lo[1] + hi[1]) / 2) < 0.02


@pytest.mark.parametrize("num_faces, found", [(1, 1), (2, 2), (4, 2)])
def test_num_faces_is_respected(num_faces, found):
    image = samples.photo("bus")[BUS_MEN]
    faces = faces_in(image, num_faces=num_faces)
    assert len(faces) == found
    height, width = image.shape[:2]
    boxes = [(x0 - BUS_MEN[1].start, y0 - BUS_MEN[0].start, x1 - BUS_MEN[1].start,
              y1 - BUS_MEN[0].start) for x0, y0, x1, y1 in samples.FACE_BOXES["bus"]]
    for face in faces:
        assert any(inside(face, box, width, height, margin=0.3) for box in boxes)
    if found == 2:   # one face each
        centres = sorted(face[:, 0].mean() for face in faces)
        assert centres[1] - centres[0] > 0.2


@pytest.mark.parametrize("name", ["zidane", "bus"])
def test_faces_too_small_for_the_short_range_detector_are_not_found(name):
    """MediaPipe's face mesh (short-range detection, 128x128) finds no face on the whole
    zidane and bus photos either (checked against mediapipe 0.10.14 below)."""
    assert faces_in(samples.photo(name), num_faces=4, attention=True) == []


def _face_box(index: int, frames: int, width: int, height: int) -> tuple[float, ...]:
    """The astronaut's face box in frame `index` of samples.face_frame_fn (same placement)."""
    t = index / max(1, frames - 1)
    scale = 0.75 * height / 300 * (0.85 + 0.15 * np.sin(np.pi * t))
    w, h = int(300 * scale), int(300 * scale)
    left, top = int((width - w) * (0.1 + 0.8 * t)), (height - h) // 2
    x0, y0, x1, y1 = samples.FACE_BOXES["astronaut"][0]
    return (left + (x0 - 90) * scale, top + y0 * scale, left + (x1 - 90) * scale,
            top + y1 * scale)


@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
def test_video_mode_tracks_the_moving_face_over_the_back_edge(attention):
    frames, width, height = 24, 640, 480
    draw = samples.face_frame_fn()
    images = [(ImageFrame(draw(i, frames, width, height)), i * 33_333) for i in range(frames)]
    graph = mg.Graph(BINARYPB)
    out = graph.run({"image": images}, side_packets(1, attention, video=True), timeout=600)
    landmarks = out["multi_face_landmarks"]
    assert [p.timestamp.value for p in landmarks] == [ts for _, ts in images]
    for i, packet in enumerate(landmarks):
        face, = packet.value
        points = face.to_array()
        assert len(points) == (478 if attention else 468)
        assert inside(points, _face_box(i, frames, width, height), width, height, 0.25), i
    # Detection ran on the first frame only: later ROIs came from the landmarks.
    detected = [p.timestamp.value for p in out["face_detections"]]
    assert detected == [0]
    assert len(out["face_rects_from_landmarks"]) == frames
    # The face moved right across the frame and the mesh followed it.
    first, last = (landmarks[k].value[0].to_array()[:, 0].mean() for k in (0, -1))
    assert last - first > 0.3


def test_static_mode_detects_on_every_frame():
    draw = samples.face_frame_fn()
    images = [(ImageFrame(draw(i, 4, 320, 240)), i) for i in range(4)]
    out = mg.Graph(BINARYPB).run({"image": images}, side_packets(1), timeout=300)
    assert [p.timestamp.value for p in out["face_detections"]] == [0, 1, 2, 3]
    assert all(len(p.value) == 1 for p in out["multi_face_landmarks"])


# -- agreement with mediapipe.solutions.face_mesh ------------------------------------------

def _mediapipe_python() -> str | None:
    python = os.environ.get("MEDIAGRAPH_MEDIAPIPE_PYTHON") or "/work/mpvenv/bin/python"
    if not Path(python).is_file():
        return None
    check = subprocess.run([python, "-c", "import mediapipe; print(mediapipe.__version__)"],
                           capture_output=True, text=True, timeout=120)
    return python if check.stdout.strip() == "0.10.14" else None


STILLS = {
    "astronaut": lambda: samples.photo("astronaut"),
    "zidane": lambda: samples.photo("zidane"),
    "bus": lambda: samples.photo("bus"),
    "bus_men": lambda: samples.photo("bus")[BUS_MEN],
    "faces": lambda: samples.still("faces"),
}


@pytest.mark.parametrize("attention", [False, True], ids=["plain", "attention"])
def test_agrees_with_mediapipes_face_mesh(attention, tmp_path, capsys):
    """Same stills through mediapipe.solutions.face_mesh(static_image_mode=True,
    max_num_faces=4, refine_landmarks=attention) and through the unchanged binarypb: the
    same number of faces, landmarks within 1% of the image's larger side on average."""
    python = _mediapipe_python()
    if python is None:
        pytest.skip("no python with mediapipe==0.10.14 ($MEDIAGRAPH_MEDIAPIPE_PYTHON)")
    import cv2

    paths = []
    for name, make in STILLS.items():
        path = tmp_path / f"{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(make(), cv2.COLOR_RGB2BGR))
        paths.append(path)
    command = [python, str(ROOT / "tools" / "mediapipe_reference.py"), "stills", "face_mesh",
               *map(str, paths), "--max-num-faces", "4"] + (["--refine"] if attention else [])
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    reference = {Path(s["image"]).stem: s for s in json.loads(result.stdout)["stills"]}
    rows = []
    for name, make in STILLS.items():
        image = make()
        height, width = image.shape[:2]
        ours = faces_in(image, num_faces=4, attention=attention)
        theirs = [np.array([p[:3] for p in face], np.float64)
                  for face in reference[name]["multi_face_landmarks"]]
        assert len(ours) == len(theirs), name
        for face in ours:   # each of ours against the nearest of theirs
            errors = [np.linalg.norm((face[:, :2] - t[:, :2]) * (width, height), axis=1)
                      for t in theirs if len(t) == len(face)]
            error = min(errors, key=lambda e: e.mean()) / max(width, height) * 100
            rows.append((name, error.mean(), error.max()))
            assert error.mean() < 1.0, (name, error.mean())
        rows.append((name, len(ours), len(theirs)))
    with capsys.disabled():
        print(f"\nface mesh {'with' if attention else 'without'} attention vs MediaPipe:")
        for row in rows:
            print("  " + "  ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
