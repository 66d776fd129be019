"""LandmarksSmoothingCalculator: steady landmarks over time with a One Euro or velocity filter."""

from __future__ import annotations

from typing import Any

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, NodeConfig, Options, Output, option
from mediagraph.calculators.postprocess._filtering import OneEuroFilter, RelativeVelocityFilter
from mediagraph.calculators.postprocess._geometry import check_landmark_ports, image_size
from mediagraph.formats import NormalizedLandmarkList

_P = "mediapipe.LandmarksSmoothingCalculatorOptions"


def _f32(value: float) -> float:
    """`value` as the float32 a proto `float` field holds (defaults included)."""
    return float(np.float32(value))


class NoFilter(Options, proto_name=f"{_P}_NoFilter"):
    """Landmarks pass unchanged."""


class VelocityFilter(Options, proto_name=f"{_P}_VelocityFilter"):
    """MediaPipe's RelativeVelocityFilter per landmark axis."""

    window_size: int = option(1, default=5, doc="value changes kept; more: lag and stability")
    velocity_scale: float = option(2, default=10.0, doc="lower: lag and stability")
    min_allowed_object_scale: float = option(3, default=1e-6,
                                             doc="below it landmarks pass unfiltered")
    disable_value_scaling: bool = option(4, default=False,
                                         doc="scale values by 1, not 1 / object size")

    def check(self) -> None:
        if self.window_size < 0:
            raise ValueError(f"velocity_filter window_size must not be negative, got "
                             f"{self.window_size}")


class OneEuroFilterOptions(Options, proto_name=f"{_P}_OneEuroFilter"):
    """The One Euro filter (http://cristal.univ-lille.fr/~casiez/1euro/) per landmark axis."""

    frequency: float = option(1, default=30.0, doc="frames/s until two timestamps tell it")
    min_cutoff: float = option(2, default=1.0, doc="Hz; lower: less jitter, more lag")
    beta: float = option(3, default=0.0, doc="cutoff slope; higher: less lag when moving")
    derivate_cutoff: float = option(4, default=1.0, doc="Hz, for the speed estimate")
    min_allowed_object_scale: float = option(5, default=1e-6,
                                             doc="below it landmarks pass unfiltered")
    disable_value_scaling: bool = option(6, default=False,
                                         doc="scale values by 1, not 1 / object size")

    def check(self) -> None:
        # MediaPipe logs and keeps an uninitialized value for these; refuse them instead.
        for name in ("frequency", "min_cutoff", "derivate_cutoff"):
            if getattr(self, name) <= 1e-6:
                raise ValueError(f"one_euro_filter {name} must be > 0, got "
                                 f"{getattr(self, name)}")


class LandmarksSmoothingCalculatorOptions(Options, proto_name=_P, extension=325671429):
    """MediaPipe's `landmarks_smoothing_calculator.proto`: `oneof filter_options`."""

    no_filter: NoFilter = option(1, default=None)
    velocity_filter: VelocityFilter = option(2, default=None)
    one_euro_filter: OneEuroFilterOptions = option(3, default=None)

    def chosen(self) -> list[str]:
        return [name for name in ("no_filter", "velocity_filter", "one_euro_filter")
                if getattr(self, name) is not None]

    def check(self) -> None:
        chosen = self.chosen()
        if not chosen:
            raise ValueError("LandmarksSmoothingCalculatorOptions sets no filter; set one of "
                             "no_filter, velocity_filter, one_euro_filter")
        if len(chosen) > 1:
            raise ValueError("LandmarksSmoothingCalculatorOptions sets " + " and ".join(chosen)
                             + "; they are one oneof, set one")
        for name in chosen:
            getattr(self, name).check()


class LandmarksSmoothingCalculator(Calculator):
    """Smooth each landmark's x, y and z over time, as MediaPipe's calculator does.

    Normalized landmarks are filtered in pixels (x and z times the image width, y times
    the height) and converted back. Values are scaled by 1 / object size, the mean of
    the width and height of the landmarks' axis-aligned box (in pixels for normalized
    input), or of OBJECT_SCALE_ROI when that has a packet; an object smaller than
    `min_allowed_object_scale` passes unfiltered. Filter time is the input timestamp.
    Visibility and presence pass through. A timestamp with no landmarks packet (the
    object was lost) resets the filters and sends nothing. The landmark count may not
    change between resets.

    Inputs:  NORM_LANDMARKS (NormalizedLandmarkList) with IMAGE_SIZE ((width, height)),
             or LANDMARKS (LandmarkList: world or pixel landmarks);
             OBJECT_SCALE_ROI (optional: NormalizedRect with NORM_LANDMARKS, Rect with
             LANDMARKS)
    Outputs: NORM_FILTERED_LANDMARKS (for NORM_LANDMARKS) or FILTERED_LANDMARKS
    Options: LandmarksSmoothingCalculatorOptions (ext 325671429), one of:
             no_filter {}; velocity_filter {window_size (5), velocity_scale (10),
             min_allowed_object_scale (1e-6), disable_value_scaling}; one_euro_filter
             {frequency (30), min_cutoff (1), beta (0), derivate_cutoff (1),
             min_allowed_object_scale (1e-6), disable_value_scaling}

    Example config (MediaPipe's pose_landmark_filtering.pbtxt):
        node {
          calculator: "LandmarksSmoothingCalculator"
          input_stream: "NORM_LANDMARKS:filtered_aux_visibility"
          input_stream: "IMAGE_SIZE:image_size"
          output_stream: "NORM_FILTERED_LANDMARKS:filtered_aux_landmarks"
          options { [mediapipe.LandmarksSmoothingCalculatorOptions.ext] {
            one_euro_filter { min_cutoff: 0.01 beta: 10.0 derivate_cutoff: 1.0 } } }
        }
    """

    Options = LandmarksSmoothingCalculatorOptions

    norm_landmarks = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS", optional=True)
    landmarks = Input(tag="LANDMARKS", optional=True)
    image_size = Input(tag="IMAGE_SIZE", optional=True)
    object_scale_roi = Input(tag="OBJECT_SCALE_ROI", optional=True)
    norm_filtered = Output(NormalizedLandmarkList, tag="NORM_FILTERED_LANDMARKS", optional=True)
    filtered = Output(tag="FILTERED_LANDMARKS", optional=True)

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        if (check_landmark_ports(node, cls, "LandmarksSmoothingCalculator")
                and not node.connected(cls.image_size)):
            raise ValueError("NORM_LANDMARKS needs IMAGE_SIZE (filtering is in pixels)")

    def open(self, cc: CalculatorContext) -> None:
        opts: LandmarksSmoothingCalculatorOptions = self.options
        self.kind = opts.chosen()[0]
        self.settings = getattr(opts, self.kind)
        self.filters: tuple[Any, ...] | None = None
        self.count = 0
        self.normalized = cc.connected(self.norm_landmarks)

    def process(self, cc: CalculatorContext) -> None:
        port, out = ((self.norm_landmarks, self.norm_filtered) if self.normalized
                     else (self.landmarks, self.filtered))
        value = cc.get(port)
        if value is None:
            self.filters = None  # the object was lost: start again on the next one
            return
        if self.kind == "no_filter":
            cc.send(out, value)
            return
        xyz = value.arrays()[0].astype(np.float32)
        roi = cc.get(self.object_scale_roi)
        if self.normalized:
            width, height = image_size(cc.get(self.image_size), "NORM_LANDMARKS")
            size = np.array([width, height, width], dtype=np.float32)
            xyz = xyz * size
            scale = (None if roi is None else
                     (_F32(roi.width) * _F32(width) + _F32(roi.height) * _F32(height)) / _F32(2))
        else:
            scale = None if roi is None else (_F32(roi.width) + _F32(roi.height)) / _F32(2)
        smoothed = self._apply(xyz, cc.input_timestamp.microseconds * 1000, scale)
        if smoothed is None:
            cc.send(out, value)
            return
        if self.normalized:
            smoothed = smoothed / size
        cc.send(out, _rebuilt(value, smoothed))

    def _apply(self, xyz: np.ndarray, timestamp_ns: int,
               roi_scale: np.float32 | None) -> np.ndarray | None:
        """The filtered Nx3 values, or None when the object is too small to filter."""
        s = self.settings
        if self.filters is not None and self.count != len(xyz):
            raise ValueError(f"{len(xyz)} landmarks after {self.count}: the count may only "
                             f"change after a packet-less timestamp resets the filter")
        value_scale = _F32(1.0)
        if not s.disable_value_scaling:
            object_scale = roi_scale if roi_scale is not None else _object_scale(xyz)
            if object_scale < _F32(s.min_allowed_object_scale):
                return None
            value_scale = _F32(1.0) / object_scale
        if self.filters is None:
            self.count = len(xyz)
            if self.kind == "velocity_filter":
                self.filters = (RelativeVelocityFilter(s.window_size, _f32(s.velocity_scale)),)
            else:
                self.filters = (OneEuroFilter(_f32(s.frequency), _f32(s.min_cutoff),
                                              _f32(s.beta), _f32(s.derivate_cutoff)),)
        return self.filters[0].apply(timestamp_ns, float(value_scale), xyz)


_F32 = np.float32


def _object_scale(xyz: np.ndarray) -> np.float32:
    """Mean of the width and height of the points' axis-aligned box (MediaPipe's)."""
    if len(xyz) == 0:
        return _F32(0.0)
    low, high = xyz[:, :2].min(axis=0), xyz[:, :2].max(axis=0)
    extent = high - low
    return (extent[0] + extent[1]) / _F32(2)


def _rebuilt(value: Any, xyz: np.ndarray) -> Any:
    """A list of `value`'s types with coordinates `xyz`, visibility and presence kept."""
    if not len(value):
        return value
    _, visibility, presence = value.arrays()
    return type(value).from_arrays(xyz, visibility, presence)
