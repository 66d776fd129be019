"""LandmarksSmoothing and VisibilitySmoothing agree with MediaPipe's own C++ calculators.

Skipped unless MEDIAGRAPH_MEDIAPIPE_PYTHON names the Python of a venv with
`mediapipe==0.10.14`; that Python runs `tools/mediapipe_smoothing_reference.py` as a
subprocess on the same landmark sequence (mediagraph never imports mediapipe). Run:

    MEDIAGRAPH_MEDIAPIPE_PYTHON=/work/mpvenv/bin/python .venv/bin/python -m pytest \
        tests/calculators/postprocess/test_smoothing_mediapipe_agreement.py
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import parse_config
from mediagraph.formats import (
    Landmark,
    LandmarkList,
    NormalizedLandmark,
    NormalizedLandmarkList,
    NormalizedRect,
)
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(300)

PYTHON = os.environ.get("MEDIAGRAPH_MEDIAPIPE_PYTHON", "")
TOOL = Path(__file__).resolve().parents[3] / "tools" / "mediapipe_smoothing_reference.py"
SIZE = (640, 480)

needs_mediapipe = pytest.mark.skipif(
    not PYTHON or not Path(PYTHON).exists(),
    reason="set MEDIAGRAPH_MEDIAPIPE_PYTHON to a venv Python with mediapipe==0.10.14")


def sequence(count=90, n=33, seed=3, gaps=(40, 41), world=False, roi=False):
    """A pose-like walk: drift, jitter, a fast move, uneven frame times and a lost stretch."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, (n, 3)) * ([1, 1, 0.2] if not world else [0.5, 0.5, 0.5])
    t, frames = 0, []
    for i in range(count):
        t += int(rng.choice([33_333, 33_334, 16_667, 50_000, 100_000], p=[.5, .2, .1, .1, .1]))
        shift = 0.002 * i + (0.15 if 60 <= i < 64 else 0.0) * (i - 59)
        points = base + [shift, 0.5 * shift, 0.0] + rng.normal(0, 0.004, (n, 3))
        vis = rng.uniform(0, 1, n)
        lms = None if i in gaps else [
            [float(x), float(y), float(z), float(v), 0.5] for (x, y, z), v in zip(points, vis)]
        frame = {"t": t, "landmarks": lms}
        if roi and i % 7 != 3:  # now and then no ROI: the landmarks' box is the scale
            frame["roi"] = [0.5 + shift, 0.5, 0.3 + 0.001 * i, 0.4, 0.1]
        frames.append(frame)
    return frames


def mediapipe_outputs(calculator, options, frames, world=False):
    """MediaPipe's outputs, from its calculator run by the tool in MediaPipe's venv."""
    request = {"calculator": calculator, "options": options, "world": world,
               "image_size": list(SIZE), "frames": frames}
    done = subprocess.run([PYTHON, str(TOOL)], input=json.dumps(request), text=True,
                          capture_output=True, timeout=240, check=True)
    return json.loads(done.stdout)


def mediagraph_outputs(calculator, options, frames, world=False):
    ext = f"mediapipe.{calculator}Options"
    lm_in, lm_out = ("LANDMARKS", "FILTERED_LANDMARKS") if world else (
        "NORM_LANDMARKS", "NORM_FILTERED_LANDMARKS")
    size = calculator == "LandmarksSmoothingCalculator" and not world
    text = f"""
        input_stream: "lm" {'input_stream: "size"' if size else ''} output_stream: "out"
        node {{ calculator: "{calculator}" input_stream: "{lm_in}:lm"
                {'input_stream: "IMAGE_SIZE:size"' if size else ''}
                output_stream: "{lm_out}:out" options {{ [{ext}.ext] {{ {options} }} }} }}"""
    node = parse_config(text).node[0]
    runner = CalculatorRunner(calculator, options=_options(node, calculator),
                              outputs=[lm_out])
    points, kind = (Landmark, LandmarkList) if world else (NormalizedLandmark,
                                                           NormalizedLandmarkList)
    inputs = {lm_in: [(kind(tuple(points(*p) for p in f["landmarks"])), f["t"])
                      for f in frames if f["landmarks"] is not None]}
    if size:
        inputs["IMAGE_SIZE"] = [(SIZE, f["t"]) for f in frames]
    if any(f.get("roi") is not None for f in frames):
        inputs["OBJECT_SCALE_ROI"] = [(NormalizedRect(*f["roi"]), f["t"]) for f in frames
                                      if f.get("roi") is not None]
    out = runner.run(inputs)[lm_out]
    assert all(type(p.value) is kind for p in out)
    return [{"t": int(p.timestamp), "landmarks": [
        [q.x, q.y, q.z, q.visibility, q.presence] for q in p.value.landmark]} for p in out]


def _options(node, calculator):
    from mediagraph import registry

    cls = registry.find_calculator(calculator)
    message = node.options.Extensions[cls.Options.extension()]
    return cls.Options.from_message(message)


def max_difference(ours, theirs):
    assert [o["t"] for o in ours] == [t["t"] for t in theirs]
    a = np.array([o["landmarks"] for o in ours], dtype=np.float64)
    b = np.array([t["landmarks"] for t in theirs], dtype=np.float64)
    return np.abs(a[..., :4] - b[..., :4]).max(axis=(0, 1))  # x, y, z, visibility


CASES = [
    ("LandmarksSmoothingCalculator",
     "one_euro_filter { min_cutoff: 0.05 beta: 80.0 derivate_cutoff: 1.0 }", False),
    ("LandmarksSmoothingCalculator",  # pose's landmarks, scaled by the pose ROI
     "one_euro_filter { min_cutoff: 0.05 beta: 80.0 derivate_cutoff: 1.0 } roi", False),
    ("LandmarksSmoothingCalculator",
     "one_euro_filter { min_cutoff: 0.01 beta: 10.0 derivate_cutoff: 1.0 }", False),
    ("LandmarksSmoothingCalculator",
     "one_euro_filter { min_cutoff: 0.1 beta: 40.0 disable_value_scaling: true }", True),
    ("LandmarksSmoothingCalculator", "velocity_filter { window_size: 5 velocity_scale: 10.0 }",
     False),
    ("LandmarksSmoothingCalculator",
     "velocity_filter { window_size: 12 velocity_scale: 10.0 }", True),
    ("LandmarksSmoothingCalculator", "no_filter {}", False),
    ("VisibilitySmoothingCalculator", "low_pass_filter { alpha: 0.1 }", False),
    ("VisibilitySmoothingCalculator", "low_pass_filter { alpha: 0.1 }", True),
]


@needs_mediapipe
@pytest.mark.parametrize("calculator,options,world", CASES,
                         ids=[f"{c[0][:-10]}-{c[1].split()[0]}-{'world' if c[2] else 'norm'}"
                              f"{'-roi' if c[1].endswith(' roi') else ''}"
                              for c in CASES])
def test_outputs_match_mediapipe(calculator, options, world):
    roi = options.endswith(" roi")
    options = options.removesuffix(" roi")
    frames = sequence(world=world, gaps=() if calculator.startswith("Visibility") else (40, 41),
                      roi=roi)
    theirs = mediapipe_outputs(calculator, options, frames, world)
    ours = mediagraph_outputs(calculator, options, frames, world)
    diff = max_difference(ours, theirs)
    print(f"{calculator} {options} world={world}: max |diff| x,y,z,vis = {diff}")
    # float32 rounding only: well under a thousandth of a pixel at 640x480
    assert diff.max() < 2e-6
    if "no_filter" not in options:  # and the filter did filter
        given = {f["t"]: f["landmarks"] for f in frames}
        moved = max(np.abs(np.array(o["landmarks"])[:, :4] - np.array(given[o["t"]])[:, :4]).max()
                    for o in ours)
        assert moved > 1e-3
