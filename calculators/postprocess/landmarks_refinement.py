"""LandmarksRefinementCalculator: merge several landmark lists into one, by index maps."""

from __future__ import annotations

import numpy as np

from mediagraph import Calculator, CalculatorContext, Inputs, NodeConfig, Options, Output, option
from mediagraph.calculators.postprocess._geometry import landmark_arrays, landmark_list
from mediagraph.formats import NormalizedLandmarkList

_P = "mediapipe.LandmarksRefinementCalculatorOptions"


class ZRefinementNone(Options, proto_name=f"{_P}.ZRefinementNone"):
    """Keep the z already in the result."""


class ZRefinementCopy(Options, proto_name=f"{_P}.ZRefinementCopy"):
    """Copy z from this input."""


class ZRefinementAssignAverage(Options, proto_name=f"{_P}.ZRefinementAssignAverage"):
    """z is the mean z of these result landmarks (as refined so far)."""

    indexes_for_average: tuple[int, ...] = option(1, default=(), proto="int32")

    def check(self) -> None:
        if not self.indexes_for_average:
            raise ValueError("assign_average needs at least one index in indexes_for_average")


class ZRefinement(Options, proto_name=f"{_P}.ZRefinement"):
    """MediaPipe's `oneof z_refinement_options`: exactly one of none, copy, assign_average."""

    none: ZRefinementNone = option(1, default=None)
    copy: ZRefinementCopy = option(2, default=None)
    assign_average: ZRefinementAssignAverage = option(3, default=None)

    def check(self) -> None:
        chosen = [n for n in ("none", "copy", "assign_average") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError("z_refinement needs exactly one of none, copy, assign_average"
                             f" (got {', '.join(chosen) or 'none of them'})")
        if self.assign_average is not None:
            self.assign_average.check()


class Refinement(Options, proto_name=f"{_P}.Refinement"):
    """Where input landmark i goes in the result (`indexes_mapping[i]`), and its z."""

    indexes_mapping: tuple[int, ...] = option(1, default=(), proto="int32")
    z_refinement: ZRefinement = option(2, default=None)


class LandmarksRefinementCalculatorOptions(Options, proto_name=_P, extension=381914658):
    """MediaPipe's `landmarks_refinement_calculator.proto`."""

    refinement: tuple[Refinement, ...] = option(1, default=())

    def check(self) -> None:
        used: set[int] = set()
        for i, refinement in enumerate(self.refinement):
            if not refinement.indexes_mapping:
                raise ValueError(f"refinement {i} has no indexes_mapping")
            if refinement.z_refinement is None:
                raise ValueError(f"refinement {i} has no z_refinement")
            refinement.z_refinement.check()
            used.update(refinement.indexes_mapping)
        if not used:
            raise ValueError("refinement needs at least one landmark in indexes_mapping")
        if min(used) != 0:
            raise ValueError(f"indexes_mapping must start at 0, not {min(used)}")
        if max(used) != len(used) - 1:
            raise ValueError(f"indexes_mapping leaves {max(used) + 1 - len(used)} indexes"
                             f" of 0..{max(used)} unused")

    @property
    def size(self) -> int:
        """The number of landmarks in the result."""
        return len({i for r in self.refinement for i in r.indexes_mapping})


class LandmarksRefinementCalculator(Calculator):
    """One landmark list from several: each input's landmarks overwrite the result's at
    its `indexes_mapping`, in input order.

    x and y always come from the input; z as its `z_refinement` says: `none` keeps the z
    already there, `copy` takes the input's, `assign_average` gives every mapped landmark
    the mean z of `indexes_for_average` in the result so far. Visibility and presence are
    left unset. If any input is missing at a timestamp, nothing is sent. MediaPipe's
    face mesh with attention uses it to lay the lips, eyes and irises over the mesh.

    Inputs:  LANDMARKS:0..n-1 (NormalizedLandmarkList), one per refinement
    Outputs: REFINED_LANDMARKS (NormalizedLandmarkList)
    Options: LandmarksRefinementCalculatorOptions (ext 381914658): refinement {
             indexes_mapping, z_refinement { none {} | copy {} | assign_average {
             indexes_for_average } } }, one per input

    Example config:
        node {
          calculator: "LandmarksRefinementCalculator"
          input_stream: "LANDMARKS:0:mesh" input_stream: "LANDMARKS:1:iris"
          output_stream: "REFINED_LANDMARKS:landmarks"
          options { [mediapipe.LandmarksRefinementCalculatorOptions.ext] {
            refinement { indexes_mapping: [0, 1, 2] z_refinement { copy {} } }
            refinement { indexes_mapping: [3, 4] z_refinement {
              assign_average { indexes_for_average: [0, 1] } } } } }
        }
    """

    Options = LandmarksRefinementCalculatorOptions

    landmarks = Inputs(NormalizedLandmarkList)
    refined = Output(NormalizedLandmarkList, tag="REFINED_LANDMARKS")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        streams, refinements = node.count(cls.landmarks), len(node.options.refinement)
        if streams != refinements:
            raise ValueError(f"there are {refinements} refinements for {streams}"
                             " LANDMARKS streams; give one refinement per stream")

    def open(self, cc: CalculatorContext) -> None:
        self._size = self.options.size

    def process(self, cc: CalculatorContext) -> None:
        inputs = cc.get(self.landmarks)
        if any(landmarks is None for landmarks in inputs):
            return
        xyz = np.zeros((self._size, 3))
        for i, (landmarks, refinement) in enumerate(zip(inputs, self.options.refinement)):
            mapping = list(refinement.indexes_mapping)
            if len(landmarks) != len(mapping):
                raise ValueError(f"LANDMARKS:{i} has {len(landmarks)} landmarks while its"
                                 f" indexes_mapping has {len(mapping)}")
            points, _, _ = landmark_arrays(landmarks)
            xyz[mapping, :2] = points[:, :2]
            z = refinement.z_refinement
            if z.copy is not None:
                xyz[mapping, 2] = points[:, 2]
            elif z.assign_average is not None:
                xyz[mapping, 2] = xyz[list(z.assign_average.indexes_for_average), 2].mean()
        cc.send(self.refined, landmark_list(xyz.astype(np.float32).astype(np.float64)))
