"""MediaPipe's temporal filters (`mediapipe/util/filtering/`), vectorized over values.

Each filter holds the state of many scalar filters at once (one per landmark axis, or
per visibility) as numpy arrays, and `apply` steps them all with one timestamp. All of
MediaPipe's scalar filters of one calculator see the same timestamps and value scale,
so time state (last timestamp, frequency, window durations) is shared; only values are
per element.

The arithmetic follows MediaPipe's types, so results match its C++ to float rounding:
values, raw/stored states, distances and alphas are float32; the One Euro filter's
frequency, derivative and cutoff are float64; LowPassFilter's blend is
`float32(float32(alpha * x) + (1.0 - alpha) * stored)` as C++ promotes it.

Timestamps are int nanoseconds (MediaPipe converts the input timestamp's microseconds
with `absl::Microseconds`, then `ToInt64Nanoseconds`). A timestamp at or below the last
one returns the values unchanged and leaves the state alone, as MediaPipe does.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

_F32 = np.float32
_INT64_MIN = -(2 ** 63)
# RelativeVelocityFilter assumes 30 values per second for its window's time limit.
_ASSUMED_MAX_DURATION_NS = 1_000_000_000 // 30


class LowPassFilter:
    """`LowPassFilter`: out = alpha * x + (1 - alpha) * previous out; the first value passes.

    An alpha outside [0, 1] is ignored (the previous alpha stays), as MediaPipe's
    `SetAlpha` logs and ignores it.
    """

    def __init__(self, alpha: float) -> None:
        self.alpha: np.ndarray | np.float32 = _F32(alpha) if 0.0 <= alpha <= 1.0 else _F32(0.0)
        self.initialized = False
        self.raw: np.ndarray | None = None
        self.stored: np.ndarray | None = None

    def apply(self, value: np.ndarray, alpha: np.ndarray | float | None = None) -> np.ndarray:
        """Step with `value` (float32 array); `alpha` replaces the stored alpha if in range."""
        value = np.asarray(value, dtype=_F32)
        if alpha is not None:
            alpha = np.asarray(alpha, dtype=_F32)
            ok = (alpha >= 0.0) & (alpha <= 1.0)
            self.alpha = alpha if ok.all() else np.where(ok, alpha, self.alpha).astype(_F32)
        if self.initialized:
            a = self.alpha
            result = ((a * value).astype(np.float64)
                      + (1.0 - np.asarray(a, np.float64)) * self.stored).astype(_F32)
        else:
            result = value.copy()
            self.initialized = True
        self.raw = value
        self.stored = result
        return result


class OneEuroFilter:
    """`OneEuroFilter` (Casiez et al.): a low-pass whose cutoff rises with the speed.

    The frequency comes from the time between the last two values (the configured one
    until there are two); speed is the value change times `value_scale` times frequency,
    itself low-passed at `derivate_cutoff`; cutoff = min_cutoff + beta * |speed|.
    """

    def __init__(self, frequency: float, min_cutoff: float, beta: float,
                 derivate_cutoff: float) -> None:
        # MediaPipe's setters keep their (uninitialized) field for a value <= 1e-6; the
        # options check refuses such values instead, so these are always set.
        self.frequency = float(frequency)
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.derivate_cutoff = float(derivate_cutoff)
        self.x = LowPassFilter(self._alpha(self.min_cutoff))
        self.dx = LowPassFilter(self._alpha(self.derivate_cutoff))
        self.last_time = _INT64_MIN

    def _alpha(self, cutoff: np.ndarray | float) -> np.ndarray | float:
        te = 1.0 / self.frequency
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    def apply(self, timestamp_ns: int, value_scale: float, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=_F32)
        if self.last_time >= timestamp_ns:
            return value
        if self.last_time != 0 and timestamp_ns != 0:
            # MediaPipe's first call subtracts INT64_MIN (wrapping); the frequency it gets
            # only feeds the first step, whose outputs are the inputs whatever the alpha.
            elapsed = _wrap_int64(timestamp_ns - self.last_time)
            self.frequency = 1.0 / (elapsed * 1e-9)
        self.last_time = timestamp_ns
        if self.x.initialized:
            dvalue = ((value.astype(np.float64) - self.x.raw.astype(np.float64))
                      * float(_F32(value_scale)) * self.frequency)
        else:
            dvalue = np.zeros(value.shape, np.float64)
        edvalue = self.dx.apply(dvalue.astype(_F32), self._alpha(self.derivate_cutoff))
        cutoff = self.min_cutoff + self.beta * np.abs(edvalue.astype(np.float64))
        return self.x.apply(value, self._alpha(cutoff))


class RelativeVelocityFilter:
    """`RelativeVelocityFilter`: a low-pass whose alpha rises with the windowed speed.

    Speed is the sum of the last `window_size` scaled changes over their durations,
    stopping at the first that would exceed (1 + window_size) / 30 s in all (MediaPipe's
    window starts as `window_size` zero entries, so that limit is fixed from the start);
    alpha = 1 - 1 / (1 + velocity_scale * |speed|). The distance is MediaPipe's default
    legacy mode: value * scale - last_value * last_scale.
    """

    def __init__(self, window_size: int, velocity_scale: float) -> None:
        self.max_window_size = int(window_size)
        self.velocity_scale = _F32(velocity_scale)
        self.window: deque[tuple[np.ndarray | None, int]] = deque(
            [(None, 0)] * self.max_window_size)
        self.last_value: np.ndarray | None = None
        self.last_value_scale = _F32(1.0)
        self.last_timestamp = -1
        self.low_pass = LowPassFilter(1.0)

    def apply(self, timestamp_ns: int, value_scale: float, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=_F32)
        if self.last_timestamp >= timestamp_ns:
            return value
        scale = _F32(value_scale)
        if self.last_timestamp == -1:
            alpha: np.ndarray | np.float32 = _F32(1.0)
        else:
            last = self.last_value if self.last_value is not None else np.zeros_like(value)
            distance = (value * scale - last * self.last_value_scale).astype(_F32)
            duration = timestamp_ns - self.last_timestamp
            cumulative_distance = distance.copy()
            cumulative_duration = duration
            limit = (1 + len(self.window)) * _ASSUMED_MAX_DURATION_NS
            for old_distance, old_duration in self.window:
                if cumulative_duration + old_duration > limit:
                    break
                if old_distance is not None:
                    cumulative_distance += old_distance
                cumulative_duration += old_duration
            velocity = (cumulative_distance.astype(np.float64)
                        / (cumulative_duration * 1e-9)).astype(_F32)
            alpha = (_F32(1.0) - _F32(1.0) / (_F32(1.0) + self.velocity_scale
                                                * np.abs(velocity))).astype(_F32)
            self.window.appendleft((distance, duration))
            if len(self.window) > self.max_window_size:
                self.window.pop()
        self.last_value = value
        self.last_value_scale = scale
        self.last_timestamp = timestamp_ns
        return self.low_pass.apply(value, alpha)


def _wrap_int64(value: int) -> int:
    """`value` as C++'s int64 arithmetic wraps it."""
    return (value + 2 ** 63) % 2 ** 64 - 2 ** 63
