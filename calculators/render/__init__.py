"""Rendering: detections and landmarks to render data, annotation overlays."""

from mediagraph.calculators._autoload import import_submodules

import_submodules(__name__)
