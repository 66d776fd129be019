"""RefineLandmarksFromHeatmapCalculator: move landmarks to the centre of mass of their heatmap."""

from __future__ import annotations

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.calculators.postprocess._geometry import landmark_arrays, landmark_list
from mediagraph.formats import NormalizedLandmarkList


class RefineLandmarksFromHeatmapCalculatorOptions(
        Options, proto_name="mediapipe.RefineLandmarksFromHeatmapCalculatorOptions",
        extension=362281653):
    """MediaPipe's `refine_landmarks_from_heatmap_calculator.proto`."""

    kernel_size: int = option(1, default=9, proto="int32")
    min_confidence_to_refine: float = option(2, default=0.5)
    refine_presence: bool = option(3, default=False)
    refine_visibility: bool = option(4, default=False)

    def check(self) -> None:
        if self.kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {self.kernel_size}")


class RefineLandmarksFromHeatmapCalculator(Calculator):
    """Replace each landmark's x/y by the sigmoid-weighted mean position in its heatmap.

    The heatmap is an HxWxN (or 1xHxWxN) float tensor, channel i for landmark i. Around
    the landmark's heatmap cell (x*W, y*H truncated toward zero, as C++'s int conversion)
    a kernel_size window (clipped at the edges) is read through a sigmoid; if its maximum
    reaches min_confidence_to_refine, x/y become the weighted mean cell / (W, H). With
    refine_presence/refine_visibility those are capped by that maximum. A landmark whose
    cell is outside the heatmap is kept (MediaPipe checks the column against the height
    where it means the row; reproduced, so rows just past the bottom still refine from
    the last rows). No heatmap: landmarks pass unchanged.

    Inputs:  NORM_LANDMARKS (NormalizedLandmarkList); TENSORS (list; the first is the heatmap)
    Outputs: NORM_LANDMARKS (NormalizedLandmarkList)
    Options: RefineLandmarksFromHeatmapCalculatorOptions (ext 362281653): kernel_size (9),
             min_confidence_to_refine (0.5), refine_presence, refine_visibility

    Example config (MediaPipe's tensors_to_pose_landmarks_and_segmentation.pbtxt):
        node {
          calculator: "RefineLandmarksFromHeatmapCalculator"
          input_stream: "NORM_LANDMARKS:raw_landmarks"
          input_stream: "TENSORS:ensured_heatmap_tensor"
          output_stream: "NORM_LANDMARKS:all_landmarks"
          options { [mediapipe.RefineLandmarksFromHeatmapCalculatorOptions.ext] {
            kernel_size: 7 } }
        }
    """

    Options = RefineLandmarksFromHeatmapCalculatorOptions

    landmarks = Input(NormalizedLandmarkList, tag="NORM_LANDMARKS")
    tensors = Input(list, tag="TENSORS", optional=True)
    out = Output(NormalizedLandmarkList, tag="NORM_LANDMARKS")

    def process(self, cc: CalculatorContext) -> None:
        landmarks = cc.get(self.landmarks)
        if landmarks is None:
            return
        tensors = cc.get(self.tensors)
        if tensors is None:
            cc.send(self.out, landmarks)
            return
        if not tensors:
            raise ValueError("input TENSORS is an empty list; its first element must be "
                             "the heatmap")
        cc.send(self.out, refine_from_heatmap(landmarks, np.asarray(tensors[0]), self.options))


def refine_from_heatmap(landmarks: NormalizedLandmarkList, heatmap: np.ndarray,
                        opts: RefineLandmarksFromHeatmapCalculatorOptions
                        ) -> NormalizedLandmarkList:
    """MediaPipe's RefineLandmarksFromHeatMap, every landmark at once."""
    if heatmap.ndim == 4:
        if heatmap.shape[0] != 1:
            raise ValueError(f"a BHWC heatmap needs a batch of 1, got shape {heatmap.shape}")
        heatmap = heatmap[0]
    if heatmap.ndim != 3:
        raise ValueError(f"the heatmap needs HxWxC or 1xHxWxC, got shape {heatmap.shape}")
    height, width, channels = heatmap.shape
    if len(landmarks) != channels:
        raise ValueError(f"the heatmap has {channels} layers for {len(landmarks)} landmarks")
    xyz, visibility, presence = landmark_arrays(landmarks)
    xy32 = xyz[:, :2].astype(np.float32)
    col = np.trunc(xy32[:, 0] * np.float32(width)).astype(np.int64)
    row = np.trunc(xy32[:, 1] * np.float32(height)).astype(np.int64)
    inside = (col >= 0) & (col < width) & (row >= 0) & (col < height)
    offset = (opts.kernel_size - 1) // 2
    # every landmark's window as offsets around its cell; cells outside the heatmap
    # (clipped windows) get zero weight, as MediaPipe's shrunken loop bounds
    span = np.arange(-offset, offset + 1)
    rows = row[:, None] + span[None, :]                        # N x K
    cols = col[:, None] + span[None, :]
    row_ok = (rows >= 0) & (rows < height)
    col_ok = (cols >= 0) & (cols < width)
    channel = np.arange(channels)
    values = heatmap[np.clip(rows, 0, height - 1)[:, :, None],
                     np.clip(cols, 0, width - 1)[:, None, :],
                     channel[:, None, None]].astype(np.float32)  # N x K x K
    confidence = np.float32(1.0) / (np.float32(1.0) + np.exp(-values))
    confidence *= (row_ok[:, :, None] & col_ok[:, None, :])
    total = confidence.sum(axis=(1, 2))
    peak = confidence.max(axis=(1, 2))
    weighted_col = (confidence * cols[:, None, :]).sum(axis=(1, 2))
    weighted_row = (confidence * rows[:, :, None]).sum(axis=(1, 2))
    usable = inside & (total > 0)
    refine = usable & (peak >= opts.min_confidence_to_refine)
    safe = np.where(total > 0, total, 1)
    xyz = xyz.copy()
    xyz[refine, 0] = (weighted_col / width / safe)[refine]
    xyz[refine, 1] = (weighted_row / height / safe)[refine]
    if opts.refine_presence:
        presence = [min(p, float(m)) if u and p is not None else p
                    for p, m, u in zip(presence, peak, usable)]
    if opts.refine_visibility:
        visibility = [min(v, float(m)) if u and v is not None else v
                      for v, m, u in zip(visibility, peak, usable)]
    return landmark_list(xyz, visibility, presence)
