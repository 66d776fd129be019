"""LandmarksRefinementCalculator: several landmark lists laid into one by index maps."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph as mg
import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.postprocess.landmarks_refinement import (
    LandmarksRefinementCalculatorOptions as Options,
    Refinement,
    ZRefinement,
    ZRefinementAssignAverage,
    ZRefinementCopy,
    ZRefinementNone,
)
from mediagraph.formats import NormalizedLandmarkList
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)

MESH = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])
PART = np.array([[0.15, 0.25, -5.0]])            # replaces landmark 1's x and y
IRIS = np.array([[0.5, 0.5, -7.0], [0.6, 0.6, -8.0]])   # landmarks 3 and 4, new


NONE, COPY = ZRefinement(none=ZRefinementNone()), ZRefinement(copy=ZRefinementCopy())


def average(*indexes: int) -> ZRefinement:
    return ZRefinement(assign_average=ZRefinementAssignAverage(indexes_for_average=indexes))


def refine(z_part: ZRefinement, z_iris: ZRefinement, inputs: list[np.ndarray] | None = None):
    options = Options(refinement=(
        Refinement(indexes_mapping=(0, 1, 2), z_refinement=COPY),
        Refinement(indexes_mapping=(1,), z_refinement=z_part),
        Refinement(indexes_mapping=(3, 4), z_refinement=z_iris)))
    arrays = inputs or [MESH, PART, IRIS]
    out = CalculatorRunner("LandmarksRefinementCalculator", options=options).run(
        {f"LANDMARKS:{i}": [(NormalizedLandmarkList.from_array(a), 0)]
         for i, a in enumerate(arrays)})
    return out["REFINED_LANDMARKS"][0].value


def test_each_input_overwrites_x_y_at_its_indexes_and_z_as_told():
    result = refine(NONE, average(0, 2))
    got = result.to_array()
    assert len(result) == 5
    np.testing.assert_allclose(got[0], MESH[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], [0.15, 0.25, 0.6], rtol=1e-6)   # z kept (none)
    np.testing.assert_allclose(got[3:, :2], IRIS[:, :2], rtol=1e-6)
    np.testing.assert_allclose(got[3:, 2], [0.6, 0.6], rtol=1e-6)       # mean of 0.3, 0.9
    assert all(p.visibility is None and p.presence is None for p in result.landmark)


def test_copy_takes_the_inputs_z_and_averages_see_earlier_refinements():
    result = refine(COPY, average(1))
    got = result.to_array()
    assert got[1, 2] == pytest.approx(-5.0)
    np.testing.assert_allclose(got[3:, 2], [-5.0, -5.0])   # landmark 1 as refined so far


def test_a_wrong_landmark_count_fails_the_run_naming_the_input():
    with pytest.raises(mg.CalculatorError, match="LANDMARKS:1 has 2 landmarks while its "
                                                 "indexes_mapping has 1"):
        refine(NONE, NONE, [MESH, IRIS, IRIS])


@pytest.mark.parametrize("options, message", [
    ("refinement { indexes_mapping: [1, 2] z_refinement { copy {} } }",
     "indexes_mapping must start at 0, not 1"),
    ("refinement { indexes_mapping: [0, 2] z_refinement { copy {} } }",
     "leaves 1 indexes of 0..2 unused"),
    ("refinement { indexes_mapping: [0] }", "refinement 0 has no z_refinement"),
    ("refinement { indexes_mapping: [0] z_refinement { copy {} none {} } }",
     "exactly one of none, copy, assign_average"),
    ("refinement { indexes_mapping: [0] z_refinement { assign_average {} } }",
     "needs at least one index in indexes_for_average"),
])
def test_bad_options_fail_validation(options, message):
    with pytest.raises(mg.GraphConfigError, match=message):
        mg.Graph(f'''input_stream: "a" node {{ calculator: "LandmarksRefinementCalculator"
                 input_stream: "LANDMARKS:0:a" output_stream: "REFINED_LANDMARKS:r"
                 options {{ [mediapipe.LandmarksRefinementCalculatorOptions.ext] {{
                 {options} }} }} }}''')
