"""RectTransformationCalculator against MediaPipe's formulas: shift, square, scale, rotate."""

from __future__ import annotations

import math

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import NormalizedRect
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def transform(rect, options, size=(640, 480), many=False):
    inputs = {"NORM_RECTS" if many else "NORM_RECT": [(rect, 0)], "IMAGE_SIZE": [(size, 0)]}
    out = CalculatorRunner("RectTransformationCalculator", options=options).run(inputs)
    return out[""][0].value


def reference(rect, size, scale_x=1.0, scale_y=1.0, shift_x=0.0, shift_y=0.0,
              square_long=False, rotation=0.0):
    """MediaPipe's TransformNormalizedRect, written out step by step."""
    w_px, h_px = size
    angle = rect.rotation + rotation
    angle -= 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))
    x_shift = (w_px * rect.width * shift_x * math.cos(angle)
               - h_px * rect.height * shift_y * math.sin(angle)) / w_px
    y_shift = (w_px * rect.width * shift_x * math.sin(angle)
               + h_px * rect.height * shift_y * math.cos(angle)) / h_px
    width, height = rect.width, rect.height
    if square_long:
        side = max(width * w_px, height * h_px)
        width, height = side / w_px, side / h_px
    return (rect.x_center + x_shift, rect.y_center + y_shift, width * scale_x,
            height * scale_y, angle)


def as_tuple(r):
    return (r.x_center, r.y_center, r.width, r.height, r.rotation)


def test_default_options_leave_the_rect_unchanged():
    rect = NormalizedRect(0.4, 0.5, 0.2, 0.3, 0.7)
    assert as_tuple(transform(rect, None)) == pytest.approx(as_tuple(rect))


def test_unrotated_shift_is_in_rect_units():
    out = transform(NormalizedRect(0.5, 0.5, 0.2, 0.4), {"shift_x": 0.5, "shift_y": -0.5})
    assert (out.x_center, out.y_center) == pytest.approx((0.6, 0.3))


@pytest.mark.parametrize("rotation", [0.0, 0.6, -1.2, math.pi / 2, 3.0])
@pytest.mark.parametrize("size", [(640, 480), (192, 192), (300, 900)])
def test_palm_roi_transform_matches_mediapipe(rotation, size):
    options = {"scale_x": 2.6, "scale_y": 2.6, "shift_y": -0.5, "square_long": True}
    rect = NormalizedRect(0.45, 0.55, 0.2, 0.15, rotation)
    expected = reference(rect, size, 2.6, 2.6, 0.0, -0.5, True)
    # 2.6 arrives as a float32 option, as in MediaPipe
    assert as_tuple(transform(rect, options, size)) == pytest.approx(expected, abs=1e-6)


def test_square_short_uses_the_short_side_in_pixels():
    out = transform(NormalizedRect(0.5, 0.5, 0.5, 0.5), {"square_short": True}, (640, 480))
    assert (out.width * 640, out.height * 480) == pytest.approx((240, 240))


@pytest.mark.parametrize("options, added", [({"rotation": 0.5}, 0.5),
                                            ({"rotation_degrees": 90}, math.pi / 2),
                                            ({"rotation_degrees": 270}, -math.pi / 2)])
def test_rotation_option_is_added_and_wrapped(options, added):
    rect = NormalizedRect(0.5, 0.5, 0.2, 0.2, 0.1)
    out = transform(rect, dict(options, shift_x=0.3))
    expected = reference(rect, (640, 480), shift_x=0.3, rotation=added)
    assert as_tuple(out) == pytest.approx(expected)


def test_a_list_is_transformed_element_by_element():
    rects = [NormalizedRect(0.5, 0.5, 0.2, 0.2), NormalizedRect(0.2, 0.2, 0.1, 0.1)]
    out = transform(rects, {"scale_x": 2.0, "scale_y": 3.0}, many=True)
    assert [v for r in out for v in (r.width, r.height)] == pytest.approx([0.4, 0.6, 0.2, 0.3])
