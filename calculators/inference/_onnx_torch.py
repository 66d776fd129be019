"""An ONNX model as a static-shaped torch module that `torch.export` can trace (ExecuTorch's way in).

onnx2torch does the conversion; this module prepares the ONNX model for it and fixes
what it makes, without converting any operator itself:

- onnx2torch imports torchvision at import time, for NonMaxSuppression and RoiAlign only;
  where torchvision does not load (PyPI's torchvision is a CUDA build, which fails beside
  the CPU torch), a stand-in is importable while onnx2torch loads, and using either
  operator is a conversion error naming it. The stand-in is gone once onnx2torch is in.
- ONNX Runtime's basic graph optimizations (provider-independent: constant folding and
  semantics-preserving fusions, standard ONNX operators only) fold the shape arithmetic
  of a fixed-shape model into constants.
- `auto_pad: SAME_UPPER/SAME_LOWER` (which onnx2torch refuses) becomes explicit `pads`,
  computed from the shapes ONNX's shape inference gives.
- DepthToSpace in DCR mode (TensorFlow's order; onnx2torch has only CRD) becomes the
  Reshape, Transpose, Reshape that the ONNX specification defines it as.
- A PRelu slope shaped (1, C, 1, 1) is stored as (C, 1, 1), the same broadcast, so
  onnx2torch emits `prelu` (which XNNPACK runs) rather than a masked assignment.
- onnx2torch's Reshape, Pad, Resize, Slice and PRelu read their shape arguments from
  tensors at run time (`.tolist()`), which `torch.export` sees as data-dependent (the
  face detector's export ran for minutes in symbolic shape algebra). Where those
  arguments are constants, each such node is replaced by a module holding them as
  Python values: the static shapes are baked in.
- Buffers left unused by that are dropped (an empty one has stride 0, which ExecuTorch
  refuses), and the rest are made contiguous.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import sys
import tempfile
import threading
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph import models
from mediagraph.errors import MissingDependencyError

from . import _backends as B

ONNX2TORCH_INSTALL = "pip install --no-deps onnx2torch"
_quiet_lock = threading.RLock()


def _stand_in_operator(operator: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise models.ModelConversionError(
            f"the operator {operator} needs torchvision, which does not load beside this "
            "torch", operator)
    return refuse


@contextlib.contextmanager
def _torchvision_stand_in() -> Iterator[None]:
    """Let onnx2torch import where torchvision is missing or does not load (see above)."""
    try:
        importlib.import_module("torchvision")
        yield
        return
    except Exception:  # noqa: BLE001 - a CUDA torchvision beside CPU torch raises RuntimeError
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
    vision, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
    ops.nms = ops.box_convert = _stand_in_operator("NonMaxSuppression")  # type: ignore[attr-defined]
    ops.roi_align = _stand_in_operator("RoiAlign")  # type: ignore[attr-defined]
    vision.ops = ops  # type: ignore[attr-defined]
    sys.modules["torchvision"], sys.modules["torchvision.ops"] = vision, ops
    try:
        yield
    finally:
        for name in ("torchvision", "torchvision.ops"):
            if sys.modules.get(name) in (vision, ops):
                del sys.modules[name]


def onnx2torch() -> Any:
    """The onnx2torch package (installed without its torchvision requirement)."""
    if "onnx2torch" in sys.modules and sys.modules["onnx2torch"] is not None:
        return sys.modules["onnx2torch"]
    if importlib.util.find_spec("onnx2torch") is None:
        raise MissingDependencyError(
            "onnx2torch", None, f"converting models for ExecuTorch ({ONNX2TORCH_INSTALL}: its "
                                "torchvision requirement is for two operators these models lack)")
    with _torchvision_stand_in(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("onnx2torch")


# -- the ONNX model, prepared -------------------------------------------------------------

def _folded(source: Path) -> Any:
    """`source` after ONNX Runtime's basic (provider-independent) graph optimizations."""
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="mediagraph-executorch-") as tmp:
        options.optimized_model_filepath = str(Path(tmp) / "folded.onnx")
        try:
            ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail types
            text = str(exc).strip()
            if "INVALID_PROTOBUF" in text or "protobuf parsing" in text:
                raise B.ModelLoadError(f"cannot load model {source}: not a valid ONNX model "
                                       f"(onnxruntime: {text})") from None
            raise models.ModelConversionError(
                f"cannot convert {source} for ExecuTorch: ONNX Runtime could not fold its "
                f"constants ({text.splitlines()[-1]})") from None
        return onnx.load(options.optimized_model_filepath)


def _shapes(model: Any) -> dict[str, list[int]]:
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(model)
    values = [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    return {v.name: [d.dim_value if d.HasField("dim_value") else -1
                     for d in v.type.tensor_type.shape.dim] for v in values}


def _same_pads(size: int, kernel: int, stride: int, dilation: int, upper: bool) -> tuple[int, int]:
    """ONNX's SAME padding of one axis: (begin, end); the odd pixel goes at the end for
    SAME_UPPER, at the beginning for SAME_LOWER."""
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - size)
    small, big = total // 2, total - total // 2
    return (small, big) if upper else (big, small)


def _explicit_pads(model: Any, shapes: dict[str, list[int]], source: Path) -> None:
    from onnx import helper

    weights = {i.name: list(i.dims) for i in model.graph.initializer}
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        mode = attrs.get("auto_pad", b"NOTSET")
        if mode not in (b"SAME_UPPER", b"SAME_LOWER"):
            continue
        spatial = shapes.get(node.input[0], [])[2:]
        kernel = attrs.get("kernel_shape") or weights.get(node.input[1], [])[2:]
        if not spatial or -1 in spatial or len(kernel) != len(spatial):
            raise models.ModelConversionError(
                f"cannot convert {source} for ExecuTorch: {node.op_type} node '{node.name}' "
                "pads SAME on an input whose shape is not fixed", node.op_type)
        strides = attrs.get("strides") or [1] * len(kernel)
        dilations = attrs.get("dilations") or [1] * len(kernel)
        pairs = [_same_pads(*axis, upper=mode == b"SAME_UPPER")
                 for axis in zip(spatial, kernel, strides, dilations)]
        kept = [a for a in node.attribute if a.name not in ("auto_pad", "pads")]
        del node.attribute[:]
        node.attribute.extend(kept)
        node.attribute.append(helper.make_attribute(
            "pads", [b for b, _ in pairs] + [e for _, e in pairs]))


def _depth_to_space_dcr(model: Any, shapes: dict[str, list[int]]) -> None:
    from onnx import helper, numpy_helper

    nodes = []
    for i, node in enumerate(model.graph.node):
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type != "DepthToSpace" or attrs.get("mode", b"DCR") != b"DCR" \
                or -1 in shapes.get(node.input[0], [-1]):
            nodes.append(node)
            continue
        size = attrs["blocksize"]
        b, c, h, w = shapes[node.input[0]]
        base = f"{node.name or 'DepthToSpace'}__dcr{i}"
        first = numpy_helper.from_array(np.array([b, size, size, c // size**2, h, w], np.int64),
                                        f"{base}_shape0")
        last = numpy_helper.from_array(np.array([b, c // size**2, h * size, w * size], np.int64),
                                       f"{base}_shape1")
        model.graph.initializer.extend([first, last])
        nodes += [helper.make_node("Reshape", [node.input[0], first.name], [f"{base}_0"],
                                   name=f"{base}_reshape0"),
                  helper.make_node("Transpose", [f"{base}_0"], [f"{base}_1"],
                                   perm=[0, 3, 4, 1, 5, 2], name=f"{base}_transpose"),
                  helper.make_node("Reshape", [f"{base}_1", last.name], list(node.output),
                                   name=f"{base}_reshape1")]
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def _prelu_slopes_per_channel(model: Any) -> None:
    slopes = {n.input[1] for n in model.graph.node if n.op_type == "PRelu"}
    for weight in model.graph.initializer:
        if weight.name in slopes and len(weight.dims) == 4 and weight.dims[0] == 1:
            dims = list(weight.dims)[1:]
            del weight.dims[:]
            weight.dims.extend(dims)


def _check_operators(model: Any, source: Path) -> None:
    """Every node has an onnx2torch converter; the first that has none is named."""
    registry = importlib.import_module("onnx2torch.node_converters.registry")
    opsets = {o.domain or "": o.version for o in model.opset_import}
    for node in model.graph.node:
        try:
            registry.get_converter(domain=node.domain, operation_type=node.op_type,
                                   version=opsets.get(node.domain or "", 1))
        except NotImplementedError:
            raise models.ModelConversionError(
                f"cannot convert {source} for ExecuTorch: onnx2torch has no converter for "
                f"the operator {node.op_type} (node '{node.name}')", node.op_type) from None


def prepared(source: Path) -> Any:
    """The ONNX model at `source`, prepared for onnx2torch (see the module docstring)."""
    import onnx

    onnx2torch()
    try:
        raw = onnx.load(str(source), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise B.ModelLoadError(f"cannot load model {source}: not a valid ONNX model "
                               f"({type(exc).__name__}: {exc})") from None
    _check_operators(raw, source)
    model = _folded(source)
    shapes = _shapes(model)
    _explicit_pads(model, shapes, source)
    _depth_to_space_dcr(model, shapes)
    _prelu_slopes_per_channel(model)
    return model


# -- the torch module, made static -------------------------------------------------------

def _static_modules() -> dict[str, Any]:
    """The modules the baking pass puts in place of onnx2torch's run-time-shape ones."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    slice_ops = importlib.import_module("onnx2torch.node_converters.slice")

    class StaticReshape(nn.Module):
        def __init__(self, shape: list[int]) -> None:
            super().__init__()
            self.shape = tuple(shape)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.reshape(x, self.shape)

    class StaticResize(nn.Module):
        def __init__(self, mode: str, align_corners: bool | None, size: list[int] | None,
                     scale: list[float] | None) -> None:
            super().__init__()
            self.mode, self.align_corners, self.size, self.scale = mode, align_corners, size, scale

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(x, size=self.size, scale_factor=self.scale, mode=self.mode,
                                 align_corners=self.align_corners)

    class StaticSlice(nn.Module):
        def __init__(self, flips: list[int], forward_slices: list[Any],
                     backward_slices: list[Any]) -> None:
            super().__init__()
            self.flips, self.forward_slices = flips, tuple(forward_slices)
            self.backward_slices = tuple(backward_slices)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return slice_ops._do_slice(x, self.flips, self.forward_slices, self.backward_slices)

    class StaticPReLU(nn.Module):
        def __init__(self, slope: torch.Tensor) -> None:
            super().__init__()
            # A buffer read directly: XNNPACK's partitioner takes prelu only with its
            # weight a parameter, not a view of one.
            self.register_buffer("weight", slope.reshape(-1).contiguous().clone())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.prelu(x, self.weight)

    return {"Reshape": StaticReshape, "Resize": StaticResize, "Slice": StaticSlice,
            "PRelu": StaticPReLU}


def _constant(module: Any, node: Any, argument: Any, what: str) -> Any:
    """The tensor behind a node argument that must be constant, or None when absent."""
    if argument is None:
        return None
    if getattr(argument, "op", None) != "get_attr":
        raise models.ModelConversionError(
            f"{what} of node '{node.target}' is computed at run time; ExecuTorch's export "
            "here needs it constant (a model with fixed input shapes)")
    value = module
    for part in argument.target.split("."):
        value = getattr(value, part)
    return value


def _static_replacement(module: Any, node: Any, statics: dict[str, Any]) -> Any | None:
    """The static module for one onnx2torch call, or None to keep it."""
    pad_ops = importlib.import_module("onnx2torch.node_converters.pad")
    resize_ops = importlib.import_module("onnx2torch.node_converters.resize")
    slice_ops = importlib.import_module("onnx2torch.node_converters.slice")
    original = module.get_submodule(node.target)
    kind = type(original).__name__
    args = list(node.args[1:])
    in_shape = list(node.args[0].meta["tensor_meta"].shape)

    def const(i: int, what: str) -> Any:
        return _constant(module, node, args[i] if i < len(args) else None, what)

    if kind == "OnnxReshape":
        shape = const(0, "the shape").tolist()
        return statics["Reshape"]([in_shape[i] if d == 0 else d for i, d in enumerate(shape)])
    if kind == "OnnxPadDynamic":
        pads, value = const(0, "the pads"), const(1, "the constant value")
        torch_pads = pad_ops._torch_padding_to_mode_format(
            pad_ops._onnx_padding_to_torch(pads.tolist()), original.mode)
        return pad_ops.OnnxPadStatic(pads=torch_pads, mode=original.mode,
                                     constant_value=0.0 if value is None else float(value.item()))
    if kind == "OnnxResize":
        roi, scales, sizes = const(0, "the roi"), const(1, "the scales"), const(2, "the sizes")
        if roi is not None and roi.numel() and not original.ignore_roi:
            raise models.ModelConversionError(f"Resize node '{node.target}' has a roi, which "
                                              "onnx2torch does not implement", "Resize")
        return statics["Resize"](
            resize_ops._onnx_mode_to_torch_mode(original.onnx_mode, len(in_shape) - 2),
            original.align_corners,
            sizes.tolist()[2:] if sizes is not None and sizes.numel() else None,
            scales.tolist()[2:] if scales is not None and scales.numel() else None)
    if kind == "OnnxSlice":
        starts, ends = const(0, "the starts"), const(1, "the ends")
        axes, steps = const(2, "the axes"), const(3, "the steps")
        return statics["Slice"](*slice_ops._get_slices(starts.tolist(), ends.tolist(), axes, steps))
    if kind == "OnnxPReLU":
        slope = const(0, "the slope")
        if slope.numel() == in_shape[1] and slope.dim() in (1, 3) and slope.shape[0] == in_shape[1]:
            return statics["PRelu"](slope)
    return None


def static_module(model: Any, example: list[Any], source: Path) -> Any:
    """The torch GraphModule of the prepared ONNX `model`, its run-time shape arguments
    baked in as constants (shapes from one run on `example`)."""
    from torch.fx.passes.shape_prop import ShapeProp

    converter = onnx2torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = converter.convert(model)
        except NotImplementedError as exc:
            node = _failing_onnx_node(exc)
            where = f" (node '{node.name}')" if node is not None else ""
            op = node.operation_type if node is not None else None
            raise models.ModelConversionError(
                f"cannot convert {source} for ExecuTorch: onnx2torch cannot convert the operator "
                f"{op or '?'}{where}: {exc}", op) from None
        ShapeProp(module).propagate(*example)
    statics = _static_modules()
    for node in list(module.graph.nodes):
        if node.op != "call_module":
            continue
        try:
            replacement = _static_replacement(module, node, statics)
        except models.ModelConversionError as exc:
            raise models.ModelConversionError(f"cannot convert {source} for ExecuTorch: {exc}",
                                              exc.operator) from None
        if replacement is not None:
            module.add_submodule(node.target, replacement)
            node.args, node.kwargs = (node.args[0],), {}
    module.graph.eliminate_dead_code()
    module.delete_all_unused_submodules()
    _tidy_buffers(module)
    module.recompile()
    return module


def _tidy_buffers(module: Any) -> None:
    """Drop onnx2torch's initializers that no node reads any more (torch.export would lift
    them, and an empty one has stride 0, which ExecuTorch refuses); make the rest contiguous."""
    used = {node.target for node in module.graph.nodes if node.op == "get_attr"}
    for name, _ in list(module.named_buffers()):
        owner, _, leaf = name.rpartition(".")
        if owner == "initializers" and name not in used:
            del module.get_submodule(owner)._buffers[leaf]
    for sub in module.modules():
        for leaf, buffer in list(sub._buffers.items()):
            if buffer is not None and not buffer.is_contiguous():
                sub._buffers[leaf] = buffer.contiguous()


def _failing_onnx_node(exc: BaseException) -> Any | None:
    """The onnx2torch OnnxNode whose converter raised `exc` (from the traceback)."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("onnx_node") or tb.tb_frame.f_locals.get("node")
        if hasattr(candidate, "operation_type"):
            found = candidate
        tb = tb.tb_next
    return found


def onnx_operator_of(module: Any, exc: BaseException, model: Any) -> tuple[str, str] | None:
    """(ONNX node name, operator) of the onnx2torch module `exc` was raised in, if any."""
    names = {id(sub): name for name, sub in module.named_modules()}
    ops = {n.name: n.op_type for n in model.graph.node}
    tb, found = exc.__traceback__, None
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if id(owner) in names and names[id(owner)]:
            found = names[id(owner)]
        tb = tb.tb_next
    if found is None:
        return None
    return found, ops.get(found, type(module.get_submodule(found)).__name__)


def example_inputs(model: Any, source: Path) -> list[Any]:
    """Zeros of each graph input's fixed shape; an open dimension is an error naming it."""
    import torch
    from onnx import helper

    initializers = {i.name for i in model.graph.initializer}
    arrays = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        shape = [d.dim_value if d.HasField("dim_value") else -1
                 for d in value.type.tensor_type.shape.dim]
        if any(d <= 0 for d in shape):
            raise models.ModelConversionError(
                f"cannot convert {source} for ExecuTorch: input {value.name} has shape {shape}; "
                "the export here needs every dimension fixed")
        dtype = helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
        arrays.append(torch.from_numpy(np.zeros(shape, dtype)))
    return arrays


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """Python warnings, and torch's, torchao's and ExecuTorch's log warnings, held back
    while importing, exporting and lowering (torchao warns that its CUDA kernels do not
    load on a CPU build; export warns of deprecations inside torch). Errors still show.
    torch is imported first: its import sets its logger's level. Logger levels and warning
    filters are process-wide, so one thread at a time is inside (re-entrant): two
    overlapping blocks would otherwise restore each other's saved state out of order."""
    import torch  # noqa: F401

    with _quiet_lock:
        loggers = [logging.getLogger(name) for name in ("torch", "torchao", "executorch")]
        levels = [logger.level for logger in loggers]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for logger in loggers:
                logger.setLevel(logging.ERROR)
            try:
                yield
            finally:
                for logger, level in zip(loggers, levels):
                    logger.setLevel(level)
