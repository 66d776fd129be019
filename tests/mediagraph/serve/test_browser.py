"""The page in a real browser: Debian's Chromium, headless, its camera a face video.

Chromium's fake camera plays a y4m this test makes (the samples' astronaut face, still,
so where the face is is known), the page streams it to `mediagraph serve` (a subprocess,
as a user starts it) and shows what comes back. The test checks that annotated frames
arrive, that detections appear in the page, and, on a screenshot, that a red box is
drawn where the face is. Playwright drives Debian's Chromium through `executable_path`:
no browser is downloaded. Set MEDIAGRAPH_SCREENSHOT=PATH to keep the page's screenshot
(the README's is made so).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mediagraph.testing.processes import stop
from mediagraph.testing.samples import face_box, face_frame_fn, make_y4m

from tests.mediagraph.serve.conftest import FACE_GRAPH, ROOT, free_port

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("face_model")]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def server(tmp_path):
    """`mediagraph serve` on the live face graph, in a process of its own; killed after."""
    port = free_port()
    log = open(tmp_path / "server.log", "w+")
    process = subprocess.Popen([sys.executable, "-m", "mediagraph", "serve", str(FACE_GRAPH),
                                "--port", str(port)], cwd=ROOT, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/stats", timeout=2) as response:
                    json.load(response)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"the server did not start:\n{log.read()}")
                time.sleep(0.2)
        yield url
    finally:
        stop(process)
        log.close()


@pytest.fixture
def browser(tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; `make test` "
                    "installs it where it may): the browser test cannot run")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is missing (pip install playwright)")
    video = make_y4m(tmp_path / "face.y4m", lambda i, n, w, h: face_frame_fn()(0, 1, w, h),
                     frames=15)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  f"--use-file-for-fake-video-capture={video}"])
        try:
            yield browser
        finally:
            browser.close()


def red_box(png: bytes) -> tuple[int, int, int, int]:
    """The (x0, y0, x1, y1) of the red rectangle in a screenshot: the rows and columns where
    the most red pixels line up (the box's edges; its label and keypoints are shorter)."""
    import cv2

    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR),
                       cv2.COLOR_BGR2RGB).astype(int)
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)
    rows, cols = red.sum(axis=1), red.sum(axis=0)
    assert rows.max() > 40 and cols.max() > 40, "no red box in the frame"
    edge_rows = np.flatnonzero(rows > rows.max() * 0.6)
    edge_cols = np.flatnonzero(cols > cols.max() * 0.6)
    return edge_cols[0], edge_rows[0], edge_cols[-1], edge_rows[-1]


def test_the_page_streams_the_camera_and_boxes_the_face(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/")
    page.wait_for_function("window.mgStats && window.mgStats().shown >= 30 && "
                           "window.mgStats().server !== null", timeout=45_000)
    stats = page.evaluate("window.mgStats()")
    assert not errors and not stats["errors"], (errors, stats["errors"])
    assert stats["shown"] >= 30 and stats["p50"] is not None

    (face,) = stats["results"]["face_detections"]
    box = face["location_data"]["relative_bounding_box"]
    assert face["score"][0] > 0.5
    assert "face_detections" in page.inner_text("#results")  # shown in the page, not only kept
    assert any(row["calculator"] == "InferenceCalculator" and row["calls"] > 0
               for row in stats["server"]["nodes"])
    page.wait_for_function("Object.keys(window.mgStats().busyPercent).length > 0", timeout=5000)
    assert "busy" in page.text_content("#graph")  # the picture carries the busy time

    x0, y0, x1, y1 = face_box(0, 1, 640, 480)
    bx0, by0, bx1, by1 = red_box(page.locator("#output").screenshot())
    size = x1 - x0
    for drawn, expected in ((bx0, x0), (by0, y0), (bx1, x1), (by1, y1)):
        assert abs(drawn - expected) < 0.25 * size, ((bx0, by0, bx1, by1), (x0, y0, x1, y1))
    # the JSON shown agrees with the pixels drawn
    assert abs(box["xmin"] * 640 - bx0) < 8 and abs(box["ymin"] * 480 - by0) < 8

    shot = page.screenshot(full_page=True)
    (tmp_path / "page.png").write_bytes(shot)
    keep = os.environ.get("MEDIAGRAPH_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(shot)
