"""RoiTrackingCalculator: keep the previous frame's rect while the re-crop rect agrees with it."""

from __future__ import annotations

import math

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.calculators.postprocess._geometry import image_size
from mediagraph.formats import NormalizedLandmarkList, NormalizedRect

_P = "mediapipe.RoiTrackingCalculatorOptions"
_F32 = np.float32


class IouRequirements(Options, proto_name=f"{_P}_IouRequirements"):
    """Lost when intersection < min_iou * union (rects placed as MediaPipe places them)."""

    min_iou: float = option(1, default=0.5)


class RectRequirements(Options, proto_name=f"{_P}_RectRequirements"):
    """Lost when rotation, centre or size moved more than these (relative to the re-crop)."""

    rotation_degrees: float = option(1, default=10.0)
    translation: float = option(2, default=0.1, doc="fraction of the re-crop rect's side")
    scale: float = option(3, default=0.1, doc="fraction of the re-crop rect's side")


class LandmarksRequirements(Options, proto_name=f"{_P}_LandmarksRequirements"):
    """Lost when a previous landmark falls outside the re-crop rect grown by the margin."""

    recrop_rect_margin: float = option(1, default=0.0, doc="-0.1: the rect shrunk by 10%")


class RoiTrackingCalculatorOptions(Options, proto_name=_P, extension=329994630):
    """MediaPipe's `roi_tracking_calculator.proto` (modules/holistic_landmark/calculators)."""

    iou_requirements: IouRequirements = option(1, default=None)
    rect_requirements: RectRequirements = option(2, default=None)
    landmarks_requirements: LandmarksRequirements = option(3, default=None)


class RoiTrackingCalculator(Calculator):
    """Send the previous frame's rect while tracking holds, else the current re-crop rect.

    Tracking holds when every configured requirement is met: IoU (previous rect against
    the re-crop rect), rect (rotation within `rotation_degrees`; centre shift, measured
    along the re-crop rect's rotated axes, within `translation` times its side; width
    and height change within `scale` times its side) and landmarks (every previous
    landmark strictly inside the re-crop rect scaled by 1 + `recrop_rect_margin`). All
    in pixels. Without a RECROP_RECT nothing is sent; without a PREV_LANDMARKS_RECT the
    re-crop rect is sent. A missing PREV_LANDMARKS (MediaPipe requires it with the rect)
    fails the landmarks requirement. As MediaPipe, the IoU check places each rect's
    top-left corner at its centre coordinates.

    Inputs:  PREV_LANDMARKS (NormalizedLandmarkList), PREV_LANDMARKS_RECT (NormalizedRect),
             RECROP_RECT (NormalizedRect), IMAGE_SIZE ((width, height))
    Outputs: TRACKING_RECT (NormalizedRect: one of the two input packets)
    Options: RoiTrackingCalculatorOptions (ext 329994630): iou_requirements {min_iou
             (0.5)}, rect_requirements {rotation_degrees (10), translation (0.1), scale
             (0.1)}, landmarks_requirements {recrop_rect_margin (0)}; unset: not checked

    Example config (MediaPipe's holistic hand_tracking.pbtxt):
        node {
          calculator: "RoiTrackingCalculator"
          input_stream: "PREV_LANDMARKS:prev_hand_landmarks"
          input_stream: "PREV_LANDMARKS_RECT:prev_hand_landmarks_roi"
          input_stream: "RECROP_RECT:hand_roi_from_recrop"
          input_stream: "IMAGE_SIZE:image_size"
          output_stream: "TRACKING_RECT:hand_tracking_roi"
          options { [mediapipe.RoiTrackingCalculatorOptions.ext] {
            rect_requirements { rotation_degrees: 40.0 translation: 0.2 scale: 0.4 }
            landmarks_requirements { recrop_rect_margin: -0.1 } } }
        }
    """

    Options = RoiTrackingCalculatorOptions

    prev_landmarks = Input(NormalizedLandmarkList, tag="PREV_LANDMARKS")
    prev_rect = Input(NormalizedRect, tag="PREV_LANDMARKS_RECT")
    recrop_rect = Input(NormalizedRect, tag="RECROP_RECT")
    image_size = Input(tag="IMAGE_SIZE")
    tracking_rect = Output(NormalizedRect, tag="TRACKING_RECT")

    def process(self, cc: CalculatorContext) -> None:
        recrop = cc.get(self.recrop_rect)
        if recrop is None:
            return
        prev = cc.get(self.prev_rect)
        if prev is None:
            cc.send(self.tracking_rect, recrop)
            return
        size = image_size(cc.get(self.image_size), "RoiTrackingCalculator")
        opts: RoiTrackingCalculatorOptions = self.options
        keep = True
        if opts.iou_requirements is not None:
            keep &= iou_satisfied(prev, recrop, size, opts.iou_requirements.min_iou)
        if opts.rect_requirements is not None:
            keep &= rect_satisfied(prev, recrop, size, opts.rect_requirements)
        if opts.landmarks_requirements is not None:
            landmarks = cc.get(self.prev_landmarks)
            keep &= landmarks is not None and landmarks_satisfied(
                landmarks, recrop, size, opts.landmarks_requirements.recrop_rect_margin)
        cc.send(self.tracking_rect, prev if keep else recrop)


def iou_satisfied(prev: NormalizedRect, recrop: NormalizedRect, size: tuple[int, int],
                  min_iou: float) -> bool:
    w, h = _F32(size[0]), _F32(size[1])

    def box(r: NormalizedRect) -> tuple[np.float32, ...]:
        # MediaPipe builds Rectangle_f(x_center, y_center, width, height), whose first two
        # arguments are the top-left corner.
        x, y = _F32(r.x_center) * w, _F32(r.y_center) * h
        return x, y, x + _F32(r.width) * w, y + _F32(r.height) * h

    ax0, ay0, ax1, ay1 = box(prev)
    bx0, by0, bx1, by1 = box(recrop)
    iw, ih = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
    intersection = _F32(iw * ih) if iw > 0 and ih > 0 else _F32(0.0)
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - intersection
    return not intersection < union * _F32(min_iou)


def _rotated(x: float, y: float, size: tuple[int, int], cosa: np.float32,
             sina: np.float32) -> tuple[np.float32, np.float32]:
    px, py = _F32(x) * _F32(size[0]), _F32(y) * _F32(size[1])
    return px * cosa - py * sina, px * sina + py * cosa


def rect_satisfied(prev: NormalizedRect, recrop: NormalizedRect, size: tuple[int, int],
                   req: RectRequirements) -> bool:
    rotation = -_F32(recrop.rotation)
    cosa, sina = _F32(math.cos(rotation)), _F32(math.sin(rotation))
    w, h = _F32(size[0]), _F32(size[1])
    prev_x, prev_y = _rotated(prev.x_center, prev.y_center, size, cosa, sina)
    recrop_x, recrop_y = _rotated(recrop.x_center, recrop.y_center, size, cosa, sina)
    prev_w, prev_h = _F32(prev.width) * w, _F32(prev.height) * h
    recrop_w, recrop_h = _F32(recrop.width) * w, _F32(recrop.height) * h
    diff = _F32(_F32(prev.rotation) / math.pi * 180.0) - _F32(
        _F32(recrop.rotation) / math.pi * 180.0)
    if diff > 180.0:
        diff -= _F32(360.0)
    if diff < -180.0:
        diff += _F32(360.0)
    translation, scale = _F32(req.translation), _F32(req.scale)
    return bool(abs(diff) <= _F32(req.rotation_degrees)
                and abs(prev_x - recrop_x) <= recrop_w * translation
                and abs(prev_y - recrop_y) <= recrop_h * translation
                and abs(prev_w - recrop_w) <= recrop_w * scale
                and abs(prev_h - recrop_h) <= recrop_h * scale)


def landmarks_satisfied(landmarks: NormalizedLandmarkList, recrop: NormalizedRect,
                        size: tuple[int, int], margin: float) -> bool:
    rotation = -_F32(recrop.rotation)
    cosa, sina = _F32(math.cos(rotation)), _F32(math.sin(rotation))
    rect_x, rect_y = _rotated(recrop.x_center, recrop.y_center, size, cosa, sina)
    grow = _F32(1.0) + _F32(margin)
    half_w = _F32(recrop.width) * _F32(size[0]) * grow * _F32(0.5)
    half_h = _F32(recrop.height) * _F32(size[1]) * grow * _F32(0.5)
    if not len(landmarks):
        return True
    points = landmarks.arrays()[0][:, :2].astype(np.float32)
    px, py = points[:, 0] * _F32(size[0]), points[:, 1] * _F32(size[1])
    x, y = px * cosa - py * sina, px * sina + py * cosa
    inside = ((rect_x - half_w < x) & (x < rect_x + half_w)
              & (rect_y - half_h < y) & (y < rect_y + half_h))
    return bool(inside.all())
