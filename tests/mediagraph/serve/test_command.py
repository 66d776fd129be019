"""`mediagraph serve` on the command line: safe defaults and clear refusals."""

from __future__ import annotations

import argparse

import pytest

from mediagraph import cli
from mediagraph.serve.command import _size


def test_the_server_binds_to_localhost_unless_told_otherwise():
    args = cli.build_parser().parse_args(["serve", "face_detection_live"])
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 8080, 2)
    assert args.max_body == 10 * 1024 * 1024


@pytest.mark.parametrize("text, size", [("10MB", 10 << 20), ("512kb", 512 << 10), ("2048", 2048),
                                        ("1.5M", 3 << 19)])
def test_sizes_read_with_their_units(text, size):
    assert _size(text) == size


@pytest.mark.parametrize("text", ["ten", "10XB", "0", "-5MB"])
def test_a_bad_size_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        _size(text)


def test_a_graph_the_server_cannot_feed_is_refused_before_serving(tmp_path, capsys):
    config = tmp_path / "sourced.pbtxt"
    config.write_text('output_stream: "out" node { calculator: "PassThroughCalculator" '
                      'input_stream: "in" output_stream: "out" } input_stream: "in" '
                      'input_stream: "other" node { calculator: "PassThroughCalculator" '
                      'input_stream: "other" output_stream: "o2" }')
    assert cli.main(["serve", str(config), "--port", "1"]) == 1
    assert "feeds one input stream of images, and this graph has 2" in capsys.readouterr().err


def test_an_unknown_graph_name_says_so(capsys):
    assert cli.main(["serve", "face_detection_lve"]) == 1
    assert "did you mean face_detection_live" in capsys.readouterr().err


@pytest.mark.timeout(90)
@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_the_server_stops_promptly_with_a_live_client_connected(signum, face_model):
    import asyncio
    import signal
    import struct
    import subprocess
    import sys
    import time

    import aiohttp

    from tests.mediagraph.serve.conftest import FACE_GRAPH, encoded, face_rgb, free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mediagraph", "serve", str(FACE_GRAPH),
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    async def main() -> tuple[float, object]:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    await (await session.get(url + "/stats")).read()
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
            async with session.ws_connect(url + "/ws") as ws:
                await ws.send_bytes(struct.pack("<I", 1) + encoded(face_rgb()))
                assert isinstance((await ws.receive(timeout=30)).data, (bytes, str))
                start = time.monotonic()
                server.send_signal(getattr(signal, signum))
                while server.poll() is None and time.monotonic() - start < 20:
                    await asyncio.sleep(0.05)
                return time.monotonic() - start, server.returncode

    try:
        took, code = asyncio.run(main())
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert code == 0 and took < 5, (code, took)
