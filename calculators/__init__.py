"""mediagraph's own calculators, grouped by stage; importing this registers them.

Media and inference libraries load lazily inside the calculators that use them, so
importing every stage costs little and needs only the core dependencies.
"""

from mediagraph.calculators import audio, core, io, postprocess, preprocess, render  # noqa: F401
from mediagraph.calculators import inference  # noqa: F401
