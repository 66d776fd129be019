"""Postprocess calculators: anchors, tensors to detections, non-max suppression, projection."""

from mediagraph.calculators._autoload import import_submodules

import_submodules(__name__)
