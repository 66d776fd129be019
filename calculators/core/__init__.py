"""Core calculators: pass-through, flow control, gating, loops, side packets."""

from calculators.core import pass_through  # noqa: F401
