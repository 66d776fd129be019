"""Warm graphs for one-image requests: `--workers` validated graphs, one run each at a time.

A request borrows a graph, runs it once over its image (`run_once`: one packet in, every
output stream read to its end) and gives it back. A graph is validated once, when the
pool is made, and warmed by one run, so a request pays only for a run's open (models
come from the process's cache) and its frame. Requests beyond `size` wait for a free
graph, at most `wait_s`; then `PoolBusy` (the route answers 503), so a burst never
piles up unbounded work.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Callable

from mediagraph.packet import Packet


class PoolBusy(RuntimeError):
    """Every graph stayed busy for the whole wait."""


class GraphPool:
    """`size` graphs made by `make_graph()`, lent one request at a time."""

    def __init__(self, make_graph: Callable[[], Any], size: int, *, wait_s: float = 30.0) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one graph, not {size}")
        self.size = size
        self.wait_s = wait_s
        self.graphs = [make_graph() for _ in range(size)]
        self._free: asyncio.Queue[Any] | None = None
        self.last: Any = None  # the graph that ran most recently (for its profile)

    def _queue(self) -> asyncio.Queue[Any]:
        if self._free is None:  # made on the loop that uses it
            self._free = asyncio.Queue()
            for graph in self.graphs:
                self._free.put_nowait(graph)
        return self._free

    @property
    def idle(self) -> int:
        return self._queue().qsize()

    @contextlib.asynccontextmanager
    async def borrow(self) -> AsyncIterator[Any]:
        free = self._queue()
        try:
            graph = await asyncio.wait_for(free.get(), self.wait_s)
        except asyncio.TimeoutError:
            raise PoolBusy(f"all {self.size} graphs stayed busy for {self.wait_s:g} s; "
                           "retry later or start the server with more --workers") from None
        try:
            yield graph
        finally:
            self.last = graph
            free.put_nowait(graph)


async def run_once(graph: Any, input_stream: str, value: Any,
                   streams: list[str]) -> dict[str, list[Packet]]:
    """Run `graph` over one packet (timestamp 0) and return every packet of `streams`."""
    async def collect(run: Any, name: str) -> list[Packet]:
        return [packet async for packet in run.stream(name)]

    async with graph.arun(streams=streams) as run:
        await run.add_packet(input_stream, value, 0)
        run.close_all_inputs()
        collected = await asyncio.gather(*(collect(run, name) for name in streams))
        await run.wait()
    return dict(zip(streams, collected))
