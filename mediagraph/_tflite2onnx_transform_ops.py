"""MediaPipe's three custom transform operators, as ONNX subgraphs of standard operators.

face_landmark_with_attention.tflite crops the eye and lip regions out of its own feature
maps with operators only MediaPipe's op resolver has (mediapipe/util/tflite/operations/):

- `Landmarks2TransformMatrix` (v2): landmarks [1, N, 3] -> a 4x4 matrix taking output
  pixel (x, y) to input pixel coordinates: a box around the `subset_idxs` landmarks,
  turned so the line `left_rotation_idx` -> `right_rotation_idx` is at
  `target_rotation_radians`, grown by `scale_x`/`scale_y`, over an `output_width` x
  `output_height` grid.
- `TransformTensorBilinear` (v2): a feature map [1, H, W, C] and such a matrix -> the
  map sampled bilinearly at the matrix's points ([1, output_height, output_width, C]),
  pixel centres aligned; a point outside [0, W-1] x [0, H-1] gives 0.
- `TransformLandmarks` (v2): landmarks [1, N, 2 or 3] and a matrix -> x, y mapped by its
  affine part (z kept).

During a conversion (`mediagraph._tflite2onnx_ops.patched()`) tflite2onnx writes each as a
placeholder node in the `mediagraph.mediapipe` domain carrying the operator's options as
attributes (`placeholder()`); `expand()` then replaces every placeholder in the ONNX model
by its subgraph. The subgraphs use opset 11 operators only (Gather, MatMul, Floor, ...,
no GridSample), so the converted model keeps tflite2onnx's opset. The feature map arrives
NCHW (tflite2onnx's layout), and the result leaves NCHW. Batch size 1, as in the model.

`landmarks_to_transform_matrix`, `transform_tensor_bilinear` and `transform_landmarks`
are the same operators in numpy, written from MediaPipe's C++ kernels: the reference the
tests hold the subgraphs to.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np

DOMAIN = "mediagraph.mediapipe"
CUSTOM_CODES = ("Landmarks2TransformMatrix", "TransformTensorBilinear", "TransformLandmarks")


# -- numpy references (MediaPipe's kernels) ----------------------------------------------

def landmarks_to_transform_matrix(landmarks: np.ndarray, *, left_rotation_idx: int,
                                  right_rotation_idx: int, subset_idxs: list[int],
                                  output_width: int, output_height: int, scale_x: float,
                                  scale_y: float, target_rotation_radians: float = 0.0
                                  ) -> np.ndarray:
    """[1, N, 3] landmarks -> [1, 4, 4] (MediaPipe's LandmarksToTransformMatrixV2)."""
    points = np.asarray(landmarks, np.float64).reshape(-1, 3)
    left, right = points[left_rotation_idx], points[right_rotation_idx]
    r = target_rotation_radians - math.atan2(right[1] - left[1], right[0] - left[0])
    c, s = math.cos(r), math.sin(r)
    xy = points[list(subset_idxs), :2]
    rotated = xy @ np.array([[c, s], [-s, c]])            # rows: (c x - s y, s x + c y)
    lo, hi = rotated.min(axis=0), rotated.max(axis=0)
    width, height = hi - lo
    mx, my = (lo + hi) / 2
    cx, cy = c * mx + s * my, -s * mx + c * my            # back by -r
    shift = np.eye(4)
    shift[:2, 3] = cx, cy
    rotation = np.eye(4)
    rotation[:2, :2] = [[c, s], [-s, c]]                   # by -r
    scale = np.diag([scale_x * width / output_width, scale_y * height / output_height, 1, 1])
    shift2 = np.eye(4)
    shift2[:2, 3] = -output_width / 2, -output_height / 2
    return (shift @ rotation @ scale @ shift2).astype(np.float32)[None]


def transform_tensor_bilinear(data: np.ndarray, matrix: np.ndarray, *, output_width: int,
                              output_height: int) -> np.ndarray:
    """[1, H, W, C] sampled at `matrix`'s points -> [1, oh, ow, C]
    (MediaPipe's TransformTensorBilinearV2)."""
    data = np.asarray(data, np.float32)[0]
    m = np.asarray(matrix, np.float64).reshape(4, 4)
    height, width, channels = data.shape
    out = np.zeros((output_height, output_width, channels), np.float32)
    for oy, ox in itertools.product(range(output_height), range(output_width)):
        tx = m[0, 0] * (ox + 0.5) + m[0, 1] * (oy + 0.5) + m[0, 3] - 0.5
        ty = m[1, 0] * (ox + 0.5) + m[1, 1] * (oy + 0.5) + m[1, 3] - 0.5
        if tx < 0 or tx > width - 1 or ty < 0 or ty > height - 1:
            continue
        fx, fy = math.floor(tx), math.floor(ty)

        def read(h: int, w: int) -> np.ndarray:
            if 0 <= h < height and 0 <= w < width:
                return data[h, w]
            return np.zeros(channels, np.float32)

        rx, ly = tx - fx, ty - fy
        upper = (1 - rx) * read(fy, fx) + rx * read(fy, fx + 1)
        lower = (1 - rx) * read(fy + 1, fx) + rx * read(fy + 1, fx + 1)
        out[oy, ox] = ly * lower + (1 - ly) * upper
    return out[None]


def transform_landmarks(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """[1, N, 2|3] landmarks mapped by `matrix` (MediaPipe's TransformLandmarksV2)."""
    points = np.asarray(landmarks, np.float64).copy()
    m = np.asarray(matrix, np.float64).reshape(4, 4)
    xy = points[..., :2] @ m[:2, :2].T + m[:2, 3]
    points[..., :2] = xy
    return points.astype(np.float32)


# -- the tflite2onnx placeholder ---------------------------------------------------------

def placeholder(operator_base: Any, layout_type: Any) -> type:
    """The tflite2onnx operator class that writes a custom op as a placeholder node.

    Built on demand, as tflite2onnx is an optional dependency."""

    class MediaPipeTransformOp(operator_base):  # type: ignore[misc, valid-type]
        NHWC_INPUTS: ClassVar[dict[str, tuple[int, ...]]] = {
            "TransformTensorBilinear": (0,)}

        def __init__(self, TFactory: Any, index: int) -> None:
            super().__init__(TFactory, index)
            op = self.graph.Operators(index)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            self.custom_code = code.CustomCode().decode()
            self.attrs["domain"] = DOMAIN
            self.setInited()

        @property
        def type(self) -> str:
            return self.custom_code

        def parse(self) -> None:
            from flatbuffers import flexbuffers

            op = self.tflite
            raw = op.CustomOptionsAsNumpy().tobytes() if op.CustomOptionsLength() else b""
            options = flexbuffers.Loads(raw) if raw else {}
            for key, value in (options or {}).items():
                self.attrs[key] = list(value) if isinstance(value, (list, tuple)) else value
            nhwc = self.NHWC_INPUTS.get(self.custom_code, ())
            for i in range(op.InputsLength()):
                self.parseInput(i, layout_type("NHWC", "NCHW") if i in nhwc else None)
            self.parseOutput(0, layout_type("NHWC", "NCHW") if nhwc else None)
            self.setParsed()

        def propagatableTensors(self) -> list[Any]:
            return []

        def transform(self) -> None:
            pass

    return MediaPipeTransformOp


# -- expansion ---------------------------------------------------------------------------

class _Builder:
    """Appends nodes and constants under one name prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{self.prefix}/{hint}_{self._count}"

    def const(self, value: Any, dtype: Any = np.float32, hint: str = "const") -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        output = out or self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [output],
                                           name=self.name(op_type), **attrs))
        return output

    def slice(self, x: str, axis: int, start: int, end: int) -> str:
        return self.op("Slice", x, self.const([start], np.int64), self.const([end], np.int64),
                       self.const([axis], np.int64))


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _landmarks_to_transform_matrix(b: _Builder, node: Any) -> None:
    a = _attrs(node)
    out_w, out_h = float(a["output_width"]), float(a["output_height"])
    target = float(a.get("target_rotation_radians", 0.0))
    xy = b.slice(node.input[0], 2, 0, 2)                                    # [1, N, 2]
    ends = b.op("Gather", xy, b.const([a["left_rotation_idx"], a["right_rotation_idx"]],
                                      np.int64), axis=1)                    # [1, 2, 2]
    delta = b.op("Sub", b.slice(ends, 1, 1, 2), b.slice(ends, 1, 0, 1))     # [1, 1, 2]
    dx, dy = b.slice(delta, 2, 0, 1), b.slice(delta, 2, 1, 2)               # [1, 1, 1]
    length = b.op("Sqrt", b.op("Add", b.op("Mul", dx, dx), b.op("Mul", dy, dy)))
    cos_t, sin_t = b.op("Div", dx, length), b.op("Div", dy, length)
    # r = target - atan2(dy, dx), without atan2: c = cos r, s = sin r.
    ct, st = b.const(math.cos(target)), b.const(math.sin(target))
    c = b.op("Add", b.op("Mul", cos_t, ct), b.op("Mul", sin_t, st))
    s = b.op("Sub", b.op("Mul", cos_t, st), b.op("Mul", sin_t, ct))
    points = b.op("Gather", xy, b.const(list(a["subset_idxs"]), np.int64), axis=1)
    px, py = b.slice(points, 2, 0, 1), b.slice(points, 2, 1, 2)            # [1, K, 1]
    rx = b.op("Sub", b.op("Mul", c, px), b.op("Mul", s, py))
    ry = b.op("Add", b.op("Mul", s, px), b.op("Mul", c, py))
    lo_x, hi_x = (b.op(f, rx, axes=[1], keepdims=1) for f in ("ReduceMin", "ReduceMax"))
    lo_y, hi_y = (b.op(f, ry, axes=[1], keepdims=1) for f in ("ReduceMin", "ReduceMax"))
    half = b.const(0.5)
    mx, my = (b.op("Mul", b.op("Add", lo, hi), half) for lo, hi in ((lo_x, hi_x), (lo_y, hi_y)))
    cx = b.op("Add", b.op("Mul", c, mx), b.op("Mul", s, my))
    cy = b.op("Sub", b.op("Mul", c, my), b.op("Mul", s, mx))
    sx = b.op("Mul", b.op("Sub", hi_x, lo_x), b.const(float(a["scale_x"]) / out_w))
    sy = b.op("Mul", b.op("Sub", hi_y, lo_y), b.const(float(a["scale_y"]) / out_h))
    a00, a01 = b.op("Mul", c, sx), b.op("Mul", s, sy)
    a10 = b.op("Neg", b.op("Mul", s, sx))
    a11 = b.op("Mul", c, sy)
    shx, shy = b.const(-out_w / 2), b.const(-out_h / 2)
    tx = b.op("Add", cx, b.op("Add", b.op("Mul", a00, shx), b.op("Mul", a01, shy)))
    ty = b.op("Add", cy, b.op("Add", b.op("Mul", a10, shx), b.op("Mul", a11, shy)))
    zero, one = b.const([[[0.0]]]), b.const([[[1.0]]])
    row = b.op("Concat", a00, a01, zero, tx, a10, a11, zero, ty,
               zero, zero, one, zero, zero, zero, zero, one, axis=2)        # [1, 1, 16]
    b.op("Reshape", row, b.const([1, 4, 4], np.int64), out=node.output[0])


def _affine(b: _Builder, matrix: str) -> tuple[str, str]:
    """The matrix's 2x2 linear part transposed ([1, 2, 2]) and its shift ([1, 1, 2])."""
    rows = b.slice(matrix, 1, 0, 2)                                         # [1, 2, 4]
    linear_t = b.op("Transpose", b.slice(rows, 2, 0, 2), perm=[0, 2, 1])
    shift = b.op("Transpose", b.slice(rows, 2, 3, 4), perm=[0, 2, 1])
    return linear_t, shift


def _transform_landmarks(b: _Builder, node: Any, dims: int) -> None:
    linear_t, shift = _affine(b, node.input[1])
    xy = node.input[0] if dims == 2 else b.slice(node.input[0], 2, 0, 2)
    moved = b.op("Add", b.op("MatMul", xy, linear_t),
                 shift, out=node.output[0] if dims == 2 else None)
    if dims == 3:
        b.op("Concat", moved, b.slice(node.input[0], 2, 2, 3), axis=2, out=node.output[0])


def _transform_tensor_bilinear(b: _Builder, node: Any, shape: list[int]) -> None:
    a = _attrs(node)
    _, channels, height, width = shape                                      # NCHW
    out_w, out_h = int(a["output_width"]), int(a["output_height"])
    grid = np.array([(x + 0.5, y + 0.5) for y in range(out_h) for x in range(out_w)],
                    np.float32)                                             # [P, 2]
    linear_t, shift = _affine(b, node.input[1])
    # Pixel-centre alignment: MediaPipe samples at M (x + 0.5, y + 0.5) - 0.5.
    points = b.op("Add", b.op("MatMul", b.const(grid[None]), linear_t),
                  b.op("Sub", shift, b.const(0.5)))                          # [1, P, 2]
    points = b.op("Reshape", points, b.const([out_w * out_h, 2], np.int64))
    tx, ty = b.slice(points, 1, 0, 1), b.slice(points, 1, 1, 2)             # [P, 1]
    zero = b.const(0.0)
    inside = b.op("Cast", b.op("And", b.op("And", b.op("Not", b.op("Less", tx, zero)),
                                                b.op("Not", b.op("Greater", tx, b.const(width - 1.0)))),
                                  b.op("And", b.op("Not", b.op("Less", ty, zero)),
                                       b.op("Not", b.op("Greater", ty, b.const(height - 1.0))))),
                  to=1)
    fx = b.op("Floor", b.op("Clip", tx, zero, b.const(width - 1.0)))
    fy = b.op("Floor", b.op("Clip", ty, zero, b.const(height - 1.0)))
    right = b.op("Sub", b.op("Clip", tx, zero, b.const(width - 1.0)), fx)
    lower = b.op("Sub", b.op("Clip", ty, zero, b.const(height - 1.0)), fy)
    one = b.const(1.0)
    left, upper = b.op("Sub", one, right), b.op("Sub", one, lower)
    flat = b.op("Reshape", node.input[0], b.const([channels, height * width], np.int64))
    total = None
    for dy, dx, wy, wx in ((0, 0, upper, left), (0, 1, upper, right),
                           (1, 0, lower, left), (1, 1, lower, right)):
        # A neighbour past the last row/column has weight 0 (the point is on that edge):
        # clamping its index reads a finite value that the weight cancels.
        yy = b.op("Clip", b.op("Add", fy, b.const(float(dy))), zero, b.const(height - 1.0))
        xx = b.op("Clip", b.op("Add", fx, b.const(float(dx))), zero, b.const(width - 1.0))
        index = b.op("Cast", b.op("Add", b.op("Mul", yy, b.const(float(width))), xx), to=7)
        index = b.op("Reshape", index, b.const([out_w * out_h], np.int64))
        weight = b.op("Reshape", b.op("Mul", b.op("Mul", wy, wx), inside),
                      b.const([1, out_w * out_h], np.int64))
        term = b.op("Mul", b.op("Gather", flat, index, axis=1), weight)    # [C, P]
        total = term if total is None else b.op("Add", total, term)
    b.op("Reshape", total, b.const([1, channels, out_h, out_w], np.int64), out=node.output[0])


def _shapes(model: Any) -> dict[str, list[int]]:
    graph = model.graph
    shapes = {}
    for info in itertools.chain(graph.value_info, graph.input, graph.output):
        dims = info.type.tensor_type.shape.dim
        shapes[info.name] = [d.dim_value for d in dims]
    return shapes


def expand(model: Any) -> int:
    """Replace the placeholder nodes of `model` (an onnx.ModelProto) by their subgraphs,
    in place; returns how many were replaced."""
    graph = model.graph
    if not any(node.domain == DOMAIN for node in graph.node):
        return 0
    shapes = _shapes(model)
    nodes, count = [], 0
    for node in graph.node:
        if node.domain != DOMAIN:
            nodes.append(node)
            continue
        b = _Builder(node.name or node.output[0])
        if node.op_type == "Landmarks2TransformMatrix":
            _landmarks_to_transform_matrix(b, node)
        elif node.op_type == "TransformLandmarks":
            shape = shapes.get(node.input[0], [])
            _transform_landmarks(b, node, shape[-1] if shape else 2)
        elif node.op_type == "TransformTensorBilinear":
            shape = shapes.get(node.input[0])
            if not shape or len(shape) != 4 or shape[0] != 1:
                raise NotImplementedError(f"TransformTensorBilinear on a {shape} tensor "
                                          "(only batch 1 with a known shape)")
            _transform_tensor_bilinear(b, node, shape)
        else:
            raise NotImplementedError(f"MediaPipe custom op {node.op_type}")
        nodes.extend(b.nodes)
        graph.initializer.extend(b.initializers)
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def shared_input_reshape(reshape_base: Any) -> type:
    """tflite2onnx's Reshape, fixed for two things the attention model does:

    - several Reshapes read one NCHW tensor (its mesh output, three times): the Transpose
      back to NHWC that tflite2onnx puts before a Reshape is made once and shared, where
      tflite2onnx would make it per Reshape under one name (and fail);
    - a binary operator broadcasts a constant over tensors without a layout (landmarks
      [1, 468, 3] times a [1] scale): the Reshape tflite2onnx adds to align the ranks
      needs no layout change there, where tflite2onnx demands a layout (and fails).
      tflite2onnx makes those Reshapes itself, so `patched()` points its binary
      operators at this class for the conversion."""

    class Reshape(reshape_base):  # type: ignore[misc, valid-type]
        TypeMapping = reshape_base.TypeMapping

        def transform(self) -> None:
            if self.forFakeBroadcasting and self.outputs[0].layout is None:
                return
            super().transform()

        def preserveInputSpatialSemantic(self) -> None:
            source = self.inputs[0]
            shared = self.TFactory.registery.get(f"TFLITE2ONNX_Transposed_{source.name}")
            if shared is None:
                super().preserveInputSpatialSemantic()
                return
            source.removeConsumer(self)
            self.replaceInput(source, shared)
            shared.addConsumer(self)

    return Reshape
