"""One live client: a WebSocket of camera frames in, annotated frames and results out.

Each connection gets its own graph run (`Graph.arun`) for its whole life, so clients
share nothing but the CPU. The protocol, both ways binary frames led by a little-endian
uint32 frame number (the packet timestamp, strictly increasing):

    client -> server  [seq][JPEG or PNG bytes]          a camera frame
    server -> client  [seq][JPEG bytes]                  the graph's image output for it
                      {"type": "result", "seq", "stream", "value"}   other outputs (JSON)
                      {"type": "stats", ...}             every second: figures, node busy time
                      {"type": "error", "message", "seq"?}           a bad frame, a failed run

Flow, and why a slow client only hurts itself: frames that arrive while `depth` frames
are already in the graph replace each other in a one-frame inbox (the newest wins; each
replaced frame counts as dropped), so the graph never queues behind the camera. Outputs
wait in a one-image outbox (a newer image replaces an unsent one, counted) and a bounded
result queue, written by one sender task: a client that reads slowly holds back only
its own sender, never the graph's readers, its run, or another client.

Every wait ends: a frame the graph never answers is given up after `stall_s`, and the
run's drain after the client leaves is bounded by `drain_s` (then it is cancelled).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import struct
import time
from collections import deque
from typing import Any

from mediagraph.formats import ImageFrame
from mediagraph.serve.figures import Rate, Recent
from mediagraph.serve.images import BadImage, decode_image, encode_jpeg
from mediagraph.serve.results import OMIT, to_json

HEADER = struct.Struct("<I")
_ids = itertools.count(1)


class LiveSession:
    """A graph run serving one WebSocket (see the module docstring for the protocol)."""

    def __init__(self, graph: Any, input_stream: str, *, depth: int = 2, quality: int = 80,
                 stall_s: float = 5.0, drain_s: float = 10.0) -> None:
        self.id = next(_ids)
        self.graph = graph
        self.input_stream = input_stream
        self.streams = list(graph.output_streams)
        self.depth = depth
        self.quality = quality
        self.stall_s = stall_s
        self.drain_s = drain_s
        self.received = 0
        self.dropped_in = 0    # replaced in the inbox by a newer frame
        self.dropped_out = 0   # an output image replaced before the client took it
        self.bad_frames = 0
        self.lost = 0          # fed, but never answered within stall_s
        self.processed = Rate()
        self.server_ms = Recent()
        self.started = time.monotonic()
        self.error: BaseException | None = None
        self._last_seq = -1
        self._inbox: tuple[int, bytes, float] | None = None
        self._inbox_ready = asyncio.Event()
        self._pending: dict[int, float] = {}  # seq -> when it arrived, while in the graph
        self._room = asyncio.Event()
        self._room.set()
        self._image_out: tuple[int, bytes] | None = None
        self._text_out: deque[str] = deque(maxlen=256)
        self._out_ready = asyncio.Event()
        self._progress = self._progress_stream()

    def _progress_stream(self) -> str:
        """The output whose packet at a frame's timestamp says the frame is done: the first
        image output (an image graph answers every frame there), else the first output."""
        for name in self.streams:
            if "video" in name or "image" in name:
                return name
        return self.streams[0]

    # -- the connection ----------------------------------------------------------------------

    async def serve(self, ws: Any) -> None:
        """Run the graph for `ws` (an aiohttp WebSocketResponse) until the client leaves.
        A failed run is told to the client and kept in `error`; this never raises for it."""
        from aiohttp import WSMsgType

        sender = asyncio.ensure_future(self._send(ws))
        tasks: list[asyncio.Future[Any]] = [sender]
        try:
            async with self.graph.arun(streams=self.streams) as run:
                readers = [asyncio.ensure_future(self._read(run, name)) for name in self.streams]
                receiving = asyncio.ensure_future(self._receive(ws, WSMsgType))
                helpers = [receiving, asyncio.ensure_future(self._feed(run)),
                           asyncio.ensure_future(self._tick())]
                tasks += readers + helpers
                # the client leaving, or the run failing (a reader raises), ends the session
                await asyncio.wait([receiving, *readers], return_when=asyncio.FIRST_COMPLETED)
                for task in helpers:
                    task.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                failed = [r for r in readers if r.done() and r.exception() is not None]
                if failed:
                    raise failed[0].exception()
                run.close_all_inputs()
                await asyncio.wait_for(asyncio.gather(*readers), self.drain_s)
        except Exception as exc:  # noqa: BLE001 - the client hears why, then the socket closes
            self.error = exc
            self._say({"type": "error", "message": f"the graph run failed: {exc}"})
        finally:
            for task in tasks:  # on every way out, cancellation included: none left behind
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if not ws.closed and self._text_out:  # what is still unsaid (the error)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._flush_to(ws), 1.0)

    async def _receive(self, ws: Any, kinds: Any) -> None:
        async for message in ws:
            if message.type == kinds.BINARY:
                self._take(message.data)
            elif message.type == kinds.TEXT:
                self._say({"type": "error", "message": "send frames as binary messages: a "
                           "little-endian uint32 frame number, then JPEG or PNG bytes"})
            elif message.type == kinds.ERROR:
                return

    def _take(self, data: bytes) -> None:
        if len(data) <= HEADER.size:
            self._say({"type": "error", "message": f"a frame message of {len(data)} bytes: "
                       "it needs a uint32 frame number and then the image"})
            return
        (seq,) = HEADER.unpack_from(data)
        if seq <= self._last_seq:
            self._say({"type": "error", "seq": seq, "message": f"frame {seq} after frame "
                       f"{self._last_seq}: frame numbers must increase"})
            return
        self._last_seq = seq
        self.received += 1
        if self._inbox is not None:
            self.dropped_in += 1
        self._inbox = (seq, data[HEADER.size:], time.monotonic())
        self._inbox_ready.set()

    # -- into the graph ----------------------------------------------------------------------

    async def _feed(self, run: Any) -> None:
        while True:
            await self._inbox_ready.wait()
            await self._wait_for_room()
            self._inbox_ready.clear()
            if self._inbox is None:
                continue
            seq, data, arrived = self._inbox
            self._inbox = None
            try:
                frame = await asyncio.to_thread(decode_image, data)
            except BadImage as exc:
                self.bad_frames += 1
                self._say({"type": "error", "seq": seq, "message": f"frame {seq}: {exc}"})
                continue
            self._pending[seq] = arrived
            if len(self._pending) >= self.depth:
                self._room.clear()
            await run.add_packet(self.input_stream, frame, seq)

    async def _wait_for_room(self) -> None:
        while len(self._pending) >= self.depth:
            try:
                await asyncio.wait_for(self._room.wait(), self.stall_s)
            except asyncio.TimeoutError:
                oldest = min(self._pending)  # the graph dropped it: stop waiting for it
                del self._pending[oldest]
                self.lost += 1

    def _done_up_to(self, seq: int) -> None:
        now = time.monotonic()
        for key in [k for k in self._pending if k <= seq]:
            arrived = self._pending.pop(key)
            if key == seq:
                self.processed.tick()
                self.server_ms.add((now - arrived) * 1e3)
        if len(self._pending) < self.depth:
            self._room.set()

    # -- out of the graph ----------------------------------------------------------------------

    async def _read(self, run: Any, name: str) -> None:
        async for packet in run.stream(name):
            seq = int(packet.timestamp)
            value = packet.value
            if isinstance(value, ImageFrame):
                if name == self._progress:
                    jpeg = await asyncio.to_thread(encode_jpeg, value, self.quality)
                    if self._image_out is not None:
                        self.dropped_out += 1
                    self._image_out = (seq, HEADER.pack(seq) + jpeg)
                    self._out_ready.set()
            else:
                encoded = to_json(value)
                if encoded is not OMIT:
                    self._say({"type": "result", "seq": seq, "stream": name, "value": encoded})
            if name == self._progress:
                self._done_up_to(seq)

    def _say(self, message: dict[str, Any]) -> None:
        self._text_out.append(json.dumps(message))
        self._out_ready.set()

    async def _send(self, ws: Any) -> None:
        while True:
            await self._out_ready.wait()
            self._out_ready.clear()
            await self._flush_to(ws)

    async def _flush_to(self, ws: Any) -> None:
        while self._text_out:
            await ws.send_str(self._text_out.popleft())
        if self._image_out is not None:
            _, message = self._image_out
            self._image_out = None
            await ws.send_bytes(message)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._say({"type": "stats", **self.stats(nodes=True)})

    # -- figures -----------------------------------------------------------------------------

    def stats(self, nodes: bool = False) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "session": self.id, "age_s": round(time.monotonic() - self.started, 1),
            "received": self.received, "processed": self.processed.count,
            "fps": round(self.processed.per_second(), 2), "dropped_in": self.dropped_in,
            "dropped_out": self.dropped_out, "lost": self.lost, "bad_frames": self.bad_frames,
            "server_latency": self.server_ms.summary()}
        if nodes:
            figures["nodes"] = node_busy(self.graph)
        return figures


def node_busy(graph: Any) -> list[dict[str, Any]]:
    """Per-node counters of the graph's current (or last) run, for the page's picture."""
    try:
        profile = graph.profile()
    except Exception:  # noqa: BLE001 - no run yet
        return []
    names = {node.name for node in graph.spec.nodes}
    return [{"name": row.name, "calculator": row.calculator, "calls": row.calls,
             "busy_ms": round(row.busy_ms, 2), "mean_us": round(row.mean_us, 1),
             "p95_us": round(row.p95_us, 1), "dropped": row.dropped}
            for row in profile.nodes if row.name in names]
