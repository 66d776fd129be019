"""mediagraph's own calculators, grouped by stage; importing this registers them."""

from calculators import core  # noqa: F401
