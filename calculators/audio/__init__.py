"""Audio processing: resampling, framing, spectrograms, levels."""

from mediagraph.calculators._autoload import import_submodules

import_submodules(__name__)
