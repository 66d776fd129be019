"""Checks shared by the image calculators: what a port received, named in the error."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mediagraph.formats import ImageFormat, ImageFrame


def expect_image(value: Any, port: str, formats: Iterable[ImageFormat] | None = None) -> ImageFrame:
    """`value` as an ImageFrame in one of `formats`, or a TypeError/ValueError naming `port`."""
    if not isinstance(value, ImageFrame):
        raise TypeError(f"input {port} needs an ImageFrame, got {type(value).__name__}")
    if formats is not None:
        allowed = tuple(formats)
        if value.format not in allowed:
            names = " or ".join(f.name for f in allowed)
            raise ValueError(f"input {port} needs a {names} image, got {value!r}")
    return value


def positive_size(width: Any, height: Any, what: str) -> tuple[int, int]:
    """(width, height) as ints, both at least 1, or a ValueError naming `what`."""
    try:
        w, h = int(width), int(height)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be two integers (width, height), "
                         f"got {width!r}, {height!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"{what} must be positive, got {w}x{h}")
    return w, h


def get_optional(cc: Any, port: Any) -> Any:
    """An optional input's value, None when absent or not connected.

    `cc.get` raises for an input the config left unconnected (reported to the lead);
    optional side inputs and outputs already read as absent.
    """
    return cc.get(port) if cc.connected(port) else None
