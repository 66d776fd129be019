"""Run a graph from asyncio: `async with graph.arun(...) as run:`.

An app that lives in an event loop (aiohttp, FastAPI, a Jupyter kernel) must never block
it. The graph keeps running on its own threads; this module only bridges:

- `await run.add_packet(...)` hands the blocking add to one feeder thread, so a full
  graph holds back the awaiting task (back-pressure) and never the loop; packets keep
  their order.
- Each read stream is an asyncio queue filled by the stream's observer through
  `loop.call_soon_threadsafe`, the only way the graph's threads touch the loop. The
  observer waits (on its own thread, with a way out) while the reader is `limit`
  packets behind: an unread stream holds the graph back as any full queue does.
- A watcher thread waits for the run's end and tells the loop; `await run.wait()` then
  raises the run's error, as `async for` does at a stream's end.
- Leaving the block closes the inputs and awaits the run; leaving it by an exception or
  a cancelled task cancels the run, which closes every opened node, then re-raises.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Callable

from mediagraph.packet import Packet

_END = object()  # a stream's queue: no more packets
_POLL_S = 0.05   # how often a waiting observer looks for a way out


class AsyncRun:
    """One run of a graph driven from an event loop (made by `Graph.arun`; `graph` is
    that Graph, untyped here so that the framework's spine does not import back)."""

    def __init__(self, graph: Any, side_packets: Mapping[str, Any] | None,
                 streams: Iterable[str]) -> None:
        self.graph = graph
        self._side_packets = dict(side_packets or {})
        self._names = list(dict.fromkeys(streams))
        limit = graph.spec.max_queue_size
        self._limit = limit if limit and limit > 0 else 1 << 30
        self._queues: dict[str, asyncio.Queue[Any]] = {}
        self._room: dict[str, threading.Semaphore] = {}
        self._callbacks: list[Callable[[Packet], None]] = []
        self._feeder: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Future[None] | None = None
        self._let_go = threading.Event()  # observers stop waiting for readers
        self._run: Any = None

    # -- the block -------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncRun:
        loop = self._loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        for name in self._names:
            self.graph._check_stream(name)
            self._queues[name] = asyncio.Queue()
            self._room[name] = threading.Semaphore(self._limit)
            callback = functools.partial(self._deliver, name)
            self.graph.observe_output_stream(name, callback)
            self._callbacks.append(callback)
        self._feeder = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="mediagraph-aio-feeder")
        try:
            # start_run opens every node (models load): off the loop
            await loop.run_in_executor(self._feeder, self.graph.start_run, self._side_packets)
        except BaseException:
            self._detach()
            raise
        self._run = self.graph._run
        threading.Thread(target=self._watch, name="mediagraph-aio-watcher", daemon=True).start()
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if exc is None:
                self.close_all_inputs()
                self._let_go.set()  # the block is over: nobody reads any more
                await self.wait()
            else:
                await self._cancel()
        finally:
            self._detach()

    async def _cancel(self) -> None:
        """Cancel the run and wait for every opened node to close, even while this task
        is being cancelled (the wait is shielded)."""
        self._let_go.set()
        assert self._loop is not None
        stopping = self._loop.run_in_executor(None, self.graph.cancel, 30.0)
        try:
            await asyncio.shield(stopping)
        except asyncio.CancelledError:
            await asyncio.wait_for(asyncio.shield(stopping), 30.0)
            raise

    def _detach(self) -> None:
        self._let_go.set()
        self.graph._forget_observers(self._callbacks)
        if self._feeder is not None:
            self._feeder.shutdown(wait=False, cancel_futures=True)

    # -- feeding ---------------------------------------------------------------------------

    async def add_packet(self, stream: str, value: Any, timestamp: int | None = None, *,
                         mode: str = "wait") -> bool:
        """Add a packet to a graph input stream. With mode "wait" this awaits room (the
        loop runs on); "add_if_not_full" returns False at once when the stream is full
        and counts the drop (a live source that must not fall behind)."""
        if mode == "add_if_not_full":
            return self.graph.add_packet(stream, value, timestamp, mode=mode)
        assert self._loop is not None and self._feeder is not None
        return await self._loop.run_in_executor(
            self._feeder, functools.partial(self.graph.add_packet, stream, value, timestamp,
                                            mode=mode))

    def close_input(self, stream: str) -> None:
        self.graph.close_input_stream(stream)

    def close_all_inputs(self) -> None:
        if self._run is not None and not self._run.finished:
            self.graph.close_all_inputs()

    # -- reading ---------------------------------------------------------------------------

    def stream(self, name: str) -> AsyncIterator[Packet]:
        """The packets of output stream `name`, in timestamp order, until it ends; at the
        end the run's error, if it failed, is raised here too."""
        if name not in self._queues:
            raise KeyError(f"stream '{name}' is not read by this run; name it in "
                           f"graph.arun(streams=[...]) (read: {', '.join(self._names) or 'none'})")
        return self._packets(name)

    async def _packets(self, name: str) -> AsyncIterator[Packet]:
        queue, room = self._queues[name], self._room[name]
        while True:
            item = await queue.get()
            if item is _END:
                await self.wait()
                return
            room.release()
            yield item

    async def wait(self) -> None:
        """Await the end of the run; raise its error (CalculatorError, GraphCancelled...)."""
        assert self._done is not None and self._loop is not None
        await asyncio.shield(self._done)
        # the run is over: this returns at once, joining threads and raising the error
        await self._loop.run_in_executor(None, self.graph.wait_until_done, 30.0)

    @property
    def done(self) -> bool:
        return self._done is not None and self._done.done()

    # -- the graph's side (its threads) ----------------------------------------------------

    def _deliver(self, name: str, packet: Packet) -> None:
        """An observer on a worker thread: wait for room in the reader's queue (or for a
        way out), then hand the packet to the loop."""
        room, run = self._room[name], self._run
        while not room.acquire(timeout=_POLL_S):
            if self._let_go.is_set() or (run is not None and run.stopping):
                return
        self._post(self._queues[name].put_nowait, packet)

    def _watch(self) -> None:
        """Wait for the run's end on a plain thread, then end the streams on the loop."""
        run = self._run
        while not run.wait_done(1.0):
            pass
        self._post(self._finish)

    def _finish(self) -> None:
        for queue in self._queues.values():
            queue.put_nowait(_END)
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _post(self, callback: Callable[..., Any], *args: Any) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is left to tell
            pass
