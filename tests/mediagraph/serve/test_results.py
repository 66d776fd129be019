"""Output values as JSON: MediaPipe's field names, images only when asked for."""

from __future__ import annotations

import json
import math

import numpy as np

from mediagraph.formats import (Classification, ClassificationList, Detection, ImageFrame,
                                NormalizedLandmarkList, NormalizedRect, RelativeBoundingBox,
                                RelativeKeypoint)
from mediagraph.serve.results import OMIT, to_json


def test_a_detection_reads_as_mediapipes_detection_message():
    detection = Detection(label=("face",), label_id=(0,), score=(0.9,),
                          relative_bounding_box=RelativeBoundingBox(0.1, 0.2, 0.3, 0.4),
                          relative_keypoints=(RelativeKeypoint(0.5, 0.6),))
    assert to_json([detection]) == [{
        "label": ["face"], "label_id": [0], "score": [0.9],
        "location_data": {"format": "RELATIVE_BOUNDING_BOX",
                          "relative_bounding_box": {"xmin": 0.1, "ymin": 0.2, "width": 0.3,
                                                    "height": 0.4},
                          "relative_keypoints": [{"x": 0.5, "y": 0.6}]}}]


def test_landmarks_rects_and_classifications_keep_their_proto_field_names():
    landmarks = NormalizedLandmarkList.from_arrays(np.array([[0.1, 0.2, 0.3]]))
    assert to_json(landmarks) == {"landmark": [{"x": 0.1, "y": 0.2, "z": 0.3}]}
    rect = to_json(NormalizedRect(0.5, 0.5, 0.2, 0.1, rotation=0.25))
    assert rect == {"x_center": 0.5, "y_center": 0.5, "width": 0.2, "height": 0.1,
                    "rotation": 0.25}
    assert to_json(ClassificationList((Classification(1, 0.7, "Left"),))) == {
        "classification": [{"index": 1, "score": 0.7, "label": "Left"}]}


def test_images_are_left_out_unless_asked_for():
    image = ImageFrame(np.zeros((4, 6, 3), np.uint8))
    assert to_json(image) is OMIT
    assert to_json([image, 1]) == [1]
    shown = to_json(image, images=True)
    assert (shown["width"], shown["height"], shown["format"]) == (6, 4, "jpeg")
    assert shown["jpeg"].startswith("/9j/")  # base64 of FF D8 FF


def test_every_value_becomes_valid_json():
    values = [np.float32(1.5), np.int64(3), float("nan"), np.arange(3), np.zeros(10_000),
              {"a": (1, 2)}, object()]
    encoded = json.loads(json.dumps(to_json(values), allow_nan=False))
    assert encoded[:5] == [1.5, 3, None, [0, 1, 2], {"shape": [10000], "dtype": "float64"}]
    assert encoded[5] == {"a": [1, 2]} and encoded[6].startswith("<object")
    assert not any(isinstance(v, float) and math.isnan(v) for v in encoded[:3])

