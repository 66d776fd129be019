"""VideoEncoderCalculator: decode → encode round trips, partial outputs, bad output paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import av
import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import (Calculator, CalculatorError, Graph, GraphCancelled, GraphConfigError, Input,
                        Output, SideInput)
from mediagraph.testing import samples
from mediagraph.formats import AudioFrame, ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(120)

FRAMES, FPS = 45, 30
PERIOD_S = 1 / FPS


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return samples.make_video(tmp_path_factory.mktemp("media") / "clip.mp4", frames=FRAMES,
                              width=160, height=120, fps=FPS)


def probe(path):
    """(frame times in s, frame means, (width, height), stream types) of a written video."""
    with av.open(str(path)) as container:
        types = sorted(s.type for s in container.streams)
        frames = list(container.decode(video=0))
    times = [float(f.time) for f in frames]
    means = [float(f.to_ndarray(format="rgb24").mean()) for f in frames]
    size = (frames[0].width, frames[0].height) if frames else None
    return times, means, size, types


_source_means: dict[str, list[float]] = {}


def source_means(path):
    if str(path) not in _source_means:
        _source_means[str(path)] = probe(path)[1]
    return _source_means[str(path)]


def assert_prefix_of_source(out_path, src_path, count=None):
    times, means, _, _ = probe(out_path)
    expected = source_means(src_path)
    if count is not None:
        assert len(means) == count
    assert 1 <= len(means) <= len(expected)
    assert np.all(np.diff(means) > 0), "frames must keep their order"
    nearest = [int(np.argmin(np.abs(np.asarray(expected) - m))) for m in means]
    assert nearest == list(range(len(means))), "output frame i must look like source frame i"
    for i, t in enumerate(times):
        assert abs(t - i * PERIOD_S) < PERIOD_S, f"frame {i} at {t} s"
    return len(means)


TRANSCODE = """
    input_side_packet: "in" input_side_packet: "out"
    node {{ calculator: "VideoDecoderCalculator" input_side_packet: "INPUT_FILE_PATH:in"
           output_stream: "VIDEO:decoded" output_stream: "VIDEO_PRESTREAM:header"
           {audio_out}
           node_options {{ [type.googleapis.com/mediagraph.VideoDecoderCalculatorOptions] {{
             on_error: "{on_error}" }} }} }}
    {middle}
    node {{ calculator: "VideoEncoderCalculator" input_stream: "VIDEO:{to_encoder}"
           input_stream: "VIDEO_PRESTREAM:header" {audio_in}
           input_side_packet: "OUTPUT_FILE_PATH:out" }}
"""


def transcode_graph(audio=True, on_error="FAIL", middle="", to_encoder="decoded"):
    return Graph(TRANSCODE.format(
        audio_out='output_stream: "AUDIO:audio"' if audio else "",
        audio_in='input_stream: "AUDIO:audio"' if audio else "",
        on_error=on_error, middle=middle, to_encoder=to_encoder))


@pytest.mark.parametrize("audio", [True, False], ids=["with-audio", "video-only"])
def test_round_trip_keeps_frames_order_size_and_times(clip, tmp_path, audio):
    out = tmp_path / "out.mp4"
    transcode_graph(audio=audio).run(side_packets={"in": str(clip), "out": str(out)},
                                     timeout=60)
    assert_prefix_of_source(out, clip, count=FRAMES)
    _, _, size, types = probe(out)
    assert size == (160, 120)
    assert types == (["audio", "video"] if audio else ["video"])
    if audio:
        with av.open(str(out)) as container:
            total = sum(f.samples for f in container.decode(audio=0))
        assert abs(total / samples.AUDIO_RATE - FRAMES * PERIOD_S) < 0.1


def _frame(level, width=64, height=48):
    return ImageFrame(np.full((height, width, 3), level, np.uint8))


def test_timestamps_set_presentation_times(tmp_path):
    out = tmp_path / "vfr.mp4"
    stamps = [0, 100_000, 150_000, 400_000, 1_000_000]
    runner = CalculatorRunner("VideoEncoderCalculator")
    runner.run({"VIDEO": [(_frame(40 + 30 * i), ts) for i, ts in enumerate(stamps)]},
               {"OUTPUT_FILE_PATH": str(out)})
    times, means, _, types = probe(out)
    assert types == ["video"]
    assert np.allclose(times, [ts / 1e6 for ts in stamps], atol=1e-4)
    assert np.all(np.diff(means) > 0)


@pytest.mark.parametrize("options", [{"codec": "mpeg4", "bitrate": 400_000},
                                     {"crf": 30, "fps": 25.0},
                                     {"codec": "mjpeg", "pix_fmt": "yuvj420p"}])
def test_codec_options(tmp_path, options):
    out = tmp_path / ("out.avi" if options.get("codec") == "mjpeg" else "out.mp4")
    runner = CalculatorRunner("VideoEncoderCalculator", options=options)
    runner.run({"VIDEO": [(_frame(50 + 20 * i), i * 40_000) for i in range(5)]},
               {"OUTPUT_FILE_PATH": str(out)})
    times, _, _, _ = probe(out)
    assert len(times) == 5


def test_odd_sizes_are_cropped_to_even_for_yuv420p(tmp_path):
    out = tmp_path / "odd.mp4"
    CalculatorRunner("VideoEncoderCalculator").run(
        {"VIDEO": [(_frame(90, 65, 49), 0), (_frame(120, 65, 49), 33_333)]},
        {"OUTPUT_FILE_PATH": str(out)})
    assert probe(out)[2] == (64, 48)


@pytest.mark.parametrize("options, rate", [({}, 48_000), ({"audio_sample_rate": 22_050}, 22_050)])
def test_audio_is_encoded_from_audio_frames(tmp_path, options, rate):
    out = tmp_path / "av.mp4"
    tone = np.sin(np.arange(48_000) * 2 * np.pi * 440 / 48_000).astype(np.float32) * 0.5
    stereo = np.stack([tone, tone], axis=1)
    blocks = [(AudioFrame(stereo[i:i + 4800], 48_000), i * 1_000_000 // 48_000)
              for i in range(0, 48_000, 4800)]
    CalculatorRunner("VideoEncoderCalculator", options=options).run(
        {"VIDEO": [(_frame(60 + 10 * i), i * 100_000) for i in range(10)], "AUDIO": blocks},
        {"OUTPUT_FILE_PATH": str(out)})
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert (stream.rate, stream.codec_context.layout.nb_channels) == (rate, 2)
        total = sum(f.samples for f in container.decode(audio=0))
    assert abs(total - rate) <= 2048


@pytest.mark.parametrize("audio_start, video_start", [(0, 0), (300_000, 0), (0, 500_000)],
                         ids=["together", "audio-later", "video-later"])
def test_tracks_starting_at_different_times_are_both_written(tmp_path, audio_start,
                                                            video_start):
    out = tmp_path / "av.mkv"
    blocks = [(AudioFrame(np.zeros((1600, 1), np.float32), 16_000), audio_start + i * 100_000)
              for i in range(10)]
    frames = [(_frame(60 + 10 * i), video_start + i * 100_000) for i in range(8)]
    CalculatorRunner("VideoEncoderCalculator",  # MJPEG: no encoder delay, packets at once
                     options={"codec": "mjpeg", "pix_fmt": "yuvj420p"}).run(
        {"VIDEO": frames, "AUDIO": blocks}, {"OUTPUT_FILE_PATH": str(out)})
    times, _, _, types = probe(out)
    assert types == ["audio", "video"] and len(times) == 8


def test_changing_frame_size_fails_naming_the_file(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(CalculatorError, match="started at 64x48") as excinfo:
        CalculatorRunner("VideoEncoderCalculator").run(
            {"VIDEO": [(_frame(50), 0), (_frame(50, 32, 24), 1000)]},
            {"OUTPUT_FILE_PATH": str(out)})
    assert str(out) in str(excinfo.value)
    assert len(probe(out)[0]) == 1  # the first frame was still written and finalized


def test_unknown_codec_fails_naming_the_file(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(CalculatorError, match="no_such_codec") as excinfo:
        CalculatorRunner("VideoEncoderCalculator", options={"codec": "no_such_codec"}).run(
            {"VIDEO": [(_frame(50), 0)]}, {"OUTPUT_FILE_PATH": str(out)})
    assert str(out) in str(excinfo.value)


def test_a_run_without_frames_leaves_no_file(tmp_path):
    out = tmp_path / "none.mp4"
    CalculatorRunner("VideoEncoderCalculator").run({"VIDEO": []}, {"OUTPUT_FILE_PATH": str(out)})
    assert not out.exists()


def _not_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "out.mp4"


@pytest.mark.parametrize("make, expected", [
    (lambda d: d / "missing" / "out.mp4", "does not exist"),
    (_not_a_folder, "not a folder"),
    (lambda d: d, "is a folder"),
    (lambda d: d / "out.xyz", "cannot write video"),
], ids=["missing-folder", "parent-is-a-file", "path-is-a-folder", "unknown-container"])
def test_bad_output_path_fails_in_open_naming_it(tmp_path, make, expected):
    out = make(tmp_path)
    with pytest.raises(CalculatorError) as excinfo:
        CalculatorRunner("VideoEncoderCalculator").run({"VIDEO": [(_frame(1), 0)]},
                                                       {"OUTPUT_FILE_PATH": str(out)})
    assert excinfo.value.method == "open"
    assert str(out) in str(excinfo.value) and expected in str(excinfo.value)
    assert not out.is_file(), "a failed open leaves no file behind"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_unwritable_output_folder_fails_in_open(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    out = folder / "out.mp4"
    try:
        with pytest.raises(CalculatorError, match="cannot write video") as excinfo:
            CalculatorRunner("VideoEncoderCalculator").run({"VIDEO": [(_frame(1), 0)]},
                                                           {"OUTPUT_FILE_PATH": str(out)})
        assert str(out) in str(excinfo.value)
    finally:
        folder.chmod(0o700)


def test_truncated_input_fail_writes_good_frames_then_raises(clip, tmp_path):
    broken = samples.truncate(clip, 0.5)
    out = tmp_path / "partial.mp4"
    graph = transcode_graph(on_error="FAIL")
    seen = []
    graph.observe_output_stream("decoded", seen.append)
    with pytest.raises(CalculatorError, match="truncated") as excinfo:
        graph.run(side_packets={"in": str(broken), "out": str(out)}, timeout=60)
    assert str(broken) in str(excinfo.value)
    assert 10 < len(seen) < FRAMES
    # The decoder ends its streams with `raise Stop from error`: the encoder still
    # writes every good frame, then the run fails with the decoder's error.
    assert assert_prefix_of_source(out, clip) == len(seen)


def test_truncated_input_warn_ends_normally_with_good_frames(clip, tmp_path):
    broken = samples.truncate(clip, 0.5)
    out = tmp_path / "partial.mp4"
    graph = transcode_graph(on_error="WARN")
    seen = []
    graph.observe_output_stream("decoded", seen.append)
    graph.run(side_packets={"in": str(broken), "out": str(out)}, timeout=60)
    assert 10 < len(seen) < FRAMES
    assert_prefix_of_source(out, clip, count=len(seen))


class VideoTestFailAfter(Calculator):
    """Passes frames through; raises on frame `limit` (a failure mid-run)."""

    limit = 12
    frames = Input(ImageFrame, tag="VIDEO")
    out = Output(ImageFrame, tag="VIDEO")

    def open(self, cc):
        self.count = 0

    def process(self, cc):
        if self.count == self.limit:
            raise RuntimeError("boom after 12 frames")
        self.count += 1
        cc.send(self.out, cc.get(self.frames))


def test_failure_mid_run_leaves_a_playable_partial_output(clip, tmp_path):
    out = tmp_path / "partial.mp4"
    graph = transcode_graph(middle="""node { calculator: "VideoTestFailAfter"
        input_stream: "VIDEO:decoded" output_stream: "VIDEO:checked" }""",
                            to_encoder="checked")
    with pytest.raises(CalculatorError, match="boom"):
        graph.run(side_packets={"in": str(clip), "out": str(out)}, timeout=60)
    written = assert_prefix_of_source(out, clip)
    assert written <= VideoTestFailAfter.limit


def test_cancel_mid_run_leaves_a_playable_partial_output(clip, tmp_path):
    out = tmp_path / "cancelled.mp4"
    graph = transcode_graph()
    seen = []
    cancelled = threading.Event()

    def on_frame(packet):
        seen.append(packet)
        if len(seen) == 10:
            graph.cancel()  # from the run's callback thread: returns without waiting
            cancelled.set()

    graph.observe_output_stream("decoded", on_frame)
    graph.start_run({"in": str(clip), "out": str(out)})
    assert cancelled.wait(60)
    with pytest.raises(GraphCancelled):
        graph.wait_until_done(timeout=60)
    written = assert_prefix_of_source(out, clip)
    assert written < FRAMES
    assert timestamps(seen[:written]) == [round(i * 1e6 / FPS) for i in range(written)]


def test_colours_survive_the_rgb_to_yuv_conversion(tmp_path):
    """Saturated colour bars and a real photo come back as they went in (to codec loss)."""
    bars = np.zeros((96, 128, 3), np.uint8)
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0),
                                (0, 255, 255), (255, 0, 255), (255, 255, 255), (40, 40, 40)]):
        bars[:, i * 16:(i + 1) * 16] = colour
    photo = np.ascontiguousarray(samples.photo("astronaut")[:96 * 4:4, :128 * 4:4])
    out = tmp_path / "colours.mp4"
    CalculatorRunner("VideoEncoderCalculator", options={"crf": 0}).run(
        {"VIDEO": [(ImageFrame(bars), 0), (ImageFrame(photo), 33_333)]},
        {"OUTPUT_FILE_PATH": str(out)})
    with av.open(str(out)) as container:
        decoded = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    for sent, got in zip((bars, photo), decoded):
        error = np.abs(got - sent.astype(int))
        assert error.mean() < 3.0, error.mean()  # 4:2:0 chroma blurs only colour edges
        inner = error.reshape(96, 8, 16, 3)[:, :, 4:12] if sent is bars else error
        assert np.median(inner) <= 2


@pytest.mark.parametrize("height, width", [(96, 128), (90, 126), (2, 2)])
def test_rgb_to_i420_agrees_with_swscale(height, width):
    from mediagraph.colour import rgb_to_i420

    rgb = np.ascontiguousarray(samples.photo("astronaut")[:height, :width])
    ours = rgb_to_i420(rgb).astype(int)
    theirs = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p").to_ndarray().astype(int)
    assert ours.shape == theirs.shape == (height * 3 // 2, width)
    assert np.abs(ours - theirs).max() <= 8
    assert np.abs(ours - theirs).mean() < 1.0


def _encode(tmp_path, options, frames=5, size=(64, 48)):
    out = tmp_path / "out.mp4"
    CalculatorRunner("VideoEncoderCalculator", options=options).run(
        {"VIDEO": [(_frame(50 + 5 * i, *size), i * 40_000) for i in range(frames)]},
        {"OUTPUT_FILE_PATH": str(out)})
    return out


def test_preset_threads_and_codec_options_reach_the_encoder(tmp_path):
    out = _encode(tmp_path, {"preset": "ultrafast", "threads": 1,
                             "codec_options": ["tune=zerolatency", "g=10"]}, frames=25)
    # x264 writes its settings into the stream: ultrafast turns CABAC off, medium has it on.
    data = out.read_bytes()
    assert b"cabac=0" in data and b"keyint=10 " in data
    with av.open(str(out)) as container:
        keyframes = [p.pts for p in container.demux(video=0) if p.is_keyframe and p.size]
    assert len(keyframes) == 3  # frames 0, 10, 20
    assert b"cabac=1" in _encode(tmp_path, {}).read_bytes()  # the default: medium


@pytest.mark.parametrize(("options", "message"), [
    ({"codec_options": ["prest=fast"]}, r"codec 'libx264' for '.*out\.mp4' does not take option "
                                        r"prest"),
    ({"preset": "veryfsat"}, r"cannot encode video '.*out\.mp4' with codec 'libx264'.*veryfsat"),
    ({"codec": "mpeg4", "crf": 30}, r"codec 'mpeg4' .* does not take option crf")])
def test_encoder_options_it_cannot_use_are_errors(tmp_path, options, message):
    with pytest.raises(CalculatorError, match=message):
        _encode(tmp_path, options)


@pytest.mark.parametrize(("options", "message"), [
    ({"codec_options": ["tune"]}, r"codec_options entry 'tune': write \"key=value\"")])
def test_malformed_encoder_options_fail_at_validation(tmp_path, options, message):
    with pytest.raises(GraphConfigError, match=message):
        _encode(tmp_path, options)


def _x264_threading(path) -> bytes:
    import re

    found = re.search(rb"sliced_threads=\d", path.read_bytes())
    assert found, "no x264 settings in the stream"
    return found.group(0)


@pytest.mark.parametrize(("options", "sliced"), [
    ({}, b"sliced_threads=0"),  # frame threads: the throughput choice, by default
    ({"thread_type": "slice"}, b"sliced_threads=1"),
    ({"codec_options": ["tune=zerolatency"]}, b"sliced_threads=1"),  # live: no frame delay
    ({"codec_options": ["tune=zerolatency"], "thread_type": "frame"}, b"sliced_threads=0")])
def test_x264_threads_by_frame_unless_latency_matters(tmp_path, options, sliced):
    # x264 cuts slices only from frames tall enough to share out
    out = _encode(tmp_path, {"threads": 2, **options}, frames=8, size=(320, 240))
    assert _x264_threading(out) == sliced


def test_an_unknown_thread_type_is_named(tmp_path):
    with pytest.raises(GraphConfigError, match=r"thread_type 'fibre': use frame, slice or auto"):
        _encode(tmp_path, {"thread_type": "fibre"})


def _i420_frames(count=4, width=64, height=48):
    rng = np.random.default_rng(7)

    def never_rgb():
        raise AssertionError("the encoder converted an I420 frame to RGB")

    planes = [rng.integers(16, 236, (height * 3 // 2, width), dtype=np.uint8)
              for _ in range(count)]
    return [ImageFrame.from_i420(p, never_rgb) for p in planes], planes


def test_i420_frames_are_encoded_from_their_planes(tmp_path):
    # Lossless x264 (crf 0) gives back exactly the planes that went in: no RGB round trip.
    frames, planes = _i420_frames()
    out = tmp_path / "planes.mp4"
    CalculatorRunner("VideoEncoderCalculator", options={"crf": 0}).run(
        {"VIDEO": [(f, i * 40_000) for i, f in enumerate(frames)]},
        {"OUTPUT_FILE_PATH": str(out)})
    with av.open(str(out)) as container:
        decoded = [f.to_ndarray() for f in container.decode(video=0)]
    assert len(decoded) == len(planes)
    for got, want in zip(decoded, planes):
        assert np.array_equal(got, want)


def test_strided_i420_planes_are_encoded_too(tmp_path):
    _, planes = _i420_frames(3)
    wide = [np.concatenate([p, p], axis=1)[:, :64] for p in planes]  # not contiguous
    assert not wide[0].flags.c_contiguous
    out = tmp_path / "strided.mp4"
    CalculatorRunner("VideoEncoderCalculator", options={"crf": 0}).run(
        {"VIDEO": [(ImageFrame.from_i420(p), i * 40_000) for i, p in enumerate(wide)]},
        {"OUTPUT_FILE_PATH": str(out)})
    with av.open(str(out)) as container:
        decoded = [f.to_ndarray() for f in container.decode(video=0)]
    assert len(decoded) == 3
    assert all(np.array_equal(got, want) for got, want in zip(decoded, planes))


def test_i420_frames_for_another_pixel_format_go_through_rgb(tmp_path):
    frames, planes = _i420_frames(2)
    frames = [ImageFrame.from_i420(p) for p in planes]  # default converter
    out = tmp_path / "out.avi"
    CalculatorRunner("VideoEncoderCalculator",
                     options={"codec": "mjpeg", "pix_fmt": "yuvj420p"}).run(
        {"VIDEO": [(f, i * 40_000) for i, f in enumerate(frames)]},
        {"OUTPUT_FILE_PATH": str(out)})
    times, _, _, _ = probe(out)
    assert len(times) == 2


def _x264_threads(path) -> int:
    import re

    found = re.search(rb" threads=(\d+)", path.read_bytes())
    assert found, "no x264 settings in the stream"
    return int(found.group(1))


def test_x264_gets_at_least_six_frame_threads_unless_told(tmp_path):
    from mediagraph.calculators.io.video_encoder import _x264_frame_threads

    assert _x264_frame_threads() >= 6
    assert _x264_threads(_encode(tmp_path, {}, frames=8, size=(640, 480))) == \
        _x264_frame_threads()
    assert _x264_threads(_encode(tmp_path, {"threads": 2}, frames=8, size=(640, 480))) == 2
    sliced = _encode(tmp_path, {"thread_type": "slice"}, frames=8, size=(640, 480))
    assert _x264_threading(sliced) == b"sliced_threads=1"


def test_an_existing_output_survives_a_run_that_writes_nothing(clip, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier result")
    with pytest.raises(CalculatorError, match="not found"):
        transcode_graph(audio=False).run(
            side_packets={"in": str(tmp_path / "missing.mp4"), "out": str(out)}, timeout=30)
    assert out.read_bytes() == b"an earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no temporary left


class OutputPeekCalculator(Calculator):
    """Reads the file at PATH whenever a frame passes: what a user sees mid-run."""
    image = Input(ImageFrame, tag="IMAGE", formats=tuple(ImageFormat))
    path = SideInput(str, tag="PATH")
    out_image = Output(ImageFrame, tag="IMAGE")
    seen: list[bytes] = []

    def process(self, cc):
        self.seen.append(open(cc.side(self.path), "rb").read())
        cc.send(self.out_image, cc.get(self.image))


def test_the_output_appears_whole_under_its_name_only_when_finalized(clip, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    OutputPeekCalculator.seen = []
    graph = transcode_graph(audio=False, middle=(
        'node { calculator: "OutputPeekCalculator" input_stream: "IMAGE:decoded" '
        'input_side_packet: "PATH:out" output_stream: "IMAGE:peeked" }'), to_encoder="peeked")
    graph.run(side_packets={"in": str(clip), "out": str(out)}, timeout=60)
    assert set(OutputPeekCalculator.seen) == {b"old"} and len(OutputPeekCalculator.seen) == FRAMES
    assert probe(out)[0] and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


_THREAD_COUNT_CHILD = """
import json, os, sys, time
import mediagraph.calculators
from mediagraph import Graph

def count():
    return len(os.listdir("/proc/self/task"))

def settled(at_most=None, seconds=10.0):
    # A thread Python has joined may still be leaving the kernel's task list: wait for
    # the count to reach `at_most` (or to hold still), with a deadline.
    deadline, last, same = time.monotonic() + seconds, count(), 0
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = count()
        same = same + 1 if now == last else 0
        last = now
        if (at_most is not None and now <= at_most) or (at_most is None and same >= 5):
            break
    return last

config, clip, folder = json.loads(sys.argv[1])
graph = Graph(config)
graph.run(side_packets={"in": clip, "out": os.path.join(folder, "warm.mp4")}, timeout=60)
before = settled()
graph.run(side_packets={"in": clip, "out": os.path.join(folder, "out.mp4")}, timeout=60)
print(json.dumps([before, settled(at_most=before)]))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_a_finished_run_leaves_no_codec_threads_while_the_graph_lives(clip, tmp_path):
    # x264's frame threads and lookahead hold tens of MiB; the decoder and encoder let
    # them go when the run ends, not when the graph (which keeps its calculators) is
    # collected. The first run warms up whatever pools the libraries start once. The
    # runs are in a fresh interpreter: in this one, other tests' libraries (audio
    # devices, runtimes' pools) may start a thread of their own at any moment.
    config = TRANSCODE.format(audio_out="", audio_in="", on_error="FAIL", middle="",
                              to_encoder="decoded").replace(
        'input_side_packet: "OUTPUT_FILE_PATH:out" }',
        'input_side_packet: "OUTPUT_FILE_PATH:out" options { '
        '[mediagraph.VideoEncoderCalculatorOptions.ext] { threads: 6 } } }')
    child = subprocess.run([sys.executable, "-c", _THREAD_COUNT_CHILD,
                            json.dumps([config, str(clip), str(tmp_path)])],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    before, after = json.loads(child.stdout.splitlines()[-1])
    assert after <= before
    assert_prefix_of_source(tmp_path / "out.mp4", clip, count=FRAMES)
