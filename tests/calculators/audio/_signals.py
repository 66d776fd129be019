"""Test signals and feeds shared by the audio calculator tests."""

from __future__ import annotations

import numpy as np

from mediagraph.formats import AudioFrame


def tone(hz: float, rate: int, seconds: float, amplitude: float = 0.5,
         channels: int = 1) -> np.ndarray:
    """A sine, samples x channels float32."""
    t = np.arange(round(rate * seconds)) / rate
    mono = amplitude * np.sin(2 * np.pi * hz * t)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def feed(samples: np.ndarray, rate: int, sizes, t0: int = 0) -> list[tuple[AudioFrame, int]]:
    """Split `samples` into frames of `sizes` (an int or a list), timestamped exactly."""
    if isinstance(sizes, int):
        sizes = [sizes] * (-(-len(samples) // sizes))
    out, start = [], 0
    for size in sizes:
        if start >= len(samples):
            break
        out.append((AudioFrame(samples[start:start + size], rate),
                    t0 + start * 1_000_000 // rate))
        start += size
    return out


def joined(packets) -> np.ndarray:
    return np.concatenate([p.value.to_ndarray() for p in packets])
