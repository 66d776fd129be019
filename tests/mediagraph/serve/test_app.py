"""The server's routes, in process: POST /process, the error answers, /graph, /stats, and
the live WebSocket protocol with its flow control."""

from __future__ import annotations

import asyncio
import json
import struct
import time

import pytest

import mediagraph as mg
from mediagraph.errors import GraphConfigError
from mediagraph.serve.app import ServeOptions, create_app
from mediagraph.testing.samples import face_box

from tests.mediagraph.serve.conftest import FACE_GRAPH, encoded, face_rgb, with_client

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("face_model")]


def face_app(**options):
    return create_app(lambda: mg.Graph(FACE_GRAPH), ServeOptions(**options))


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_process_finds_the_face_and_names_fields_as_mediapipe(suffix):
    async def body(client):
        response = await client.post("/process", data=encoded(face_rgb(), suffix))
        assert response.status == 200, await response.text()
        assert response.content_type == "application/json"
        return await response.json()

    result = with_client(face_app(workers=1), body)
    assert set(result) == {"face_detections"}  # the image output is left out
    (detections,) = result["face_detections"]  # one packet
    (face,) = detections
    box = face["location_data"]["relative_bounding_box"]
    found = (box["xmin"] * 640, box["ymin"] * 480, (box["xmin"] + box["width"]) * 640,
             (box["ymin"] + box["height"]) * 480)
    assert iou(found, face_box(0, 1, 640, 480)) > 0.6, found
    assert face["score"][0] > 0.5 and len(face["location_data"]["relative_keypoints"]) == 6


def test_process_returns_images_when_asked():
    async def body(client):
        response = await client.post("/process?images=1", data=encoded(face_rgb()))
        return await response.json()

    result = with_client(face_app(workers=1), body)
    (image,) = result["output_video"]
    assert (image["width"], image["height"], image["format"]) == (640, 480, "jpeg")
    assert result["face_detections"][0]


@pytest.mark.parametrize("data, reason", [
    (b"", "the body is empty"),
    (b"GIF89a....", "not a JPEG or PNG image"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 200, "cannot decode this JPEG"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "cannot decode this PNG"),
])
def test_a_bad_image_gets_400_saying_why(data, reason):
    async def body(client):
        response = await client.post("/process", data=data)
        return response.status, await response.json()

    status, answer = with_client(face_app(workers=1), body)
    assert status == 400 and reason in answer["error"]


def test_a_truncated_jpeg_gets_400():
    whole = encoded(face_rgb())

    async def body(client):
        response = await client.post("/process", data=whole[: len(whole) // 3])
        return response.status, await response.json()

    status, answer = with_client(face_app(workers=1), body)
    # libjpeg fills a cut-off JPEG with grey and warns; OpenCV keeps the image: either a
    # clear 400, or a 200 with a result: never a 500 or a hang
    assert status in (200, 400), answer


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_max_body_gets_413(chunked):
    big = encoded(face_rgb())
    limit = len(big) // 2

    async def body(client):
        async def parts():
            for start in range(0, len(big), 4096):
                yield big[start:start + 4096]
        response = await client.post("/process", data=parts() if chunked else big)
        return response.status, await response.json()

    status, answer = with_client(face_app(workers=1, max_body=limit), body)
    assert status == 413 and f"{limit} byte limit" in answer["error"]


def test_graph_and_stats_describe_the_server():
    async def body(client):
        await client.post("/process", data=encoded(face_rgb()))
        await client.post("/process", data=b"nope")
        graph = await (await client.get("/graph")).json()
        stats = await (await client.get("/stats")).json()
        page = await client.get("/")
        script = await client.get("/static/page.js")
        missing = await client.get("/static/../app.py")
        return graph, stats, page.status, await page.text(), script.status, missing.status

    graph, stats, page_status, page, script_status, missing = with_client(face_app(workers=1), body)
    assert 'input_stream: "input_video"' in graph["config"]
    assert graph["input_stream"] == "input_video"
    assert graph["output_streams"] == ["output_video", "face_detections"]
    calculators = {n["calculator"] for n in graph["picture"]["nodes"]}
    assert {"InferenceCalculator", "AnnotationOverlayCalculator"} <= calculators
    assert any(e["stream"] == "face_detections" for e in graph["picture"]["edges"])
    assert stats["process"]["requests"] == 2 and stats["process"]["failures"] == {"400": 1}
    busy = {n["calculator"]: n for n in stats["process"]["nodes"]}
    assert busy["InferenceCalculator"]["calls"] == 1 and busy["InferenceCalculator"]["busy_ms"] > 0
    assert page_status == 200 and "getUserMedia" not in page and "/static/page.js" in page
    assert script_status == 200 and missing == 404


def test_sixteen_concurrent_requests_share_two_warm_graphs():
    image = encoded(face_rgb())

    async def body(client):
        async def one():
            response = await client.post("/process", data=image)
            return response.status, await response.json()
        answers = await asyncio.gather(*(one() for _ in range(16)))
        stats = await (await client.get("/stats")).json()
        return answers, stats

    answers, stats = with_client(face_app(workers=2), body)
    assert [status for status, _ in answers] == [200] * 16
    assert all(len(answer["face_detections"][0]) == 1 for _, answer in answers)
    assert stats["process"]["workers"] == 2 and stats["process"]["idle_workers"] == 2


def test_a_graph_without_one_input_stream_is_refused():
    two = 'input_stream: "a" input_stream: "b" output_stream: "c" node { calculator: ' \
          '"PassThroughCalculator" input_stream: "a" input_stream: "b" output_stream: "c" ' \
          'output_stream: "d" }'
    with pytest.raises(GraphConfigError, match="one input stream of images, and this graph has 2"):
        create_app(lambda: mg.Graph(two))


# -- the live WebSocket --------------------------------------------------------------------------

HEADER = struct.Struct("<I")


async def _frame_reply(ws, timeout=10.0):
    """The next binary message (seq, jpeg) and the JSON messages before it."""
    texts = []
    while True:
        message = await ws.receive(timeout=timeout)
        if message.data is None or isinstance(message.data, int):
            raise AssertionError(f"the socket ended: {message}")
        if isinstance(message.data, bytes):
            return HEADER.unpack_from(message.data)[0], message.data[HEADER.size:], texts
        texts.append(json.loads(message.data))


def test_a_live_client_gets_each_frame_back_annotated_with_its_detections():
    image = encoded(face_rgb())

    async def body(client):
        async with client.ws_connect("/ws") as ws:
            replies = []
            for seq in (1, 2, 5):
                await ws.send_bytes(HEADER.pack(seq) + image)
                replies.append(await _frame_reply(ws))
            return replies

    replies = with_client(face_app(workers=1), body)
    assert [seq for seq, _, _ in replies] == [1, 2, 5]
    for seq, jpeg, texts in replies:
        assert jpeg[:3] == b"\xff\xd8\xff"
        results = [t for t in texts if t["type"] == "result"]
        assert results and results[-1]["stream"] == "face_detections"
        assert results[-1]["seq"] == seq
        assert "relative_bounding_box" in results[-1]["value"][0]["location_data"]


def test_bad_live_frames_get_an_error_message_and_the_session_goes_on():
    image = encoded(face_rgb())

    async def body(client):
        async with client.ws_connect("/ws") as ws:
            await ws.send_bytes(HEADER.pack(3) + b"not an image")
            bad = await ws.receive_json(timeout=10)
            await ws.send_bytes(HEADER.pack(2) + image)  # not after 3
            backwards = await ws.receive_json(timeout=10)
            await ws.send_str("hello")
            text = await ws.receive_json(timeout=10)
            await ws.send_bytes(HEADER.pack(4) + image)
            seq, _, _ = await _frame_reply(ws)
            return bad, backwards, text, seq

    bad, backwards, text, seq = with_client(face_app(workers=1), body)
    assert bad["type"] == "error" and "frame 3: not a JPEG or PNG" in bad["message"]
    assert "frame numbers must increase" in backwards["message"]
    assert "send frames as binary messages" in text["message"]
    assert seq == 4


def test_a_slow_client_drops_its_own_frames_and_never_slows_another():
    image = encoded(face_rgb())

    async def body(client):
        slow = await client.ws_connect("/ws")
        for seq in range(1, 201):  # a burst, and it never reads a reply
            await slow.send_bytes(HEADER.pack(seq) + image)
        async with client.ws_connect("/ws") as fast:
            start = time.monotonic()
            for seq in range(1, 31):
                await fast.send_bytes(HEADER.pack(seq) + image)
                got, _, _ = await _frame_reply(fast)
                assert got == seq
            fast_s = time.monotonic() - start
        stats = await (await client.get("/stats")).json()
        await slow.close()
        return fast_s, stats

    fast_s, stats = with_client(face_app(workers=1), body)
    (slow,) = [s for s in stats["live"] if s["received"] == 200]
    assert slow["dropped_in"] + slow["dropped_out"] > 0  # the slow one lost frames...
    assert slow["processed"] < 200
    assert fast_s < 15, fast_s  # ...and the other went on: 30 round trips, not stuck behind it


def failing_app():
    """The face graph whose overlay fails on its second call (the pool's warm-up is the
    first; a live session's first frame is)."""
    from mediagraph.testing.faults import Fault, FaultInjector

    def make():
        graph = mg.Graph(FACE_GRAPH)
        FaultInjector(graph).inject("AnnotationOverlayCalculator",
                                    Fault("raise", after_calls=1))
        return graph
    return create_app(make, ServeOptions(workers=1))


def test_a_graph_failing_on_an_image_answers_500_naming_the_node():
    async def body(client):
        response = await client.post("/process", data=encoded(face_rgb()))
        again = await client.post("/process", data=encoded(face_rgb()))  # the fault fired once
        return response.status, await response.json(), again.status

    status, answer, again = with_client(failing_app(), body)
    assert status == 500 and "AnnotationOverlayCalculator" in answer["error"]
    assert again == 200  # the pooled graph runs again


def test_a_live_run_that_fails_tells_the_client_and_closes():
    image = encoded(face_rgb())

    async def body(client):
        async with client.ws_connect("/ws") as ws:
            await ws.send_bytes(HEADER.pack(1) + image)
            first, _, _ = await _frame_reply(ws)
            await ws.send_bytes(HEADER.pack(2) + image)
            messages = []
            while True:
                message = await ws.receive(timeout=10)
                if not isinstance(message.data, str):
                    break
                messages.append(json.loads(message.data))
            stats = await (await client.get("/stats")).json()
            return first, messages, ws.closed, stats

    first, messages, closed, stats = with_client(failing_app(), body)
    assert first == 1 and closed
    errors = [m["message"] for m in messages if m["type"] == "error"]
    assert errors and "the graph run failed" in errors[0] and "AnnotationOverlay" in errors[0]
    assert stats["live"] == []  # the session is gone
