"""Output observers: callbacks and pollers, run as internal sink nodes.

Like MediaPipe's CallbackCalculator, an observer is a node with one input on the
observed stream, so callbacks run on a worker thread, one at a time per observer, in
timestamp order, and their queue takes part in back-pressure.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

from mediagraph.calculator import Calculator, CalculatorContext
from mediagraph.errors import GraphRunError
from mediagraph.packet import Packet
from mediagraph.port import Input


class CallbackSink(Calculator, register=False):
    """Calls `callback(packet)` for each packet on the observed stream."""

    stream = Input(tag="")
    timestamp_offset = None

    def __init__(self, callback: Callable[[Packet], Any]) -> None:
        self.callback = callback

    def process(self, cc: CalculatorContext) -> None:
        packet = cc.packet(self.stream)
        if packet is None:  # a bound-only call (observe_timestamp_bounds)
            packet = Packet(None, cc.input_timestamp)
        self.callback(packet)


class BoundsCallbackSink(CallbackSink, register=False):
    process_timestamp_bounds = True


OVERFLOW_POLICIES = ("wait", "drop_oldest")


class OutputStreamPoller:
    """Pulls packets from an output stream: `next(timeout=...)`, or iterate until the end.

    `next()` returns the next Packet, None once the stream has ended (or the run
    stopped), and raises TimeoutError when `timeout` seconds pass first.

    It holds at most `max_queue_size` packets (-1: no limit). When full, `overflow`
    decides: "wait" holds the poller's node back until the application reads, so the
    graph slows to the reader's pace as any full queue makes it (back-pressure); a run
    that stops meanwhile lets go at once. "drop_oldest" keeps the newest packets and
    counts each one it lets go in `dropped` (and in the profile).
    """

    def __init__(self, stream: str, max_queue_size: int = -1, overflow: str = "wait") -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, not {overflow!r}")
        if max_queue_size.__class__ is not int or not (max_queue_size > 0
                                                       or max_queue_size == -1):
            raise ValueError(f"a poller's max_queue_size must be a positive int or -1 "
                             f"(unbounded), not {max_queue_size!r}")
        self.stream = stream
        self.max_queue_size = max_queue_size
        self.overflow = overflow
        self.dropped = 0
        self._items: deque[Packet] = deque()
        self._cond = threading.Condition()
        self._done = False
        self._error: BaseException | None = None

    def _reset(self) -> None:
        with self._cond:
            self._items.clear()
            self._done = False
            self._error = None
            self.dropped = 0

    def _push(self, packet: Packet, stopping: Callable[[], bool] = lambda: False) -> None:
        with self._cond:
            limit = self.max_queue_size
            if limit > 0 and len(self._items) >= limit:
                if self.overflow == "drop_oldest":
                    self._items.popleft()
                    self.dropped += 1
                else:  # wait for the reader; a stopping run needs no more packets
                    while len(self._items) >= limit:
                        if stopping():
                            return
                        self._cond.wait(0.05)
            self._items.append(packet)
            self._cond.notify_all()

    def _finish(self, error: BaseException | None = None) -> None:
        with self._cond:
            self._done = True
            self._error = error
            self._cond.notify_all()

    def queue_size(self) -> int:
        with self._cond:
            return len(self._items)

    def next(self, timeout: float | None = None) -> Packet | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self._done:
                    if self._error is not None:
                        raise GraphRunError(f"the run stopped: {self._error}") from self._error
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no packet on '{self.stream}' within {timeout} s")
                self._cond.wait(remaining)
            packet = self._items.popleft()
            self._cond.notify_all()  # a node waiting for room
            return packet

    def __iter__(self) -> OutputStreamPoller:
        return self

    def __next__(self) -> Packet:
        packet = self.next()
        if packet is None:
            raise StopIteration
        return packet


class PollerSink(Calculator, register=False):
    """Hands each packet on the observed stream to its poller (see its overflow policy)."""

    stream = Input(tag="")
    timestamp_offset = None

    def __init__(self, poller: OutputStreamPoller,
                 stopping: Callable[[], bool] = lambda: False) -> None:
        self.poller = poller
        self.stopping = stopping  # whether the run is ending: a full poller stops waiting

    @property
    def dropped(self) -> int:  # type: ignore[override]
        return self.poller.dropped

    def process(self, cc: CalculatorContext) -> None:
        packet = cc.packet(self.stream)
        self.poller._push(packet if packet is not None else Packet(None, cc.input_timestamp),
                          self.stopping)

    def close(self, cc: CalculatorContext) -> None:
        self.poller._finish()


class BoundsPollerSink(PollerSink, register=False):
    process_timestamp_bounds = True

