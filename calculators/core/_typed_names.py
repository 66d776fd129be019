"""MediaPipe's typed calculator names as registered subclasses of one generic calculator.

MediaPipe registers a C++ template instance per element type (ClipDetectionVectorSizeCalculator,
BeginLoopNormalizedRectCalculator, ...); in Python one class does the work for every type,
and each typed name is a subclass of it, so MediaPipe's graphs load unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from mediagraph import Calculator


def typed_names(base: type[Calculator], names: Iterable[str]) -> list[type[Calculator]]:
    """Register `base` again under each of `names`."""
    return [type(name, (base,), {"__doc__": f"{base.__name__} under MediaPipe's typed name "
                                            f"{name}.", "__module__": base.__module__})
            for name in names]
