"""int8 models by calibration: ONNX Runtime's quantizer makes a QDQ copy of a model's `.onnx`
twin, calibrated on the user's representative inputs, cached beside the model.

Full int8 (weights and activations) needs each activation's range, which only real
inputs give: `calibration_data` is a `.npy` (N samples of the one input) or an `.npz`
(one N x shape array per input name), preprocessed as the graph feeds the model. The
copy is QDQ (QuantizeLinear/DequantizeLinear pairs around each quantized operator),
which a runtime with int8 kernels fuses into them (OpenVINO's CPU plugin runs those
convolutions in int8). Weights are quantized per output channel (int8), activations per
tensor (uint8, MinMax over the samples); per-channel scales need opset 13, so an older
model is upgraded first with ONNX's version converter. The copy is named by the source
and the calibration file: `<stem>.int8-<calibration sha256[:12]>-<source sha256[:12]>.onnx`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mediagraph import models
from mediagraph.errors import MissingDependencyError

from . import _backends as B
from . import _converted

QDQ_OPSET = 13


def quantized(model: Path, calibration: Path, extra: str) -> Path:
    """The QDQ int8 copy of `model` (a `.tflite`'s `.onnx` twin, or the `.onnx` itself),
    calibrated on the samples in `calibration`; made once and cached beside `model`."""
    try:
        import onnx
        from onnx import version_converter
        from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                              quantize_static)
    except ImportError:
        raise MissingDependencyError("onnx", extra, "int8 quantization") from None
    if not calibration.is_file():
        raise FileNotFoundError(f"calibration_data {calibration}: no such file")
    twin = _converted.onnx_twin(model)
    samples_hash = _converted.source_hash(calibration)

    def build(target: Path) -> None:
        source = onnx.load(str(twin))
        names = {i.name for i in source.graph.initializer}
        inputs = [i.name for i in source.graph.input if i.name not in names]
        samples = B._calibration_samples(calibration, inputs)
        if not samples:
            raise ValueError(f"calibration_data {calibration} holds no samples")
        for value in source.graph.input:
            if value.name not in names:
                want = [d.dim_value for d in value.type.tensor_type.shape.dim]
                got = list(samples[0][value.name].shape)
                if len(got) != len(want) or any(w and w != g for w, g in zip(want, got)):
                    raise ValueError(f"calibration_data {calibration}: a sample of input "
                                     f"{value.name} has shape {got}, the model takes {want} "
                                     "(the file holds N x the input shape)")
        opset = next((o.version for o in source.opset_import if o.domain in ("", "ai.onnx")), 0)
        if opset < QDQ_OPSET:
            source = version_converter.convert_version(source, QDQ_OPSET)
        upgraded = target.with_name(f"{target.stem}.float.onnx")
        onnx.save(source, str(upgraded))

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self._it = iter(samples)

            def get_next(self) -> dict[str, np.ndarray] | None:
                return next(self._it, None)

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantizer warns through the root logger
        try:
            quantize_static(str(upgraded), str(target), Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8)
        except Exception as exc:  # noqa: BLE001 - the quantizer raises many types
            raise models.ModelConversionError(
                f"cannot quantize {model} to int8 with ONNX Runtime's quantizer: "
                f"{(str(exc).strip().splitlines() or [type(exc).__name__])[-1]}") from None
        finally:
            root.setLevel(level)
            upgraded.unlink(missing_ok=True)

    return _converted.converted(model, f"int8-{samples_hash}", ".onnx", build)
