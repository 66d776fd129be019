"""LandmarksToRenderDataCalculator: landmarks as points, connections as lines."""

from __future__ import annotations

import numpy as np

from mediagraph.calculators.render._color import ColorOption
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, one_of, option
from mediagraph.formats import (
    AnnotationRun,
    Color,
    NormalizedLandmarkList,
    RenderAnnotation,
    RenderData,
)


class LandmarksToRenderDataCalculatorOptions(
        Options, proto_name="mediapipe.LandmarksToRenderDataCalculatorOptions",
        extension=258435389):
    """MediaPipe's `landmarks_to_render_data_calculator.proto` (numbers and defaults)."""

    landmark_connections: tuple[int, ...] = option(1, default=(),
                                                   doc="pairs of landmark indexes to join")
    landmark_color: ColorOption = option(2, default=ColorOption())
    connection_color: ColorOption = option(3, default=ColorOption())
    thickness: float = option(4, default=1.0, proto="double")
    visualize_landmark_depth: bool = option(5, default=True)
    utilize_visibility: bool = option(6, default=False)
    visibility_threshold: float = option(7, default=0.0, proto="double")
    utilize_presence: bool = option(8, default=False)
    presence_threshold: float = option(9, default=0.0, proto="double")
    min_depth_circle_thickness: float = option(10, default=0.0, proto="double")
    max_depth_circle_thickness: float = option(11, default=18.0, proto="double")
    min_depth_line_color: ColorOption = option(12, default=ColorOption())
    max_depth_line_color: ColorOption = option(13, default=ColorOption())

    def check(self) -> None:
        if any(i < 0 for i in self.landmark_connections):
            raise ValueError("landmark_connections must not be negative, got "
                             f"{min(self.landmark_connections)}")
        if len(self.landmark_connections) % 2:
            raise ValueError("landmark_connections needs pairs of indexes, got an odd count "
                             f"({len(self.landmark_connections)})")


class LandmarksToRenderDataCalculator(Calculator):
    """Turn a landmark list into render annotations (normalized coordinates).

    Each landmark becomes a point in `landmark_color`; each pair in
    `landmark_connections` a line in `connection_color`, both `thickness` pixels wide
    (times RENDER_SCALE when given); a pair naming a landmark the list does not have is
    skipped, as MediaPipe does (a face table with irises draws an unrefined face too). With `utilize_visibility`/`utilize_presence`, a
    landmark whose visibility/presence is below the threshold is skipped with its
    connections (a landmark without the value counts as visible/present).

    With `visualize_landmark_depth` and landmarks at different depths, nearer points
    (smaller z) are drawn larger: the radius runs from `max_depth_circle_thickness`
    (nearest) to `min_depth_circle_thickness` (farthest), never below `thickness`; and
    when `min_depth_line_color`/`max_depth_line_color` are set, each line takes the
    color between them at its mean depth (a flat-color stand-in for MediaPipe's
    gradient lines).

    Inputs:  LANDMARKS or NORM_LANDMARKS (NormalizedLandmarkList; exactly one);
             RENDER_SCALE (float, optional)
    Outputs: RENDER_DATA (RenderData)
    Options: LandmarksToRenderDataCalculatorOptions (ext 258435389)

    Example config:
        node {
          calculator: "LandmarksToRenderDataCalculator"
          input_stream: "NORM_LANDMARKS:landmarks"
          output_stream: "RENDER_DATA:landmark_render_data"
          options { [mediapipe.LandmarksToRenderDataCalculatorOptions.ext] {
            landmark_connections: [0, 1, 1, 2]
            landmark_color { r: 255 g: 0 b: 0 } connection_color { r: 0 g: 255 b: 0 }
            thickness: 2.0 visualize_landmark_depth: false } }
        }
    """

    Options = LandmarksToRenderDataCalculatorOptions

    landmarks = Input(NormalizedLandmarkList, tag="LANDMARKS", optional=True)
    norm_landmarks = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS", optional=True)
    render_scale = Input(float, tag="RENDER_SCALE", optional=True)
    render_data = Output(RenderData, tag="RENDER_DATA")
    groups = (one_of(landmarks, norm_landmarks,
                     message="connect exactly one of LANDMARKS or NORM_LANDMARKS"),)

    def open(self, cc: CalculatorContext) -> None:
        self._input = self.landmarks if cc.connected(self.landmarks) else self.norm_landmarks
        opts: LandmarksToRenderDataCalculatorOptions = self.options
        self._pairs = list(zip(opts.landmark_connections[0::2], opts.landmark_connections[1::2]))
        self._pairs_by_count: dict[int, np.ndarray] = {}
        default = ColorOption()
        self._depth_lines = (opts.min_depth_line_color != default
                             or opts.max_depth_line_color != default)

    def process(self, cc: CalculatorContext) -> None:
        landmarks = cc.get(self._input)
        if landmarks is None:
            return
        if not isinstance(landmarks, NormalizedLandmarkList):
            raise TypeError(f"input {self._input.tag} needs a NormalizedLandmarkList, got "
                            f"{type(landmarks).__name__}")
        opts: LandmarksToRenderDataCalculatorOptions = self.options
        scale = cc.get(self.render_scale)
        thickness = opts.thickness * (1.0 if scale is None else float(scale))
        xyz, visibility, presence = landmarks.arrays()
        shown = self._shown(visibility, presence)
        z = xyz[:, 2]
        z_min, z_max = (float(z.min()), float(z.max())) if len(z) else (0.0, 0.0)
        depth = opts.visualize_landmark_depth and z_max > z_min
        # 0 nearest .. 1 farthest
        depth_of = (z - z_min) / (z_max - z_min) if depth else np.zeros(len(z))

        pairs = self._pairs_within(len(xyz))
        a, b = pairs[:, 0], pairs[:, 1]
        drawn = shown[a] & shown[b]
        a, b = a[drawn], b[drawn]
        lines = np.concatenate([xyz[a, :2], xyz[b, :2]], axis=1)
        items: list[AnnotationRun | RenderAnnotation] = []
        if depth and self._depth_lines:
            low, high = opts.min_depth_line_color.to_color(), opts.max_depth_line_color.to_color()
            for coords, t in zip(lines.tolist(), ((depth_of[a] + depth_of[b]) / 2).tolist()):
                items.append(RenderAnnotation("line", tuple(coords), color=_mix(low, high, t),
                                              thickness=thickness))
        elif len(lines):
            items.append(AnnotationRun("line", lines, opts.connection_color.to_color(),
                                       thickness))
        points = xyz[shown, :2]
        if len(points):
            sizes: float | list[float] = thickness
            if depth:
                sizes = np.maximum(thickness, opts.max_depth_circle_thickness + depth_of[shown]
                                   * (opts.min_depth_circle_thickness
                                      - opts.max_depth_circle_thickness)).tolist()
            items.append(AnnotationRun("point", points, opts.landmark_color.to_color(), sizes))
        # Arrays, not ~600 annotation objects a face: the overlay draws each run at once.
        cc.send(self.render_data, RenderData.from_runs(items))

    def _pairs_within(self, count: int) -> np.ndarray:
        """The connections whose both ends a list of `count` landmarks has (MediaPipe's: a
        468-landmark face under a 478-landmark table draws the rest)."""
        cached = self._pairs_by_count.get(count)
        if cached is None:
            kept = [(a, b) for a, b in self._pairs if a < count and b < count]
            cached = np.array(kept, dtype=np.intp).reshape(-1, 2)
            self._pairs_by_count[count] = cached
        return cached

    def _shown(self, visibility: list, presence: list) -> np.ndarray:
        """Which landmarks are drawn: a landmark without the value counts as visible and
        present."""
        opts: LandmarksToRenderDataCalculatorOptions = self.options
        shown = np.ones(len(visibility), bool)
        for use, values, threshold in ((opts.utilize_visibility, visibility,
                                        opts.visibility_threshold),
                                       (opts.utilize_presence, presence,
                                        opts.presence_threshold)):
            if use:
                known = np.array([np.nan if v is None else v for v in values], np.float64)
                with np.errstate(invalid="ignore"):
                    shown &= ~(known < threshold)
        return shown


def _mix(a: Color, b: Color, t: float) -> Color:
    return Color(round(a.r + (b.r - a.r) * t), round(a.g + (b.g - a.g) * t),
                 round(a.b + (b.b - a.b) * t))
