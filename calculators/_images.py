"""Checks shared by the image calculators (preprocess, render, postprocess): what a port
received, named in the error."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

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


def mask_plane(value: Any, what: str, *, float_only: bool = False) -> np.ndarray:
    """A mask (VEC32F1 ImageFrame, HxW or HxWx1 array) as an HxW array, or an error naming
    `what` ("input MASK"); `float_only` also refuses integer arrays."""
    if isinstance(value, ImageFrame):
        if value.format != ImageFormat.VEC32F1:
            raise ValueError(f"{what} needs a VEC32F1 image or an HxW float array, got {value!r}")
        return value.data[:, :, 0]
    if not isinstance(value, np.ndarray) or (
            float_only and not np.issubdtype(value.dtype, np.floating)):
        raise TypeError(f"{what} needs an HxW float array or a VEC32F1 ImageFrame, got "
                        f"{type(value).__name__}")
    if value.ndim == 3 and value.shape[2] == 1:
        value = value[:, :, 0]
    if value.ndim != 2 or value.size == 0:
        raise ValueError(f"{what} needs an HxW array, got shape {value.shape}")
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


ANY_FORMAT = tuple(ImageFormat)
"""`formats=` for an image input that only passes frames on or reads their size."""
