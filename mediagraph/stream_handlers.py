"""Input stream handlers: when a node runs, and with which packets.

Each is a small strategy over the node's input queues, chosen by MediaPipe's names:

- DefaultInputStreamHandler: process at the lowest timestamp that is *settled* on all
  inputs (every input has a packet there or a bound past it). Deterministic, no drops;
  absent inputs read as None.
- ImmediateInputStreamHandler: process each packet as soon as it arrives; inputs are
  not synchronized, so input timestamps may go down across streams.
- FixedSizeInputStreamHandler: Default, but when any queue exceeds `trigger_queue_size`
  the oldest timestamps are dropped (from all inputs) down to `target_queue_size`;
  drops are counted.
- SyncSetInputStreamHandler: Default within each sync set; sets run independently.
- MuxInputStreamHandler / BarrierInputStreamHandler: aliases with Default semantics for
  configs that name them (MergeCalculator picks the first present input).

`select()` returns the timestamp of the next input set or None; `fill(ts, inputs)`
moves the packets at `ts` into `inputs` (indexed by input slot). Both run under the
run's lock.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mediagraph.config import pool
from mediagraph.config.names import parse_tag_index
from mediagraph.errors import GraphConfigError
from mediagraph.stream import InputQueue


class InputStreamHandler:
    name: ClassVar[str] = ""
    trims_on_push: ClassVar[bool] = False

    def __init__(self, queues: list[InputQueue], options: Any, bindings: list[Any]) -> None:
        self.queues = queues

    def select(self) -> int | None:
        raise NotImplementedError

    def fill(self, ts: int, inputs: list[Any]) -> None:
        for q in self.queues:
            packets = q.packets
            if packets and packets[0][1] == ts:
                inputs[q.slot] = packets.popleft()
            else:
                inputs[q.slot] = None

    def settled(self) -> int:
        """The lowest timestamp any input can still deliver."""
        return min(q.next_timestamp() for q in self.queues)

    def trim(self) -> None:
        """Apply the policy's drops, each counted on its queue (`InputQueue.dropped`)."""


class DefaultInputStreamHandler(InputStreamHandler):
    name = "DefaultInputStreamHandler"

    def select(self) -> int | None:
        queues = self.queues
        if len(queues) == 1:
            packets = queues[0].packets
            return packets[0][1] if packets else None
        return _settled_min(queues)


def _settled_min(queues: list[InputQueue]) -> int | None:
    lowest = None
    for q in queues:
        if q.packets:
            ts = q.packets[0][1]
            if lowest is None or ts < lowest:
                lowest = ts
    if lowest is None:
        return None
    for q in queues:
        if not q.packets and q.bound <= lowest:
            return None  # a packet at `lowest` may still arrive here
    return lowest


class ImmediateInputStreamHandler(InputStreamHandler):
    name = "ImmediateInputStreamHandler"

    def select(self) -> int | None:
        lowest = None
        for q in self.queues:
            if q.packets:
                ts = q.packets[0][1]
                if lowest is None or ts < lowest:
                    lowest = ts
        return lowest


class FixedSizeInputStreamHandler(DefaultInputStreamHandler):
    name = "FixedSizeInputStreamHandler"
    trims_on_push = True

    def __init__(self, queues: list[InputQueue], options: Any, bindings: list[Any]) -> None:
        super().__init__(queues, options, bindings)
        opts = _extension(options, "mediapipe.FixedSizeInputStreamHandlerOptions")
        self.trigger = opts.trigger_queue_size if opts is not None else 2
        self.target = opts.target_queue_size if opts is not None else 1
        if self.target < 1 or self.trigger < self.target:
            raise GraphConfigError(f"FixedSizeInputStreamHandler needs 1 <= target_queue_size "
                                   f"({self.target}) <= trigger_queue_size ({self.trigger})")

    def select(self) -> int | None:
        self.trim()
        return super().select()

    def trim(self) -> None:
        """Drop the oldest timestamps from every input until each holds <= target.

        Each dropped packet is counted once, on its queue (`InputQueue.dropped`, which
        `Graph.profile()` sums per node).
        """
        queues = self.queues
        if max(len(q.packets) for q in queues) <= self.trigger:
            return
        while max(len(q.packets) for q in queues) > self.target:
            oldest = min(q.packets[0][1] for q in queues if q.packets)
            for q in queues:
                if q.packets and q.packets[0][1] == oldest:
                    q.packets.popleft()
                    q.dropped += 1


class SyncSetInputStreamHandler(InputStreamHandler):
    name = "SyncSetInputStreamHandler"

    def __init__(self, queues: list[InputQueue], options: Any, bindings: list[Any]) -> None:
        super().__init__(queues, options, bindings)
        opts = _extension(options, "mediapipe.SyncSetInputStreamHandlerOptions")
        by_key = {(b.tag, b.index): q for b, q in zip(bindings, queues)}
        sets: list[list[InputQueue]] = []
        used: set[int] = set()
        for sync_set in (opts.sync_set if opts is not None else ()):
            members = []
            for text in sync_set.tag_index:
                key = parse_tag_index(text)
                if key not in by_key:
                    raise GraphConfigError(f"SyncSetInputStreamHandler: sync set names "
                                           f"'{text}', which is not an input of this node")
                if id(by_key[key]) in used:
                    raise GraphConfigError(f"SyncSetInputStreamHandler: '{text}' is in two "
                                           "sync sets")
                used.add(id(by_key[key]))
                members.append(by_key[key])
            if members:
                sets.append(members)
        rest = [q for q in queues if id(q) not in used]
        if rest:
            sets.append(rest)
        self.sets = sets
        self._chosen: list[InputQueue] = queues

    def select(self) -> int | None:
        best = None
        for members in self.sets:
            ts = _settled_min(members)
            if ts is not None and (best is None or ts < best):
                best, self._chosen = ts, members
        return best

    def fill(self, ts: int, inputs: list[Any]) -> None:
        for q in self.queues:
            inputs[q.slot] = None
        for q in self._chosen:
            if q.packets and q.packets[0][1] == ts:
                inputs[q.slot] = q.packets.popleft()


class MuxInputStreamHandler(DefaultInputStreamHandler):
    name = "MuxInputStreamHandler"


class BarrierInputStreamHandler(DefaultInputStreamHandler):
    name = "BarrierInputStreamHandler"


HANDLERS: dict[str, type[InputStreamHandler]] = {
    cls.name: cls for cls in (DefaultInputStreamHandler, ImmediateInputStreamHandler,
                              FixedSizeInputStreamHandler, SyncSetInputStreamHandler,
                              MuxInputStreamHandler, BarrierInputStreamHandler)
}


def _extension(options: Any, full_name: str) -> Any:
    if options is None:
        return None
    ext = pool.find_extension(f"{full_name}.ext")
    if ext is not None and options.HasExtension(ext):
        return options.Extensions[ext]
    return None
