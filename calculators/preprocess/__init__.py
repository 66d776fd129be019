"""Image preprocessing: transformation, color conversion, cropping, properties."""

from mediagraph.calculators._autoload import import_submodules

import_submodules(__name__)
