"""Inference calculators: run TFLite and ONNX models on CPU, GPU or the Hexagon DSP, and on
OpenVINO, MNN and ncnn (one backend module each: `_openvino`, `_mnn`, `_ncnn`)."""

from mediagraph.calculators._autoload import import_submodules

import_submodules(__name__)
