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

CAP_PROP_POS_FRAMES, CAP_PROP_FRAME_WIDTH, CAP_PROP_FRAME_HEIGHT, CAP_PROP_FPS = 1, 3, 4, 5


class FakeCapture:
    """Stands in for cv2.VideoCapture: BGR frames whose blue channel counts 0, 1, 2, ...
    (the position in the "file", which `set(CAP_PROP_POS_FRAMES, 0)` rewinds)."""

    instances: list[FakeCapture] = []

    def __init__(self, source, *, opened=True, frames=None, width=8, height=6, channels=3,
                 fps=30.0):
        self.source = source
        self.position = 0
        self.grabs = 0
        self.opened = opened
        self.remaining = frames  # None: endless
        self.props = {CAP_PROP_FRAME_WIDTH: width, CAP_PROP_FRAME_HEIGHT: height,
                      CAP_PROP_FPS: fps}
        self.channels = channels
        self.reads = 0
        self.released = False
        FakeCapture.instances.append(self)

    def isOpened(self):
        return self.opened

    def read(self):
        if self.remaining is not None and self.position >= self.remaining:
            return False, None
        shape = (int(self.props[CAP_PROP_FRAME_HEIGHT]), int(self.props[CAP_PROP_FRAME_WIDTH]))
        frame = np.zeros(shape + ((self.channels,) if self.channels > 1 else ()), np.uint8)
        frame[..., 0] = self.position % 256  # blue in BGR, gray for one channel
        self.reads += 1
        self.position += 1
        return True, frame

    def grab(self):
        if self.remaining is not None and self.position >= self.remaining:
            return False
        self.grabs += 1
        self.position += 1
        return True

    def get(self, prop):
        return self.props.get(prop, 0.0)

    def set(self, prop, value):
        if prop == CAP_PROP_POS_FRAMES:
            self.position = int(value)
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


# -- a video file played in real time ------------------------------------------------


class FakeTime:
    """The calculator's clock and sleep: sleeping moves the clock; `late` makes the
    given sleeps (1-based) return that many ns late, as a busy machine's thread would."""

    def __init__(self, late=None):
        self.now = 7_000_000_000
        self.late = dict(late or {})
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += round(seconds * 1e9) + self.late.get(len(self.sleeps), 0)


@pytest.fixture
def fake_file(fake_camera, monkeypatch, tmp_path):
    """A fake capture behind a real file name (what `realtime` applies to), on fake time."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"not read: the capture is fake")
    time = FakeTime()
    monkeypatch.setattr(CameraSourceCalculator, "clock", time.clock)
    monkeypatch.setattr(CameraSourceCalculator, "sleep", time.sleep)
    return str(path), fake_camera, time


def played(out):
    """(ms after the first frame, the frame's index in the file) of each frame sent."""
    frames = out["frames"]
    first = int(frames[0].timestamp)
    return [((int(p.timestamp) - first) / 1e3, int(p.value.to_ndarray()[0, 0, 2]))
            for p in frames]


def test_a_realtime_file_delivers_frames_at_its_rate_stamped_with_their_capture_time(
        fake_file):
    path, settings, time = fake_file
    settings.update(frames=5, fps=25.0)
    out = run_camera({"device": path, "realtime": True})
    assert played(out) == [(0, 0), (40, 1), (80, 2), (120, 3), (160, 4)]
    assert int(out["frames"][0].timestamp) == 7_000_000  # the monotonic clock, in µs
    assert time.sleeps == pytest.approx([0.04] * 4)  # it waited for each frame's time


def test_frames_whose_time_passed_while_the_graph_held_the_source_back_are_skipped(
        fake_file):
    path, settings, time = fake_file
    settings.update(frames=8, fps=25.0)
    time.late = {2: 100_000_000}  # the second wait returned 100 ms late
    graph = GraphBuilder()
    graph.node("CameraSourceCalculator", name="camera", outputs=["VIDEO:frames"],
               options={"device": path, "realtime": True})
    graph = Graph(graph.build())
    out = graph.run(timeout=30)
    # frame 2 went out late; by then frame 3's time had passed: a camera would have
    # overwritten it, so it is skipped (decoded, not sent), and frame 4 keeps its time.
    assert played(out) == [(0, 0), (40, 1), (80, 2), (160, 4), (200, 5), (240, 6), (280, 7)]
    assert graph.profile().node("camera").dropped == 1
    assert FakeCapture.instances[0].grabs == 1


def test_max_frames_of_a_realtime_file_counts_the_skipped_frames(fake_file):
    path, settings, time = fake_file
    settings.update(frames=8, fps=25.0)
    time.late = {2: 100_000_000}
    out = run_camera({"device": path, "realtime": True, "max_frames": 5})
    assert played(out) == [(0, 0), (40, 1), (80, 2), (160, 4)]  # 5 frames of the file's time


def test_a_looping_realtime_file_starts_over_with_timestamps_still_increasing(fake_file):
    path, settings, _ = fake_file
    settings.update(frames=3, fps=10.0)
    out = run_camera({"device": path, "realtime": True, "loop": True, "max_frames": 7})
    assert played(out) == [(0, 0), (100, 1), (200, 2), (300, 0), (400, 1), (500, 2), (600, 0)]


def test_a_realtime_file_plays_at_the_fps_option_when_set(fake_file):
    path, settings, _ = fake_file
    settings.update(frames=3, fps=25.0)
    out = run_camera({"device": path, "realtime": True, "fps": 50.0},
                     outputs=("VIDEO:frames", "VIDEO_PRESTREAM:header"))
    assert played(out) == [(0, 0), (20, 1), (40, 2)]
    assert out["header"][0].value.frame_rate == 50.0


def test_a_realtime_file_without_a_frame_rate_fails_naming_it(fake_file):
    path, settings, _ = fake_file
    settings.update(frames=3, fps=0.0)
    with pytest.raises(MediaGraphError, match=r"video file '.*clip.mp4' reports no frame rate"):
        run_camera({"device": path, "realtime": True})


def test_realtime_changes_nothing_for_a_camera(fake_file):
    _, settings, time = fake_file
    settings.update(frames=3)
    out = run_camera({"index": 0, "realtime": True})
    assert len(out["frames"]) == 3 and time.sleeps == []  # a camera paces itself


def test_a_missing_file_says_no_such_file_or_device(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(MediaGraphError, match="no file or device has that name") as info:
        run_camera({"device": str(missing), "realtime": True})
    assert "missing.mp4" in str(info.value)


def test_a_real_video_file_plays_in_real_time(tmp_path):
    import time

    from mediagraph.testing import samples

    clip = samples.make_video(tmp_path / "clip.mp4", frames=10, fps=50, audio=False)
    graph = GraphBuilder()
    graph.input_side_packet("camera")
    graph.node("CameraSourceCalculator", name="camera", outputs=["VIDEO:frames"],
               side_inputs=["CAMERA:camera"], options={"realtime": True})
    graph = Graph(graph.build())
    started = time.monotonic_ns() // 1000
    frames = graph.run(side_packets={"camera": str(clip)}, timeout=30)["frames"]
    ended = time.monotonic_ns() // 1000
    stamps = [int(p.timestamp) for p in frames]
    # each frame is stamped with its time on the file's 20 ms timeline, on the monotonic
    # clock; a frame skipped on a busy machine is counted, not lost
    assert started <= stamps[0] and stamps[-1] <= ended
    assert all(min((t - stamps[0]) % 20_000, -(t - stamps[0]) % 20_000) <= 1 for t in stamps)
    assert len(frames) + graph.profile().node("camera").dropped == 10
    assert ended - started >= 180_000 and frames[0].value.shape == (240, 320, 3)


def test_a_file_opencv_cannot_read_fails_naming_it(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(MediaGraphError, match=r"cannot read video file '.*notes.mp4'"):
        run_camera({"realtime": True}, side=str(text))
