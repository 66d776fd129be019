"""DisplayCalculator through a fake window in real graphs: quit keys, fps text, headless."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.io._devices import DeviceUnavailableError
from mediagraph.calculators.io.camera_source import CameraSourceCalculator
from mediagraph.calculators.io.display import (DisplayCalculator, FrameRate, MemoryWindow,
                                                ShownFrame)
from mediagraph import CalculatorError, Graph, GraphBuilder, GraphConfigError, MediaGraphError
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner
from tests.calculators.io.test_camera_source import FakeCapture

pytestmark = pytest.mark.timeout(120)


class FakeWindow:
    """Records what was shown; `keys` are what wait_key returns, then -1 (no key)."""

    def __init__(self, keys=(), open_for=None):
        self.keys = list(keys)
        self.open_for = open_for  # the window "closes" after this many frames
        self.created = []
        self.shown = []
        self.waits = []
        self.destroyed = []

    def __call__(self):
        return self

    def create(self, title):
        self.created.append(title)

    def imshow(self, title, bgr, timestamp):
        self.shown.append((title, bgr.copy()))

    def wait_key(self, delay_ms):
        self.waits.append(delay_ms)
        return self.keys.pop(0) if self.keys else -1

    def is_open(self, title):
        return self.open_for is None or len(self.shown) < self.open_for

    def destroy(self, title):
        self.destroyed.append(title)


@pytest.fixture
def window(monkeypatch):
    fake = FakeWindow()
    monkeypatch.setattr(DisplayCalculator, "window_backend", fake)
    return fake


@pytest.fixture
def endless_camera(monkeypatch):
    FakeCapture.instances.clear()
    monkeypatch.setattr(CameraSourceCalculator, "capture_factory",
                        lambda source: FakeCapture(source))


def camera_to_display(options=None):
    b = GraphBuilder()
    b.node("CameraSourceCalculator", outputs=["VIDEO:frames"])
    b.node("DisplayCalculator", inputs=["VIDEO:frames"], options=options)
    return Graph(b.build())


@pytest.mark.parametrize("key", [ord("q"), ord("Q"), 27, 0x100000 | ord("q")],
                         ids=["q", "Q", "esc", "q_with_modifier_bits"])
def test_quit_key_ends_an_endless_run_gracefully(window, endless_camera, key):
    window.keys = [-1, -1, -1, -1, key]
    camera_to_display({"title": "cam"}).run(timeout=30)  # returns: no error, no timeout
    assert len(window.shown) == 5  # nothing shown after the key
    assert window.created == ["cam"] and window.destroyed == ["cam"]
    [capture] = FakeCapture.instances
    assert capture.released and capture.reads >= 5


def test_closing_the_window_ends_the_run(window, endless_camera):
    window.open_for = 3
    camera_to_display().run(timeout=30)
    assert len(window.shown) == 3 and window.destroyed == ["mediagraph"]


def show(packets, port="IMAGE", options=None):
    return CalculatorRunner("DisplayCalculator", options=options).run({port: packets})


def test_frame_rate_is_drawn_only_when_asked(window):
    image = ImageFrame(np.full((90, 160, 3), (10, 20, 30), np.uint8))
    show([(image, 0)], options={"show_fps": False})
    _, plain = window.shown[0]
    assert plain.shape == (90, 160, 3) and (plain == (30, 20, 10)).all()  # RGB -> BGR
    show([(image, 1)], options={"show_fps": True})
    _, annotated = window.shown[1]
    assert not (annotated == (30, 20, 10)).all()  # text drawn on a copy...
    assert (image.to_ndarray() == (10, 20, 30)).all()  # ...not on the packet


def test_frame_rate_follows_frame_times():
    rate = FrameRate()
    assert rate.tick(0) == 0.0
    for i in range(1, 50):
        fps = rate.tick(i * 40_000_000)
    assert fps == pytest.approx(25.0)


@pytest.mark.parametrize("fmt, data", [
    (ImageFormat.GRAY8, np.full((4, 4, 1), 7, np.uint8)),
    (ImageFormat.SRGBA, np.full((4, 4, 4), 7, np.uint8)),
    (ImageFormat.GRAY16, np.full((4, 4, 1), 7 << 8, np.uint16)),
    (ImageFormat.VEC32F1, np.full((4, 4, 1), 7 / 255, np.float32)),
])
def test_other_pixel_formats_are_shown_as_bgr(window, fmt, data):
    show([(ImageFrame(data, fmt), 0)], port="VIDEO", options={"show_fps": False})
    _, bgr = window.shown[0]
    assert bgr.dtype == np.uint8 and bgr.shape == (4, 4, 3) and (bgr == 7).all()


@pytest.mark.parametrize("inputs", [{}, {"VIDEO": [], "IMAGE": []}], ids=["none", "both"])
def test_exactly_one_input_must_be_connected(window, inputs):
    with pytest.raises(GraphConfigError, match="exactly one of VIDEO or IMAGE"):
        CalculatorRunner("DisplayCalculator").run(inputs)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux's")
def test_headless_machine_fails_in_open_not_in_opencv(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MediaGraphError) as info:
        show([(ImageFrame(np.zeros((4, 4, 3), np.uint8)), 0)])
    assert isinstance(info.value, CalculatorError) and info.value.method == "open"
    assert isinstance(info.value.__cause__, DeviceUnavailableError)
    assert "$DISPLAY" in str(info.value)


@pytest.mark.skipif(not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")),
                    reason="no display on this machine")
def test_real_window_shows_frames():
    frames = [(ImageFrame(np.full((60, 80, 3), i * 20, np.uint8)), i) for i in range(3)]
    show(frames, options={"title": "mediagraph test"})


def test_done_reports_each_frame_shown_and_skipped(window):
    window.keys = [-1, ord("q")]
    frames = [(ImageFrame(np.zeros((4, 4, 3), np.uint8)), i) for i in range(4)]
    out = CalculatorRunner("DisplayCalculator", outputs=["DONE"]).run({"VIDEO": frames})
    assert [(int(p.timestamp), p.value) for p in out["DONE"]] == [
        (0, True), (1, True), (2, False), (3, False)]


def test_webcam_preview_with_flow_limiter_stops_on_q(window, endless_camera):
    from pathlib import Path

    window.keys = [-1] * 9 + [ord("q")]
    config = Path(__file__).resolve().parents[3] / "graphs" / "webcam_preview.pbtxt"
    if not config.exists():
        pytest.skip("graphs/webcam_preview.pbtxt is not there")
    Graph(config).run(side_packets={"input_camera": 0}, timeout=30)
    assert len(window.shown) == 10 and window.destroyed
    assert FakeCapture.instances[0].released


def test_memory_window_keeps_each_frame_with_its_display_time(monkeypatch):
    ticks = iter(range(10_000_000, 10**12, 3_000_000))  # ns: 10 ms, then every 3 ms
    memory = MemoryWindow(keep_images=2, clock=lambda: next(ticks))
    monkeypatch.setattr(DisplayCalculator, "window_backend", memory)
    frames = [(ImageFrame(np.full((4, 6, 3), (i, 0, 0), np.uint8)), 1000 * i) for i in range(4)]
    out = CalculatorRunner("DisplayCalculator", outputs=["DONE"],
                           options={"show_fps": False}).run({"VIDEO": frames})
    assert [p.value for p in out["DONE"]] == [True] * 4  # it never quits
    assert memory.titles == ["mediagraph"]
    assert memory.shown == [ShownFrame(0, 10_000), ShownFrame(1000, 13_000),
                            ShownFrame(2000, 16_000), ShownFrame(3000, 19_000)]
    assert memory.latencies_ms().tolist() == [10.0, 12.0, 14.0, 16.0]
    # the pixels of the last two, as shown (BGR)
    assert [(ts, bgr[0, 0].tolist()) for ts, bgr in memory.images] == [
        (2000, [0, 0, 2]), (3000, [0, 0, 3])]


def test_memory_window_refuses_a_negative_image_count():
    with pytest.raises(ValueError, match="keep_images must not be negative"):
        MemoryWindow(keep_images=-1)
