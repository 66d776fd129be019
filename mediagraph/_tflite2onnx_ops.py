"""TFLite operators tflite2onnx 0.4 lacks, taught to it for the length of one conversion.

`patched()` is a context manager: inside it tflite2onnx's operator registry also knows

- DENSIFY: MediaPipe's sparse models keep some fp16 weights sparse (CSR) and densify them
  at run time. The weights are constants, so they are densified here, in numpy, and the
  DENSIFY operator leaves the graph: its output becomes an ordinary constant.
- DEPTH_TO_SPACE: ONNX DepthToSpace in DCR mode (TFLite's channel order) on NCHW.
- HARD_SWISH: x * HardSigmoid(x) with alpha 1/6, beta 1/2 (tflite2onnx writes opset 11;
  ONNX's HardSwish needs opset 14).
- PAD sharing its pads constant with another PAD: each gets its own copy (tflite2onnx
  rewrites the constant in place, once per user).
- CUSTOM `Convolution2DTransposeBias` (MediaPipe's transpose_conv_bias.cc): TFLite's
  TRANSPOSE_CONV plus a bias, as ONNX ConvTranspose. Its custom options are a raw
  TfLiteTransposeConvParams (no FlexBuffer): int32 padding (1 SAME, 2 VALID), stride_width,
  stride_height.
- CUSTOM `Landmarks2TransformMatrix`, `TransformTensorBilinear`, `TransformLandmarks`
  (face_landmark_with_attention.tflite): ONNX subgraphs of standard operators
  (`mediagraph._tflite2onnx_transform_ops`). Other CUSTOM operators still fail, naming
  the custom code.
- PRELU whose slope comes from an fp16 constant through DEQUANTIZE: tflite2onnx gives the
  slope the batch dimension it lacks but not the fp16 constant behind it, whose layout
  change then fails (an IndexError); the constant gets the same dimension here.

Nothing in site-packages is edited; the registry and `Graph.parse` are restored on exit.
A lock keeps two threads from converting with half-patched registries.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from mediagraph import _tflite2onnx_transform_ops as _transform_ops

_LOCK = threading.RLock()


def _vector(table: Any, kind: int) -> np.ndarray:
    import tflite

    cls = {tflite.SparseIndexVector.Int32Vector: tflite.Int32Vector,
           tflite.SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
           tflite.SparseIndexVector.Uint8Vector: tflite.Uint8Vector}[kind]
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    return vec.ValuesAsNumpy()


def densify(model: Any, graph: Any, index: int) -> np.ndarray:
    """The dense value of the sparse constant tensor `index` (TFLite's sparsity format)."""
    import tflite
    from tflite2onnx import mapping

    tensor = graph.Tensors(index)
    sparsity = tensor.Sparsity()
    shape = [int(d) for d in tensor.ShapeAsNumpy()]
    dtype = mapping.DTYPE_ONNX2NAME[mapping.DTYPE_TFLITE2ONNX[tensor.Type()]]
    values = np.frombuffer(model.Buffers(tensor.Buffer()).DataAsNumpy(), dtype=dtype)
    if sparsity.BlockMapLength():
        raise NotImplementedError(f"block-sparse tensor {tensor.Name().decode()}")
    order = [int(d) for d in sparsity.TraversalOrderAsNumpy()]
    dims = []
    for level in range(sparsity.DimMetadataLength()):
        meta = sparsity.DimMetadata(level)
        if meta.Format() == tflite.DimensionType.DENSE:
            dims.append((meta.DenseSize(), None, None))
        else:
            dims.append((None, _vector(meta.ArraySegments(), meta.ArraySegmentsType()),
                         _vector(meta.ArrayIndices(), meta.ArrayIndicesType())))
    dense = np.zeros(shape, dtype=dtype)
    coords = [0] * len(shape)
    cursor = 0

    def walk(level: int, position: int) -> None:
        # `position` is this level's row in the (flattened) traversal so far, as in
        # TFLite's FormatConverter: dense levels multiply it out, sparse ones index segments.
        nonlocal cursor
        if level == len(dims):
            dense[tuple(coords)] = values[cursor]
            cursor += 1
            return
        size, segments, indices = dims[level]
        if segments is None:
            for i in range(size):
                coords[order[level]] = i
                walk(level + 1, position * size + i)
        else:
            for k in range(int(segments[position]), int(segments[position + 1])):
                coords[order[level]] = int(indices[k])
                walk(level + 1, k)

    walk(0, 0)
    if cursor != values.size:
        raise ValueError(f"sparse tensor {tensor.Name().decode()}: {values.size} values, "
                         f"{cursor} positions")
    return dense


# TFLite's TfLitePadding values (tensorflow/lite/core/c/builtin_op_data.h), as MediaPipe's
# custom options store them.
_PADDING_SAME, _PADDING_VALID = 1, 2


def transpose_conv_pads(size: int, out: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """(pad_begin, pad_end, output_padding) making ONNX ConvTranspose give TFLite's `out`
    from `size`: TFLite crops `total` = (size-1)*stride + kernel - out, the odd one at the
    end (ComputePaddingWithOffset); an `out` larger than the full result is zero-extended
    at the end, ONNX's output_padding."""
    total = (size - 1) * stride + kernel - out
    if total < 0:
        return 0, 0, -total
    return total // 2, total - total // 2, 0


def _converters() -> dict[int, Any]:
    import tflite
    from onnx import TensorProto
    from tflite2onnx.layout import Layout
    from tflite2onnx.op.activation import Activation
    from tflite2onnx.op.common import Operator
    from tflite2onnx.op.padding import Padding
    from tflite2onnx.op.reshape import Reshape

    class Densify(Operator):
        """Turns its output into a constant; `patched()` drops the operator after parsing."""

        TypeMapping: ClassVar[dict[int, str]] = {tflite.BuiltinOperator.DENSIFY: "Densify"}

        def __init__(self, TFactory: Any, index: int) -> None:
            super().__init__(TFactory, index)
            self.setInited()

        @property
        def type(self) -> str:
            return "Densify"

        def parse(self) -> None:
            op = self.tflite
            out = self.TFactory.get(op.Outputs(0))
            out.parse()
            out.data = densify(self.model, self.graph, op.Inputs(0))
            self.name = out.name
            self.setParsed()

    class DepthToSpace(Operator):
        TypeMapping: ClassVar[dict[int, str]] = {tflite.BuiltinOperator.DEPTH_TO_SPACE: "DepthToSpace"}

        def __init__(self, TFactory: Any, index: int) -> None:
            super().__init__(TFactory, index)
            self.setInited()

        @property
        def type(self) -> str:
            return "DepthToSpace"

        def parse(self) -> None:
            op = self.tflite
            self.parseInput(0, Layout("NHWC", "NCHW"))
            self.parseOutput(0, Layout("NHWC", "NCHW"))
            option = tflite.DepthToSpaceOptions()
            option.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            self.attrs["blocksize"] = option.BlockSize()
            self.attrs["mode"] = "DCR"
            self.setParsed()

        def propagatableTensors(self) -> list[Any]:
            return []

        def transform(self) -> None:
            pass

    class HardSwish(Operator):
        """HardSigmoid here, then a Mul by the input (a `post` operator)."""

        TypeMapping: ClassVar[dict[int, str]] = {tflite.BuiltinOperator.HARD_SWISH: "HardSigmoid"}

        def __init__(self, TFactory: Any, index: int) -> None:
            super().__init__(TFactory, index)
            self.attrs["alpha"] = 1.0 / 6.0
            self.attrs["beta"] = 0.5
            self.setInited()

        @property
        def type(self) -> str:
            return "HardSigmoid"

        def parse(self) -> None:
            x = self.parseInput(0)
            y = self.parseOutput(0)
            gate = self.TFactory.getWithRef(y, "TFLITE2ONNX_HardSigmoid_" + y.name, True)
            gate.setParsed()
            self.replaceOutput(y, gate)
            gate.addProducer(self)
            mul = _Mul(self.TFactory, -1)
            mul.name = y.name + "_hard_swish_mul"
            for t in (x, gate):
                t.addConsumer(mul)
                mul.inputs.append(t)
            y.replaceProducer(self, mul)
            mul.outputs.append(y)
            mul.setParsed()
            self.post.append(mul)
            self.setParsed()

        def propagatableTensors(self) -> list[Any]:
            return self.inputs + self.outputs

        def transform(self) -> None:
            pass

    class _Mul(Operator):
        def __init__(self, TFactory: Any, index: int) -> None:
            super().__init__(TFactory, index)
            self.setInited()

        @property
        def type(self) -> str:
            return "Mul"

        def propagatableTensors(self) -> list[Any]:
            return self.inputs + self.outputs

        def transform(self) -> None:
            pass

    class TransposeConvBias(Operator):
        """MediaPipe's Convolution2DTransposeBias: input NHWC, weights OHWI, bias [O]."""

        CUSTOM_CODE = "Convolution2DTransposeBias"

        def __init__(self, TFactory: Any, index: int) -> None:
            super().__init__(TFactory, index)
            self.attrs["dilations"] = [1, 1]
            self.attrs["group"] = 1
            self.setInited()

        @property
        def type(self) -> str:
            return "ConvTranspose"

        def parse(self) -> None:
            op = self.tflite
            if op.InputsLength() != 3 or op.OutputsLength() != 1:
                raise ValueError(f"{self.CUSTOM_CODE} with {op.InputsLength()} inputs and "
                                 f"{op.OutputsLength()} outputs (expected 3 and 1)")
            options = op.CustomOptionsAsNumpy().tobytes()
            if len(options) < 12:
                raise ValueError(f"{self.CUSTOM_CODE}: {len(options)} bytes of options "
                                 "(expected padding, stride_width, stride_height as int32)")
            padding, stride_w, stride_h = struct.unpack_from("<3i", options)
            if padding not in (_PADDING_SAME, _PADDING_VALID):
                raise ValueError(f"{self.CUSTOM_CODE}: unknown padding {padding}")
            x = self.parseInput(0, Layout("NHWC", "NCHW"))
            w = self.parseInput(1, Layout("OHWI", "IOHW"))
            self.parseInput(2, is_bias=True)
            y = self.parseOutput(0, Layout("NHWC", "NCHW"))
            # Shapes are read before the layouts are applied: all still NHWC / OHWI here.
            kernel = [int(k) for k in w.shape[1:3]]
            strides = [stride_h, stride_w]
            begin, end, extra = [], [], []
            for size, out, k, s in zip(x.shape[1:3], y.shape[1:3], kernel, strides):
                want = size * s if padding == _PADDING_SAME else (size - 1) * s + k
                if out != want:
                    raise ValueError(f"{self.CUSTOM_CODE}: output {list(y.shape)} from input "
                                     f"{list(x.shape)} (expected {want}, not {out})")
                b, e, o = transpose_conv_pads(int(size), int(out), k, s)
                begin.append(b)
                end.append(e)
                extra.append(o)
            self.attrs["kernel_shape"] = kernel
            self.attrs["strides"] = strides
            self.attrs["pads"] = begin + end
            if any(extra):
                self.attrs["output_padding"] = extra
            self.setParsed()

        def propagatableTensors(self) -> list[Any]:
            return []

        def transform(self) -> None:
            pass

    def custom(TFactory: Any, index: int) -> Operator:
        """The converter for a CUSTOM operator, by its custom code."""
        op = TFactory.graph.Operators(index)
        code = TFactory.model.OperatorCodes(op.OpcodeIndex()).CustomCode()
        name = code.decode() if code else "?"
        if name == TransposeConvBias.CUSTOM_CODE:
            return TransposeConvBias(TFactory, index)
        if name in _transform_ops.CUSTOM_CODES:  # placeholders, expanded by patched()
            return _transform_ops.placeholder(Operator, Layout)(TFactory, index)
        # models.convert reads the operator's name from this message, as from tflite2onnx's own
        raise NotImplementedError(f"Unsupported TFLite OP: {tflite.BuiltinOperator.CUSTOM} "
                                  f"CUSTOM ({name})!")

    class PRelu(Activation):
        TypeMapping: ClassVar[dict[int, str]] = {tflite.BuiltinOperator.PRELU: "PRelu"}

        def parse(self) -> None:
            super().parse()
            alpha = self.inputs[1]
            for producer in alpha.producers:  # an fp16 constant -> DEQUANTIZE -> slope
                if producer.type == "DequantizeLinear":
                    source = producer.inputs[0]
                    if (source.dtype == TensorProto.FLOAT16
                            and len(source.shape) == len(alpha.shape) - 1):
                        source.shape.insert(0, 1)

    class Pad(Padding):
        """One pads constant per Pad: `transform()` rewrites it in place, so a shared one
        would be rewritten once per user (and fail the second time)."""

        TypeMapping = Padding.TypeMapping

        def parse(self) -> None:
            super().parse()
            pads = self.inputs[1]
            if len(pads.consumers) > 1:
                own = self.TFactory.getWithRef(pads, f"{pads.name}_{self.outputs[0].name}", True)
                own.data = pads.data.copy()
                own.setParsed()
                pads.removeConsumer(self)
                own.addConsumer(self)
                self.inputs[1] = own

    converters: dict[int, Any] = {opc: cls for cls in (Densify, DepthToSpace, HardSwish, PRelu, Pad)
                                  for opc in cls.TypeMapping}
    converters[tflite.BuiltinOperator.CUSTOM] = custom
    converters[tflite.BuiltinOperator.RESHAPE] = _transform_ops.shared_input_reshape(Reshape)
    return converters


@contextlib.contextmanager
def patched() -> Iterator[None]:
    """Register the converters above (replacing tflite2onnx's PRELU) for one conversion."""
    from tflite2onnx.graph import Graph
    from tflite2onnx.model import Model
    from tflite2onnx.op.common import OpFactory

    with _LOCK:
        import tflite

        converters = _converters()
        densify_type = converters[tflite.BuiltinOperator.DENSIFY]
        saved = {opc: OpFactory.registry.get(opc) for opc in converters}
        original_parse = Graph.parse

        def parse(self: Any) -> None:
            original_parse(self)
            self.ops = [op for op in self.ops if not isinstance(op, densify_type)]
            self._collectOpAndTensor()

        from tflite2onnx.op import binary

        original_convert = Model.convert
        original_reshape = binary.Reshape

        def convert(self: Any, explicit_layouts: Any) -> None:
            original_convert(self, explicit_layouts)
            _transform_ops.expand(self.onnx)  # MediaPipe's transform ops, before the check

        OpFactory.registry.update(converters)
        Graph.parse = parse
        Model.convert = convert
        binary.Reshape = converters[tflite.BuiltinOperator.RESHAPE]  # its broadcast Reshapes
        try:
            yield
        finally:
            binary.Reshape = original_reshape
            Model.convert = original_convert
            Graph.parse = original_parse
            for opc, converter in saved.items():
                if converter is None:
                    del OpFactory.registry[opc]
                else:
                    OpFactory.registry[opc] = converter
