"""Face detection graphs: MediaPipe's own configs run unchanged; backends agree; video works.

Reference values for the astronaut portrait are MediaPipe 0.10.14's own output for the
same image (box, score), measured once in a separate environment; the suite itself
never imports Google's `mediapipe`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mediagraph as mg
from mediagraph import models
from mediagraph.testing import samples
from mediagraph.formats import ImageFrame
from mediagraph.testing import timestamps

pytestmark = pytest.mark.timeout(180)
MODEL = "face_detection_short_range.tflite"
MEDIAPIPE_BOX = (0.34681, 0.16186, 0.18622, 0.18622)  # xmin, ymin, width, height
MEDIAPIPE_SCORE = 0.92174

# MediaPipe's face_detection_short_range_cpu.pbtxt, as it ships (registered there as
# FaceDetectionShortRangeCpu); the binary form is what its wheel carries.
MEDIAPIPE_CPU_CONFIG = """
type: "FaceDetectionShortRangeCpu"
input_stream: "IMAGE:image"
output_stream: "DETECTIONS:detections"
graph_options: {
  [type.googleapis.com/mediapipe.FaceDetectionOptions] {}
}
node {
  calculator: "FaceDetectionShortRange"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
  node_options: {
    [type.googleapis.com/mediapipe.FaceDetectionOptions] {
      delegate { xnnpack {} }
    }
  }
  option_value: "OPTIONS:options"
}
"""


@pytest.fixture(scope="module")
def portrait() -> ImageFrame:
    try:
        models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return ImageFrame(np.ascontiguousarray(samples.photo()))


def detect(config, image: ImageFrame, **options) -> list:
    graph = mg.Graph(config)
    out = graph.run({"image": [(image, 0)]}, timeout=120)["detections"]
    return list(out[0].value) if out else []


def box_iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter)


def as_box(detection) -> tuple[float, float, float, float]:
    b = detection.relative_bounding_box
    return (b.xmin, b.ymin, b.width, b.height)


@pytest.mark.parametrize("form", ["text", "binary", "as shipped"])
def test_mediapipes_own_config_runs_unchanged(portrait, form):
    config = mg.parse_config(MEDIAPIPE_CPU_CONFIG)
    if form == "binary":
        config = mg.parse_config(mg.to_binary(config))
    elif form == "as shipped":  # the .binarypb from MediaPipe's wheel, via `models fetch`
        shipped = models.mediapipe_graph("face_detection_short_range_cpu.binarypb")
        if not shipped.is_file():
            pytest.skip("MediaPipe's configs are not cached: run `mediagraph models fetch`")
        config = mg.load_config(shipped)
    faces = detect(config, portrait)
    assert len(faces) == 1
    assert box_iou(as_box(faces[0]), MEDIAPIPE_BOX) > 0.99
    assert abs(faces[0].score[0] - MEDIAPIPE_SCORE) < 0.005
    assert len(faces[0].relative_keypoints) == 6


def test_the_cpu_subgraph_reports_its_backend(portrait):
    graph = mg.Graph('input_stream: "image" node { calculator: "FaceDetectionShortRangeCpu" '
                     'input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }')
    graph.run({"image": [(portrait, 0)]}, timeout=120)
    backends = {row.info.get("backend") for row in graph.profile().nodes
                if row.calculator == "InferenceCalculator"}
    assert backends == {"litert"}
    # backend and device; unset threads: one, MediaPipe's desktop XNNPACK default
    assert "litert (cpu (XNNPACK, 1 thread))" in graph.profile().table()


def _with_delegate(delegate: str, model_path: str | None = None) -> str:
    model = f'model_path: "{model_path}"' if model_path else ""
    return f"""
        input_stream: "image"
        node {{ calculator: "FaceDetectionShortRange" input_stream: "IMAGE:image"
                output_stream: "DETECTIONS:detections"
                node_options {{ [type.googleapis.com/mediapipe.FaceDetectionOptions] {{
                  {model} delegate {{ {delegate} }} }} }} }}
    """


def test_onnx_cpu_agrees_with_litert(portrait):
    pytest.importorskip("tflite2onnx")
    onnx = models.convert(models.resolve(MODEL))
    reference = detect(_with_delegate("xnnpack {}"), portrait)
    faces = detect(_with_delegate("xnnpack {}", str(onnx)), portrait)
    assert len(faces) == len(reference) == 1
    assert box_iou(as_box(faces[0]), as_box(reference[0])) > 0.999
    assert abs(faces[0].score[0] - reference[0].score[0]) < 1e-3


@pytest.mark.dsp
def test_hexagon_dsp_agrees_with_cpu_on_three_frames(tmp_path):
    pytest.importorskip("onnxruntime_qnn", reason="onnxruntime-qnn is not installed")
    pytest.importorskip("tflite2onnx")
    models.resolve(MODEL)
    clip = samples.make_face_video(tmp_path / "face.mp4", frames=3, audio=False)
    import av

    with av.open(str(clip)) as container:
        frames = [ImageFrame(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    for frame in frames:
        cpu = detect(_with_delegate("xnnpack {}"), frame)
        try:
            dsp = detect(_with_delegate("dsp {}"), frame)
        except mg.CalculatorError as exc:
            pytest.skip(f"QNN HTP could not start here: {exc}")
        assert len(dsp) == len(cpu) == 1
        assert box_iou(as_box(dsp[0]), as_box(cpu[0])) > 0.99
        assert abs(dsp[0].score[0] - cpu[0].score[0]) < 0.01


def detect_in_video(tmp_path, **graph_options) -> mg.Graph:
    """Run face_detection_video.pbtxt over 45 frames of a real face; check that every frame
    has the face and that the written video decodes whole. Returns the graph."""
    clip = samples.make_face_video(tmp_path / "face.mp4", frames=45, width=640, height=480)
    out = tmp_path / "faces.mp4"
    graph = mg.Graph(Path(__file__).resolve().parents[2] / "graphs" / "face_detection_video.pbtxt",
                     **graph_options)
    seen: list[mg.Packet] = []
    graph.observe_output_stream("face_detections", seen.append)
    graph.run(side_packets={"input_video_path": str(clip), "output_video_path": str(out)},
              timeout=120)
    assert timestamps(seen) == [round(i * 1e6 / 30) for i in range(45)]
    assert all(len(p.value) == 1 and p.value[0].score[0] > 0.8 for p in seen)
    import av

    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 45
    return graph


def test_face_detection_video_finds_the_face_in_every_frame(tmp_path):
    try:
        models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    detect_in_video(tmp_path)


def test_video_frames_detected_from_their_yuv_planes_agree_with_rgb(tmp_path):
    # Decoded frames keep their YUV planes and ImageToTensor samples those; the faces must
    # be those found in the same frames converted to RGB first (MediaPipe's input).
    try:
        models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    import av

    clip = samples.make_face_video(tmp_path / "face.mp4", frames=12, audio=False)
    with av.open(str(clip)) as container:
        decoded = list(container.decode(video=0))
    config = """
        input_stream: "image"
        node { calculator: "FaceDetectionShortRangeCpu" input_stream: "IMAGE:image"
               output_stream: "DETECTIONS:detections" }
    """
    for frame in decoded[::3]:
        planes = ImageFrame.from_i420(frame.to_ndarray())
        from_planes = detect(config, planes)
        from_rgb = detect(config, ImageFrame(frame.to_ndarray(format="rgb24")))
        assert len(from_planes) == len(from_rgb) == 1
        assert box_iou(as_box(from_planes[0]), as_box(from_rgb[0])) > 0.97
        assert abs(from_planes[0].score[0] - from_rgb[0].score[0]) < 0.01
        for a, b in zip(from_planes[0].relative_keypoints, from_rgb[0].relative_keypoints):
            assert abs(a.x - b.x) < 0.0075 and abs(a.y - b.y) < 0.0075
