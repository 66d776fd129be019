"""Agreement with MediaPipe itself: MediaPipe 0.10.14's pose, face mesh and holistic solutions
(static_image_mode=True, in their own venv) against MediaPipe's own binarypb graphs run
unchanged by mediagraph, on the same stills (a whole person, faces at three scales, the
photos they come from).

Skips unless $MEDIAGRAPH_MEDIAPIPE_PYTHON names a python with mediapipe 0.10.14:

    MEDIAGRAPH_MEDIAPIPE_PYTHON=/work/mpvenv/bin/python \
        .venv/bin/python -m pytest -q tests/graphs/test_mediapipe_agreement.py

Each still must agree: normalized landmarks to a mean error under 1% of the image's larger
side, world landmarks under 10 mm on average, visibility and presence within 0.05, the
same number of poses, faces and hands,
segmentation masks with IoU above 0.95. The comparison itself lives in
benchmarks/bench_agreement.py (which prints the same rows as a table) and is checked here
on made-up answers, with no MediaPipe needed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from mediagraph import models

pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parents[2]


def _load_bench():
    spec = importlib.util.spec_from_file_location(
        "bench_agreement", ROOT / "benchmarks" / "bench_agreement.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture(scope="module")
def mediapipe_python() -> str:
    python = bench.mediapipe_python()
    if python is None:
        pytest.skip(f"set {bench.ENV_VAR} to a python with mediapipe==0.10.14 to compare")
    version = bench.mediapipe_version(python)
    if version != "0.10.14":
        pytest.skip(f"{python} has mediapipe {version}, not 0.10.14")
    for name in bench.GRAPH_FILES.values():
        if not models.mediapipe_graph(name).is_file():
            pytest.skip(f"{name} is not cached: run `mediagraph models fetch`")
    return python


@pytest.mark.parametrize("case", bench.CASES, ids=lambda case: case.name)
def test_unchanged_graph_agrees_with_mediapipe(mediapipe_python, case, tmp_path):
    rows = bench.run_case(mediapipe_python, case, tmp_path)
    table = bench.format_rows(rows)
    assert rows and all(row.agrees for row in rows), f"disagreement:\n{table}"
    # The stills were chosen so that something is found: an all-empty table proves little.
    assert any(row.mean is not None for row in rows), table


# -- the comparison itself, on made-up answers ------------------------------------------

def _entry(points=None, faces=(), mask=None, width=200, height=100):
    return {"width": width, "height": height,
            "landmarks": {"pose_landmarks": points,
                          "pose_world_landmarks": None if points is None else points},
            "multi_face_landmarks": list(faces),
            "counts": {"poses": int(points is not None), "faces": len(faces), "hands": 0},
            "mask": mask}


def test_landmark_error_is_a_percentage_of_the_larger_side():
    case = bench.Case("pose", ("x",))
    theirs = [[0.5, 0.5, 0.0, 0.9, 0.9]] * 4
    mine = [[0.5 + 1 / 200, 0.5, 0.0, 0.9, 0.9]] * 3 + [[0.5, 0.5 + 4 / 100, 0.0, 0.9, 0.9]]
    rows = bench.compare(case, "x", _entry(mine), _entry(theirs))
    image = rows[0]
    assert image.landmarks == "pose_landmarks"
    assert image.mean == pytest.approx((3 * 0.5 + 2.0) / 4)  # 1 px and 4 px of 200
    assert image.max == pytest.approx(2.0) and image.agrees  # the mean is under 1%
    shifted = [[0.5 + 3 / 200, 0.5, 0.0, 0.9, 0.9]] * 4
    assert not bench.compare(case, "x", _entry(shifted), _entry(theirs))[0].agrees  # 1.5%
    counts = [r for r in rows if r.landmarks == "poses"]
    assert [(r.ours, r.theirs, r.agrees) for r in counts] == [(1, 1, True)]


def test_visibility_must_agree_too():
    case = bench.Case("pose", ("x",))
    rows = bench.compare(case, "x", _entry([[0.5, 0.5, 0, 0.9, 0.8]]),
                         _entry([[0.5, 0.5, 0, 0.8, 0.8]]))
    assert rows[0].mean == 0 and rows[0].visibility == pytest.approx(0.1)
    assert not rows[0].agrees


def test_a_pose_found_on_one_side_only_disagrees():
    case = bench.Case("pose", ("x",))
    rows = bench.compare(case, "x", _entry(None), _entry([[0.5, 0.5, 0, 1, 1]] * 33))
    assert not any(r.agrees for r in rows)
    assert {(r.landmarks, r.ours, r.theirs) for r in rows} >= {("poses", 0, 1)}


def test_faces_are_paired_with_the_nearest_reference_face():
    case = bench.Case("face_mesh", ("x",), max_num_faces=2)
    left = [[0.2, 0.5, 0, None, None]] * 5
    right = [[0.8, 0.5, 0, None, None]] * 5
    rows = bench.compare(case, "x", _entry(faces=[right, left]), _entry(faces=[left, right]))
    assert [(r.landmarks, r.mean) for r in rows[:2]] == [("face 0", 0.0), ("face 1", 0.0)]
    assert rows[-1].landmarks == "faces" and rows[-1].agrees


def test_mask_iou_thresholds_at_one_half():
    a = np.zeros((10, 10, 1), np.float32)
    b = np.zeros((10, 10), np.float32)
    a[:5] = 0.9
    b[:4] = 0.6
    b[9] = 0.4  # below the threshold: background
    assert bench.iou(a, b) == pytest.approx(40 / 50)
    assert bench.iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    case = bench.Case("pose", ("x",), enable_segmentation=True)
    points = [[0.5, 0.5, 0, 1, 1]]
    (mask_row,) = [r for r in bench.compare(case, "x", _entry(points, mask=a),
                                            _entry(points, mask=b)) if r.landmarks == "mask"]
    assert not mask_row.agrees
    assert "mask" in bench.format_rows([mask_row])


def test_static_side_packets_are_the_solutions():
    pose = bench.Case("pose", ("x",), enable_segmentation=True).side_packets()
    assert pose == {"model_complexity": 1, "smooth_landmarks": False,
                    "enable_segmentation": True, "smooth_segmentation": False,
                    "use_prev_landmarks": False}
    face = bench.Case("face_mesh", ("x",), refine=True, max_num_faces=3).side_packets()
    assert face == {"num_faces": 3, "with_attention": True, "use_prev_landmarks": False}
    holistic = bench.Case("holistic", ("x",), refine=True).side_packets()
    assert holistic["refine_face_landmarks"] is True and not holistic["use_prev_landmarks"]
