"""Any graph on any backend, unedited: the face video graph with `--delegate openvino`,
`mnn`, `ncnn` or `executorch` finds the same faces as the CPU path (LiteRT)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mediagraph as mg
from mediagraph import models
from mediagraph.testing import samples

from .test_face_detection import as_box, box_iou

pytestmark = pytest.mark.timeout(300)
GRAPHS = Path(__file__).resolve().parents[2] / "graphs"
VIDEO_GRAPH = GRAPHS / "face_detection_video.pbtxt"
FRAMES = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        models.resolve("face_detection_short_range.tflite")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    folder = tmp_path_factory.mktemp("backends")
    return samples.make_face_video(folder / "face.mp4", frames=FRAMES, audio=False)


def _detections(clip: Path, out: Path, delegate: str) -> tuple[list, set[str]]:
    graph = mg.Graph(VIDEO_GRAPH, inference_delegate=delegate)
    seen: list[mg.Packet] = []
    graph.observe_output_stream("face_detections", seen.append)
    graph.run(side_packets={"input_video_path": str(clip), "output_video_path": str(out)},
              timeout=240)
    backends = {row.info.get("backend") for row in graph.profile().nodes
                if row.calculator == "InferenceCalculator"}
    return [p.value for p in seen], backends


@pytest.fixture(scope="module")
def cpu_faces(clip: Path) -> list:
    faces, backends = _detections(clip, clip.with_name("cpu.mp4"), "cpu")
    assert backends == {"litert"}
    return faces


@pytest.mark.parametrize("delegate,backend,module", [("openvino", "openvino", "openvino"),
                                                     ("mnn", "mnn", "MNN"),
                                                     ("ncnn", "ncnn", "ncnn"),
                                                     ("executorch", "executorch",
                                                      "executorch.runtime")])
def test_the_face_video_graph_finds_the_cpu_faces_on_each_backend(
        clip: Path, cpu_faces: list, delegate: str, backend: str, module: str) -> None:
    pytest.importorskip(module)
    faces, backends = _detections(clip, clip.with_name(f"{delegate}.mp4"), delegate)
    assert backends == {backend}  # the profile names the backend that ran
    assert len(faces) == len(cpu_faces) == FRAMES
    for mine, theirs in zip(faces, cpu_faces):
        assert len(mine) == len(theirs) == 1
        assert box_iou(as_box(mine[0]), as_box(theirs[0])) > 0.98
        assert abs(mine[0].score[0] - theirs[0].score[0]) < 0.01


@pytest.mark.parametrize("flag,backend,module", [("--delegate", "openvino", "openvino"),
                                                 ("--backend", "mnn", "MNN")])
def test_the_cli_runs_the_video_graph_on_a_runtime(clip: Path, tmp_path: Path, flag: str,
                                                   backend: str, module: str) -> None:
    pytest.importorskip(module)
    out = tmp_path / "faces.mp4"
    root = GRAPHS.parent
    done = subprocess.run([sys.executable, "-m", "mediagraph", "run", str(VIDEO_GRAPH),
                           flag, backend, "-i", str(clip), "-o", str(out)],
                          capture_output=True, text=True, timeout=240, cwd=root,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                              [str(root), os.environ.get("PYTHONPATH", "")])))
    assert done.returncode == 0, done.stderr
    inference = [line for line in done.stdout.splitlines() if "InferenceCalculator" in line]
    assert inference and all(f" {backend} (" in line for line in inference)  # the profile
    assert out.stat().st_size > 0
