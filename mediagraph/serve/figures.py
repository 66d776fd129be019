"""Live figures the server reports: a rate over the last seconds and recent percentiles.

Both are updated and read on the event loop only (no locks). Time comes from a clock
function (`time.monotonic` by default) so tests can step it.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable

from mediagraph.profiler import percentile


class Rate:
    """Events per second over the last `window_s` seconds."""

    def __init__(self, window_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self.count = 0
        self._times: deque[float] = deque()

    def tick(self) -> None:
        self.count += 1
        self._times.append(self.clock())
        self._trim()

    def per_second(self) -> float:
        self._trim()
        if len(self._times) < 2:
            return 0.0
        now = self.clock()
        span = min(self.window_s, now - self._times[0]) or self.window_s
        return len(self._times) / max(span, 1e-3)

    def _trim(self) -> None:
        horizon = self.clock() - self.window_s
        while self._times and self._times[0] < horizon:
            self._times.popleft()


class Recent:
    """The last `size` durations (milliseconds) and their p50/p95."""

    def __init__(self, size: int = 300) -> None:
        self.values: deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, ms: float) -> None:
        self.count += 1
        self.values.append(ms)

    def summary(self) -> dict[str, float | int]:
        values = list(self.values)
        return {"count": self.count, "p50_ms": round(percentile(values, 0.5), 2),
                "p95_ms": round(percentile(values, 0.95), 2)}
