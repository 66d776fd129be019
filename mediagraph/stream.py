"""Bounded input queues and the output streams that feed them.

Every consumer of a stream has its own `InputQueue` (fan-out copies references, never
payloads). A queue's `bound` is the lowest timestamp a future packet may carry; the
queue is *full* at `max_size` packets, which holds back the node that feeds it (unless the
queue is a back edge) and throttles the sources and graph inputs upstream
(wait-till-not-full) instead of dropping. Depth peaks and drops are counted
for the profiler. All fields are guarded by the run's lock; they are plain attributes
(no properties) because the scheduler touches them per packet.

`OutputStream.add` is the one place a packet enters consumers' queues, from a node or a
graph input: it checks the timestamp, appends to every queue, raises their bounds, and
tells the scheduler which queue filled and which nodes have something new.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from mediagraph.packet import Packet
from mediagraph.timestamp import Timestamp

UNBOUNDED = 1 << 62
DONE = int(Timestamp.DONE)
_MIN = int(Timestamp.MIN)
_MAX = int(Timestamp.MAX)
_PRE = int(Timestamp.PRE_STREAM)
_POST = int(Timestamp.POST_STREAM)
_ONE_OVER = int(Timestamp.ONE_OVER_POST_STREAM)


def next_bound(ts: int) -> int:
    """The bound after a packet at `ts` (MediaPipe's NextAllowedInStream)."""
    if _MIN <= ts < _MAX:
        return ts + 1
    return _ONE_OVER


class InputQueue:
    """One consumer's queue on one stream."""

    __slots__ = ("packets", "bound", "max_size", "node", "slot", "stream", "peak", "full",
                 "back_edge", "dropped", "seen_bound", "producer", "trim")

    def __init__(self, node: Any, slot: int, stream: str, max_size: int, back_edge: bool) -> None:
        self.packets: deque[Packet] = deque()
        self.bound = _MIN - 1  # PRE_STREAM is still possible
        self.max_size = max_size if max_size > 0 else UNBOUNDED
        self.node = node
        self.slot = slot
        self.stream = stream
        self.peak = 0
        self.full = False
        self.back_edge = back_edge
        self.dropped = 0
        self.seen_bound = self.bound  # the bound the handler last acted on
        self.producer: Any = None  # the node runtime that feeds it (None: a graph input)
        self.trim: Callable[[], None] | None = None  # a handler that drops as packets arrive

    def next_timestamp(self) -> int:
        """The lowest timestamp this input can still deliver (DONE when finished)."""
        packets = self.packets
        return packets[0][1] if packets else self.bound

    def __repr__(self) -> str:
        return f"InputQueue({self.stream!r} -> {self.node!r}[{self.slot}], {len(self.packets)} queued)"


class OutputStream:
    """A stream's producing end: checks timestamps and fans packets out to consumers.

    `on_full(queue)` is called when a packet fills a consumer's queue (the scheduler
    throttles what feeds it); `touched` lists collect the consuming nodes to check.
    """

    __slots__ = ("name", "consumers", "bound", "producer", "slot", "packets_sent", "closed",
                 "last_timestamp", "check", "on_full")

    def __init__(self, name: str, producer: Any, slot: int,
                 on_full: Callable[[InputQueue], None], check: Any = None) -> None:
        self.name = name
        self.consumers: list[InputQueue] = []
        self.bound = _MIN - 1
        self.producer = producer  # a node runtime, or None for a graph input stream
        self.slot = slot
        self.packets_sent = 0
        self.closed = False
        self.last_timestamp: int | None = None
        self.check = check  # isinstance() target for sent values (port.runtime_check); None: any
        self.on_full = on_full

    def add(self, packet: Packet, touched: list[Any]) -> bool:
        """Append `packet` to every consumer's queue and move the bound past it; False,
        with nothing sent, when its timestamp is not above the bound or not allowed."""
        pts = packet[1]
        bound = self.bound
        if _MIN <= pts < _MAX and pts >= bound:
            nb = pts + 1
        elif pts >= bound and (pts == _MAX or pts == _PRE or pts == _POST):
            nb = next_bound(pts)
        else:
            return False
        self.bound = nb
        self.last_timestamp = pts
        self.packets_sent += 1
        for q in self.consumers:
            packets = q.packets
            packets.append(packet)
            q.bound = nb
            n = len(packets)
            if n > q.peak:
                q.peak = n
            if n >= q.max_size and not q.full:
                self.on_full(q)
            if q.trim is not None:
                q.trim()
            touched.append(q.node)
        return True

    def raise_bound(self, bound: int, touched: list[Any]) -> None:
        """Promise nothing below `bound` (DONE: the stream ended); consumers whose bound
        moved go on `touched`."""
        if bound <= self.bound:
            return
        self.bound = bound
        for q in self.consumers:
            if bound > q.bound:
                q.bound = bound
                touched.append(q.node)
