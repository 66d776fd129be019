"""The aiohttp application: the page, the live WebSocket, and the endpoints for apps.

    GET  /            the page (package data: static/index.html, static/page.js)
    GET  /ws          the live WebSocket (mediagraph.serve.live), one graph run each
    POST /process     one JPEG or PNG body -> {stream: [values...]} (?images=1 keeps images)
    GET  /graph       the config (pbtxt), its streams, and the picture as nodes and edges
    GET  /stats       live sessions, /process figures, per-node busy time

Every error answer is JSON, `{"error": "..."}` with the reason: 400 for a bad image,
413 for a body over `max_body`, 503 when every pooled graph stayed busy, 504 when a run
took longer than `request_timeout_s`, 500 when the graph itself failed.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from mediagraph.formats import ImageFrame
from mediagraph.serve.figures import Rate, Recent
from mediagraph.serve.images import BadImage, decode_image
from mediagraph.serve.live import LiveSession, node_busy
from mediagraph.serve.pool import GraphPool, PoolBusy, run_once
from mediagraph.serve.results import OMIT, to_json

log = logging.getLogger("mediagraph.serve")

STATIC_FILES = {"index.html": "text/html", "page.js": "text/javascript"}


@dataclass(frozen=True)
class ServeOptions:
    workers: int = 2             # warm graphs for /process
    max_body: int = 10 * 1024 * 1024
    request_timeout_s: float = 30.0
    depth: int = 2               # frames of one live client inside its graph at once
    quality: int = 80            # JPEG quality of the frames sent back
    max_sessions: int = 16       # live clients at once (each holds a graph run)


class Server:
    """What the routes share: the graph factory, the pool, the live sessions, figures."""

    def __init__(self, make_graph: Callable[[], Any], options: ServeOptions,
                 name: str = "") -> None:
        self.make_graph = make_graph
        self.options = options
        self.graph = make_graph()  # validated now: a broken config fails before serving
        self.name = name or os.path.basename(str(self.graph.spec.source or "graph"))
        self.input_stream = single_image_input(self.graph)
        self.streams = list(self.graph.output_streams)
        self.pool = GraphPool(make_graph, options.workers)
        self.sessions: dict[int, LiveSession] = {}
        self.sockets: dict[int, Any] = {}  # session id -> its WebSocketResponse
        self.started = time.monotonic()
        self.requests = 0
        self.failures: dict[int, int] = {}
        self.process_ms = Recent()
        self.process_rate = Rate(window_s=5.0)

    # -- /process ------------------------------------------------------------------------

    async def process(self, request: Any) -> Any:
        from aiohttp import web

        self.requests += 1
        start = time.monotonic()
        images = request.query.get("images", "0") not in ("0", "", "false", "no")
        try:
            body = await self._read_body(request)
            frame = await asyncio.to_thread(decode_image, body)
            async with self.pool.borrow() as graph:
                outputs = await asyncio.wait_for(
                    run_once(graph, self.input_stream, frame, self.streams),
                    self.options.request_timeout_s)
            encoded = await asyncio.to_thread(self._encode, outputs, images)
        except BadImage as exc:
            return self._fail(400, str(exc))
        except web.HTTPRequestEntityTooLarge:
            return self._fail(413, f"the body is over the {self.options.max_body} byte limit "
                              "(--max-body)")
        except PoolBusy as exc:
            return self._fail(503, str(exc))
        except asyncio.TimeoutError:
            return self._fail(504, f"the graph took more than {self.options.request_timeout_s:g}"
                              " s on this image")
        except Exception as exc:  # noqa: BLE001 - the graph failed on this image: say how
            log.exception("POST /process failed")
            return self._fail(500, f"the graph failed: {type(exc).__name__}: {exc}")
        self.process_ms.add((time.monotonic() - start) * 1e3)
        self.process_rate.tick()
        return web.json_response(encoded)

    async def _read_body(self, request: Any) -> bytes:
        from aiohttp import web

        declared = request.content_length
        if declared is not None and declared > self.options.max_body:
            raise web.HTTPRequestEntityTooLarge(max_size=self.options.max_body,
                                                actual_size=declared)
        return await request.read()  # aiohttp enforces client_max_size on chunked bodies

    def _encode(self, outputs: dict[str, list[Any]], images: bool) -> dict[str, Any]:
        encoded: dict[str, Any] = {}
        for name, packets in outputs.items():
            if not images and packets and isinstance(packets[0].value, ImageFrame):
                continue
            values = [to_json(p.value, images=images) for p in packets]
            encoded[name] = [v for v in values if v is not OMIT]
        return encoded

    def _fail(self, status: int, message: str) -> Any:
        from aiohttp import web

        self.failures[status] = self.failures.get(status, 0) + 1
        return web.json_response({"error": message}, status=status)

    # -- /ws -------------------------------------------------------------------------------

    async def live(self, request: Any) -> Any:
        from aiohttp import web

        if len(self.sessions) >= self.options.max_sessions:
            return self._fail(503, f"{self.options.max_sessions} live clients already "
                              "(--max-sessions)")
        ws = web.WebSocketResponse(max_msg_size=self.options.max_body, heartbeat=20.0)
        await ws.prepare(request)
        graph = await asyncio.to_thread(self.make_graph)  # loading and validating: off the loop
        session = LiveSession(graph, self.input_stream, depth=self.options.depth,
                              quality=self.options.quality)
        self.sessions[session.id] = session
        self.sockets[session.id] = ws
        try:
            await session.serve(ws)
        finally:
            del self.sessions[session.id], self.sockets[session.id]
            await ws.close()
        if session.error is not None:
            log.warning("live session %d: %s", session.id, session.error)
        return ws

    # -- /graph, /stats, the page --------------------------------------------------------------

    async def describe(self, request: Any) -> Any:
        from aiohttp import web

        from mediagraph.config.loader import to_text
        from mediagraph.viz import to_dot, to_json as picture

        graph = self.graph
        return web.json_response({
            "source": str(graph.spec.source or ""), "name": self.name, "config": to_text(graph.config),
            "input_stream": self.input_stream, "input_streams": graph.input_streams,
            "output_streams": self.streams, "picture": picture(graph), "dot": to_dot(graph)})

    async def stats(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response(self.figures())

    def figures(self) -> dict[str, Any]:
        last = self.pool.last
        return {
            "uptime_s": round(time.monotonic() - self.started, 1),
            "live": [session.stats(nodes=True) for session in self.sessions.values()],
            "process": {"requests": self.requests, "failures": {str(k): v for k, v in
                                                                 sorted(self.failures.items())},
                        "per_second": round(self.process_rate.per_second(), 2),
                        "latency": self.process_ms.summary(), "workers": self.pool.size,
                        "idle_workers": self.pool.idle,
                        "nodes": node_busy(last) if last is not None else []}}

    async def static(self, request: Any) -> Any:
        from aiohttp import web

        name = request.match_info.get("name", "index.html")
        if name not in STATIC_FILES:
            raise web.HTTPNotFound(text=f"no file {name}")
        body = importlib.resources.files("mediagraph.serve").joinpath("static", name).read_bytes()
        return web.Response(body=body, content_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-cache"})

    async def close_sockets(self, app: Any = None) -> None:
        """At shutdown: say goodbye to every live client, which ends its session (a
        WebSocket handler would otherwise keep the server up)."""
        from aiohttp import WSCloseCode

        await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                               for ws in list(self.sockets.values())), return_exceptions=True)

    async def no_icon(self, request: Any) -> Any:
        from aiohttp import web

        return web.Response(status=204)

    async def warm_up(self, app: Any = None) -> None:
        """Run every pooled graph once on a small grey image: the first request then pays
        for no imports or model loads."""
        import numpy as np

        frame = ImageFrame(np.full((64, 64, 3), 128, np.uint8))
        for graph in self.pool.graphs:
            await run_once(graph, self.input_stream, frame, self.streams)


def single_image_input(graph: Any) -> str:
    """The graph's one input stream (frames go there); a clear error otherwise."""
    from mediagraph.errors import GraphConfigError

    inputs = graph.input_streams
    if len(inputs) != 1:
        raise GraphConfigError(
            f"mediagraph serve feeds one input stream of images, and this graph has "
            f"{len(inputs)} ({', '.join(inputs) or 'none'}); give it one input_stream, "
            "e.g. input_stream: \"input_video\"", source=graph.spec.source)
    if not graph.output_streams:
        raise GraphConfigError("mediagraph serve returns the graph's output streams, and this "
                               "graph has none; declare output_stream: ...",
                               source=graph.spec.source)
    return inputs[0]


def create_app(make_graph: Callable[[], Any], options: ServeOptions | None = None,
               name: str = "") -> Any:
    """The aiohttp `web.Application` serving graphs made by `make_graph()` (each call a
    new, validated `Graph` of the same config); `name` titles the page."""
    from aiohttp import web

    options = options or ServeOptions()
    server = Server(make_graph, options, name)
    app = web.Application(client_max_size=options.max_body)
    app.on_startup.append(server.warm_up)
    app.on_shutdown.append(server.close_sockets)
    app.router.add_get("/", server.static)
    app.router.add_get("/static/{name}", server.static)
    app.router.add_get("/ws", server.live)
    app.router.add_post("/process", server.process)
    app.router.add_get("/graph", server.describe)
    app.router.add_get("/stats", server.stats)
    app.router.add_get("/favicon.ico", server.no_icon)
    return app
