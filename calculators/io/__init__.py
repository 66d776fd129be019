"""Media in and out: video, image, camera and audio decoders, encoders and devices."""

from mediagraph.calculators._autoload import import_submodules

import_submodules(__name__)
