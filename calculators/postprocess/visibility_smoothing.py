"""VisibilitySmoothingCalculator: steady landmark visibilities with a low-pass filter."""

from __future__ import annotations

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, NodeConfig, Options, Output, option
from mediagraph.calculators.postprocess._filtering import LowPassFilter
from mediagraph.calculators.postprocess._geometry import check_landmark_ports
from mediagraph.formats import NormalizedLandmarkList

_P = "mediapipe.VisibilitySmoothingCalculatorOptions"


class NoFilter(Options, proto_name=f"{_P}_NoFilter"):
    """Visibilities pass unchanged."""


class LowPassFilterOptions(Options, proto_name=f"{_P}_LowPassFilter"):
    """out = alpha * visibility + (1 - alpha) * previous out."""

    alpha: float = option(1, default=0.1, doc="weight of the new value, in [0, 1]")

    def check(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"low_pass_filter alpha must be in [0, 1], got {self.alpha}")


class VisibilitySmoothingCalculatorOptions(Options, proto_name=_P, extension=360207350):
    """MediaPipe's `visibility_smoothing_calculator.proto`: `oneof filter_options`."""

    no_filter: NoFilter = option(1, default=None)
    low_pass_filter: LowPassFilterOptions = option(2, default=None)

    def chosen(self) -> list[str]:
        return [name for name in ("no_filter", "low_pass_filter")
                if getattr(self, name) is not None]

    def check(self) -> None:
        chosen = self.chosen()
        if len(chosen) != 1:
            raise ValueError("VisibilitySmoothingCalculatorOptions sets "
                             + (" and ".join(chosen) if chosen else "no filter")
                             + "; set one of no_filter, low_pass_filter")
        for name in chosen:
            getattr(self, name).check()


class VisibilitySmoothingCalculator(Calculator):
    """Low-pass each landmark's visibility over packets; coordinates pass unchanged.

    A landmark without a visibility counts as 0 (MediaPipe reads the unset proto field),
    and leaves with the filtered value set. A timestamp with no landmarks packet resets
    the filters and sends nothing. The landmark count may not change between resets.

    Inputs:  NORM_LANDMARKS (NormalizedLandmarkList) or LANDMARKS (LandmarkList)
    Outputs: NORM_FILTERED_LANDMARKS or FILTERED_LANDMARKS, matching the input
    Options: VisibilitySmoothingCalculatorOptions (ext 360207350), one of: no_filter {};
             low_pass_filter {alpha (0.1)}

    Example config (MediaPipe's pose_landmark_filtering.pbtxt):
        node {
          calculator: "VisibilitySmoothingCalculator"
          input_stream: "NORM_LANDMARKS:aux_landmarks"
          output_stream: "NORM_FILTERED_LANDMARKS:filtered_aux_visibility"
          options { [mediapipe.VisibilitySmoothingCalculatorOptions.ext] {
            low_pass_filter { alpha: 0.1 } } }
        }
    """

    Options = VisibilitySmoothingCalculatorOptions

    norm_landmarks = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS", optional=True)
    landmarks = Input(tag="LANDMARKS", optional=True)
    norm_filtered = Output(NormalizedLandmarkList, tag="NORM_FILTERED_LANDMARKS", optional=True)
    filtered = Output(tag="FILTERED_LANDMARKS", optional=True)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        check_landmark_ports(node, cls, "VisibilitySmoothingCalculator")

    def open(self, cc: CalculatorContext) -> None:
        opts: VisibilitySmoothingCalculatorOptions = self.options
        self.alpha = (None if opts.low_pass_filter is None
                      else float(np.float32(opts.low_pass_filter.alpha)))
        self.filter: LowPassFilter | None = None
        self.count = 0
        self.normalized = cc.connected(self.norm_landmarks)

    def process(self, cc: CalculatorContext) -> None:
        port, out = ((self.norm_landmarks, self.norm_filtered) if self.normalized
                     else (self.landmarks, self.filtered))
        value = cc.get(port)
        if value is None:
            self.filter = None
            return
        if self.alpha is None:
            cc.send(out, value)
            return
        xyz, visibilities, presence = value.arrays()
        if self.filter is None:
            self.filter, self.count = LowPassFilter(self.alpha), len(xyz)
        elif len(xyz) != self.count:
            raise ValueError(f"{len(xyz)} landmarks after {self.count}: the count may only "
                             f"change after a packet-less timestamp resets the filter")
        visibility = np.array([v or 0.0 for v in visibilities], dtype=np.float32)
        smoothed = self.filter.apply(visibility).tolist()
        cc.send(out, type(value).from_arrays(xyz, smoothed, presence))
