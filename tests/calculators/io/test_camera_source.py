"""CameraSourceCalculator through a fake VideoCapture in real graphs; a real camera if present."""

from __future__ import annotations

import glob
import itertools

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.io._devices import DeviceUnavailableError
from mediagraph.calculators.io.camera_source import CameraSourceCalculator
from mediagraph.formats import VideoHeader
from mediagraph import CalculatorError, Graph, GraphBuilder, MediaGraphError, Timestamp
from mediagraph.formats import ImageFormat

pytestmark = pytest.mark.timeout(120)

CAP_PROP_FRAME_WIDTH, CAP_PROP_FRAME_HEIGHT, CAP_PROP_FPS = 3, 4, 5


class FakeCapture:
    """Stands in for cv2.VideoCapture: BGR frames whose blue channel counts 0, 1, 2, ..."""

    instances: list[FakeCapture] = []

    def __init__(self, source, *, opened=True, frames=None, width=8, height=6, channels=3):
        self.source = source
        self.opened = opened
        self.remaining = frames  # None: endless
        self.props = {CAP_PROP_FRAME_WIDTH: width, CAP_PROP_FRAME_HEIGHT: height,
                      CAP_PROP_FPS: 30.0}
        self.channels = channels
        self.reads = 0
        self.released = False
        FakeCapture.instances.append(self)

    def isOpened(self):
        return self.opened

    def read(self):
        if self.remaining is not None and self.reads >= self.remaining:
            return False, None
        shape = (int(self.props[CAP_PROP_FRAME_HEIGHT]), int(self.props[CAP_PROP_FRAME_WIDTH]))
        frame = np.zeros(shape + ((self.channels,) if self.channels > 1 else ()), np.uint8)
        frame[..., 0] = self.reads % 256  # blue in BGR, gray for one channel
        self.reads += 1
        return True, frame

    def get(self, prop):
        return self.props.get(prop, 0.0)

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def release(self):
        self.released = True


@pytest.fixture
def fake_camera(monkeypatch):
    """Install FakeCapture; returns a function to configure the next captures."""
    FakeCapture.instances.clear()
    settings = {}
    monkeypatch.setattr(CameraSourceCalculator, "capture_factory",
                        lambda source: FakeCapture(source, **settings))
    return settings


def run_camera(options=None, side=None, outputs=("VIDEO:frames",)):
    b = GraphBuilder()
    sides = []
    if side is not None:
        b.input_side_packet("camera")
        sides = ["CAMERA:camera"]
    b.node("CameraSourceCalculator", outputs=list(outputs), side_inputs=sides, options=options)
    graph = Graph(b.build())
    return graph.run(side_packets={"camera": side} if side is not None else None, timeout=30)


def test_frames_are_srgb_with_strictly_increasing_clock_timestamps(fake_camera, monkeypatch):
    ticks = iter([5_000_000, 5_000_000, 5_000_000, 9_000_000_000, 9_000_000_000])
    monkeypatch.setattr(CameraSourceCalculator, "clock", lambda: next(ticks))
    out = run_camera({"max_frames": 5})
    frames = out["frames"]
    # the clock stalls, jumps, stalls: timestamps follow it in µs, bumped to stay increasing
    assert [int(p.timestamp) for p in frames] == [5000, 5001, 5002, 9_000_000, 9_000_001]
    image = frames[2].value
    assert image.format == ImageFormat.SRGB and image.shape == (6, 8, 3)
    assert image.to_ndarray()[0, 0].tolist() == [0, 0, 2]  # BGR blue became RGB blue
    assert FakeCapture.instances[0].released


@pytest.mark.parametrize("channels", [1, 4])
def test_gray_and_bgra_cameras_become_srgb(fake_camera, channels):
    fake_camera["channels"] = channels
    frames = run_camera({"max_frames": 2})["frames"]
    assert [p.value.format for p in frames] == [ImageFormat.SRGB] * 2


def test_requested_size_is_set_and_reported_in_the_header(fake_camera):
    out = run_camera({"max_frames": 1, "width": 32, "height": 24, "fps": 15.0},
                     outputs=("VIDEO:frames", "VIDEO_PRESTREAM:header"))
    [header] = out["header"]
    assert header.timestamp == Timestamp.PRE_STREAM
    assert header.value == VideoHeader(width=32, height=24, frame_rate=15.0, duration=0.0,
                                       frame_count=0, codec="")
    assert out["frames"][0].value.shape == (24, 32, 3)


@pytest.mark.parametrize("side, options, expected", [
    (None, None, 0),
    (None, {"index": 3}, 3),
    (None, {"device": "/dev/video2"}, "/dev/video2"),
    (None, {"device": "1"}, 1),
    (4, {"index": 3}, 4),
    ("/dev/video9", None, "/dev/video9"),
])
def test_camera_side_packet_or_options_choose_the_device(fake_camera, side, options, expected):
    run_camera({**(options or {}), "max_frames": 1}, side=side)
    assert FakeCapture.instances[0].source == expected


def test_the_run_ends_when_the_camera_stops_delivering(fake_camera):
    fake_camera["frames"] = 3
    assert len(run_camera()["frames"]) == 3


def root_cause(error):
    while error.__cause__ is not None:
        error = error.__cause__
    return error


@pytest.mark.parametrize("side, options, named", [
    (None, {"index": 7}, "index 7"),
    ("/dev/video42", None, "'/dev/video42'"),
])
def test_camera_that_does_not_exist_fails_in_open_naming_it(fake_camera, side, options, named):
    fake_camera["opened"] = False
    with pytest.raises(MediaGraphError) as info:
        run_camera(options, side=side)
    assert isinstance(info.value, CalculatorError) and info.value.method == "open"
    assert isinstance(root_cause(info.value), DeviceUnavailableError)
    assert f"no camera at {named}" in str(info.value)
    assert FakeCapture.instances[0].released


def test_camera_that_opens_but_never_delivers_raises(fake_camera):
    fake_camera["frames"] = 0
    with pytest.raises(MediaGraphError, match="delivered no frame"):
        run_camera()


def test_real_opencv_reports_a_missing_camera_index():
    index = next(i for i in itertools.count(90) if not glob.glob(f"/dev/video{i}"))
    with pytest.raises(MediaGraphError, match=f"no camera at index {index}"):
        run_camera({"index": index})


@pytest.mark.skipif(not glob.glob("/dev/video*"), reason="no camera on this machine")
def test_real_camera_delivers_frames():
    frames = run_camera({"max_frames": 3})["frames"]
    assert len(frames) == 3 and frames[0].value.format == ImageFormat.SRGB
