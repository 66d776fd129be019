"""What the serve tests share: the face graph (skipped without its model), images, and a
client on an in-process aiohttp server."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any, Awaitable, Callable

import numpy as np
import pytest

from mediagraph import models

ROOT = Path(__file__).resolve().parents[3]
FACE_GRAPH = ROOT / "graphs" / "face_detection_live.pbtxt"

pytest.importorskip("aiohttp", reason="mediagraph serve needs the serve extra (aiohttp)")


@pytest.fixture(scope="session")
def face_model() -> None:
    try:
        models.resolve("face_detection_short_range.tflite")
    except FileNotFoundError as exc:
        pytest.skip(f"{exc} (mediagraph models fetch)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def face_rgb(width: int = 640, height: int = 480) -> np.ndarray:
    """A still frame of the samples' face video: the astronaut's face, boxed by face_box."""
    from mediagraph.testing.samples import face_frame_fn

    return face_frame_fn()(0, 1, width, height)


def encoded(rgb: np.ndarray, suffix: str = ".jpg") -> bytes:
    import cv2

    return bytes(cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1])


def with_client(app: Any, body: Callable[[Any], Awaitable[Any]], timeout: float = 60) -> Any:
    """Run `body(client)` against `app` on a real local socket; every wait is bounded."""
    from aiohttp.test_utils import TestClient, TestServer

    async def main() -> Any:
        async with TestClient(TestServer(app)) as client:
            return await asyncio.wait_for(body(client), timeout)

    return asyncio.run(main())
