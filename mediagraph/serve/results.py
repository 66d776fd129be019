"""Graph output values as JSON, with MediaPipe's field names.

A `Detection` reads as MediaPipe's `detection.proto` does in JSON with its field names
kept (`label`, `label_id`, `score`, `location_data { format, relative_bounding_box,
relative_keypoints }`), a landmark list as `{"landmark": [{x, y, z, visibility,
presence}]}` (unset fields left out, as protobuf's JSON printer leaves them), a rect as
`x_center`, `y_center`, ... An `ImageFrame` becomes `{"width", "height", "format",
"jpeg"}` (base64) when images are wanted and is left out otherwise; what is not known
here (a calculator's own class) reads as its `repr`, so a response never fails for it.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from typing import Any, Callable

import numpy as np

from mediagraph.formats import (ClassificationList, Detection, ImageFrame, LandmarkList,
                                NormalizedLandmarkList, NormalizedRect)

OMIT = object()  # what an image becomes when images are not wanted
MAX_ARRAY = 4096  # numbers in an array written out; longer arrays give their shape only


def to_json(value: Any, *, images: bool = False,
            encode_image: Callable[[ImageFrame], bytes] | None = None) -> Any:
    """`value` as plain JSON types (dict, list, str, number, bool, None), or OMIT for an
    image when `images` is false. `encode_image` makes the bytes of an image (JPEG)."""
    if isinstance(value, ImageFrame):
        if not images:
            return OMIT
        if encode_image is None:
            from mediagraph.serve.images import encode_jpeg as encode_image
        return {"width": value.width, "height": value.height, "format": "jpeg",
                "jpeg": base64.b64encode(encode_image(value)).decode("ascii")}
    if isinstance(value, Detection):
        return detection_json(value)
    if isinstance(value, (NormalizedLandmarkList, LandmarkList)):
        return {"landmark": [_fields(point) for point in value.landmark]}
    if isinstance(value, NormalizedRect):
        return _fields(value)
    if isinstance(value, ClassificationList):
        return {"classification": [_fields(c) for c in value.classification]}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.ndarray):
        if value.size > MAX_ARRAY:
            return {"shape": list(value.shape), "dtype": str(value.dtype)}
        return to_json(value.tolist())
    if isinstance(value, (list, tuple)):
        items = [to_json(item, images=images, encode_image=encode_image) for item in value]
        return [item for item in items if item is not OMIT]
    if isinstance(value, dict):
        return {str(k): v for k, v in ((k, to_json(v, images=images, encode_image=encode_image))
                                       for k, v in value.items()) if v is not OMIT}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    return repr(value)


def detection_json(detection: Detection) -> dict[str, Any]:
    """MediaPipe's Detection message, field for field (location_data in relative form)."""
    out: dict[str, Any] = {}
    if detection.label:
        out["label"] = list(detection.label)
    if detection.label_id:
        out["label_id"] = [int(i) for i in detection.label_id]
    out["score"] = [float(s) for s in detection.score]
    location: dict[str, Any] = {"format": "RELATIVE_BOUNDING_BOX"}
    if detection.relative_bounding_box is not None:
        location["relative_bounding_box"] = _fields(detection.relative_bounding_box)
    if detection.relative_keypoints:
        location["relative_keypoints"] = [_fields(k) for k in detection.relative_keypoints]
    out["location_data"] = location
    if detection.feature_tag:
        out["feature_tag"] = detection.feature_tag
    if detection.track_id:
        out["track_id"] = detection.track_id
    if detection.detection_id is not None:
        out["detection_id"] = int(detection.detection_id)
    return out


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields, unset ones (None, empty strings) left out, as protobuf's JSON."""
    out = {}
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if item is None or item == "":
            continue
        out[field.name] = to_json(item)
    return out
