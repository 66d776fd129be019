"""Inference calculators: run TFLite and ONNX models on CPU, GPU or the Hexagon DSP."""

from mediagraph.calculators._autoload import import_submodules

import_submodules(__name__)
