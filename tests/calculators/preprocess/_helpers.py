"""Shared test helpers for the preprocess and render calculators."""

from __future__ import annotations


def error_text(error: BaseException | None) -> str:
    """Every message along the `__cause__` chain (node, then the calculator's own error)."""
    parts = []
    while error is not None:
        parts.append(str(error))
        error = error.__cause__
    return " | ".join(parts)
