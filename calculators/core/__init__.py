"""Core calculators: pass-through, flow control, gating, loops, side packets."""

from mediagraph.calculators._autoload import import_submodules

import_submodules(__name__)
