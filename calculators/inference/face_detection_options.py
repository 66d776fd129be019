"""`FaceDetectionOptions`: the graph options of MediaPipe's FaceDetection subgraphs.

Field and extension numbers follow MediaPipe's `modules/face_detection/face_detection.proto`
(ext 374290926), so its face detection configs, text and binary, load unchanged. The
subgraphs in `graphs/face_detection*.pbtxt` copy these fields into their nodes with
`option_value`.
"""

from __future__ import annotations

from mediagraph.calculators.inference._options import Delegate
from mediagraph.calculators.preprocess.image_to_tensor import GpuOrigin
from mediagraph import Options, option


class FaceDetectionOptions(Options, proto_name="mediapipe.FaceDetectionOptions",
                           extension=374290926):
    model_path: str = option(1, default="")
    gpu_origin: GpuOrigin = option(11, default=GpuOrigin.DEFAULT)
    tensor_width: int = option(21, default=0)
    tensor_height: int = option(22, default=0)
    num_layers: int = option(23, default=0)
    strides: tuple[int, ...] = option(24, default=())
    interpolated_scale_aspect_ratio: float = option(25, default=1.0)
    num_boxes: int = option(31, default=0)
    x_scale: float = option(32, default=0.0)
    y_scale: float = option(33, default=0.0)
    w_scale: float = option(34, default=0.0)
    h_scale: float = option(35, default=0.0)
    min_score_thresh: float = option(36, default=0.0)
    delegate: Delegate = option(6, default=None)
