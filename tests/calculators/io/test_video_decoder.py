"""VideoDecoderCalculator: frames, header and audio from a file; damaged and bad inputs."""

from __future__ import annotations

import logging

import av
import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.formats import VideoHeader
from mediagraph import CalculatorError, Graph, GraphConfigError, Timestamp
from mediagraph.testing import samples
from mediagraph.colour import convert
from mediagraph.formats import AudioFrame, ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(120)

FPS = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return samples.make_video(tmp_path_factory.mktemp("media") / "clip.mp4", frames=45,
                              width=160, height=120, fps=FPS)


def decode(path, options=None, outputs=("VIDEO",)):
    runner = CalculatorRunner("VideoDecoderCalculator", options=options, outputs=list(outputs))
    return runner.run({}, {"INPUT_FILE_PATH": str(path)}, timeout=60)


def rgb(frame):
    return convert(frame, ImageFormat.SRGB).to_ndarray()


def brightness(packets):
    return [float(rgb(p.value).mean()) for p in packets]


def frame_times(n, start=0):
    return [round((start + i) * 1_000_000 / FPS) for i in range(n)]


def test_frames_come_in_order_with_pts_timestamps(clip):
    frames = decode(clip)["VIDEO"]
    assert timestamps(frames) == frame_times(45)
    first = frames[0].value
    assert isinstance(first, ImageFrame) and first.format == ImageFormat.YCBCR420P
    assert (first.width, first.height) == (160, 120)
    assert np.all(np.diff(brightness(frames)) > 0)


def test_header_goes_out_before_the_stream(clip):
    out = decode(clip, outputs=("VIDEO", "VIDEO_PRESTREAM"))
    [header] = out["VIDEO_PRESTREAM"]
    assert header.timestamp == Timestamp.PRE_STREAM
    assert header.value == VideoHeader(width=160, height=120, frame_rate=30.0, duration=1.5,
                                       frame_count=45, codec="h264",
                                       audio_sample_rate=samples.AUDIO_RATE, audio_channels=1)


def test_audio_covers_the_clip_in_float32(clip):
    out = decode(clip, outputs=("VIDEO", "AUDIO"))
    audio = out["AUDIO"]
    assert all(isinstance(p.value, AudioFrame) and p.value.data.dtype == np.float32
               for p in audio)
    ts = timestamps(audio)
    assert ts == sorted(set(ts)) and ts[0] == 0
    total = sum(p.value.num_samples for p in audio)
    assert abs(total / samples.AUDIO_RATE - 1.5) < 0.05
    peak = max(float(np.abs(p.value.data).max()) for p in audio)
    assert 0.2 < peak < 0.4  # the 0.3 amplitude tone
    assert len(out["VIDEO"]) == 45


def test_start_and_end_time_select_a_range(clip):
    out = decode(clip, {"start_time_s": 0.5, "end_time_s": 1.0}, outputs=("VIDEO", "AUDIO"))
    assert timestamps(out["VIDEO"]) == frame_times(15, start=15)
    audio_ts = timestamps(out["AUDIO"])
    assert audio_ts[0] >= 500_000 and audio_ts[-1] < 1_000_000


@pytest.mark.parametrize("thread_type", ["AUTO", "NONE", "FRAME"])
def test_thread_types_decode_the_same_frames(clip, thread_type):
    frames = decode(clip, {"thread_type": thread_type})["VIDEO"]
    assert timestamps(frames) == frame_times(45)


def _audio_only(path):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("make, expected", [
    (lambda d: d / "missing.mp4", "not found"),
    (lambda d: (d / "empty.mp4").write_bytes(b"") and None or d / "empty.mp4", "empty"),
    (lambda d: (d / "text.mp4").write_text("not a video\n") and d / "text.mp4", "cannot open"),
    (lambda d: _audio_only(d / "sound.m4a"), "no video stream"),
    (lambda d: d, "folder"),
], ids=["missing", "zero-length", "text-renamed-mp4", "no-video-stream", "folder"])
def test_unreadable_input_fails_in_open_naming_the_path(tmp_path, make, expected):
    path = make(tmp_path)
    with pytest.raises(CalculatorError) as excinfo:
        decode(path)
    assert excinfo.value.method == "open"
    assert str(path) in str(excinfo.value) and expected in str(excinfo.value)


@pytest.mark.parametrize("options, message", [
    ({"on_error": "IGNORE"}, "on_error must be one of"),
    ({"thread_type": "MANY"}, "thread_type must be one of"),
    ({"start_time_s": 2.0, "end_time_s": 1.0}, r"end_time_s \(1.0\) must be after start_time_s")])
def test_bad_options_fail_at_validation(clip, options, message):
    with pytest.raises(GraphConfigError, match=message):
        decode(clip, options)


def _run_collecting(path, on_error):
    graph = Graph(f"""
        input_side_packet: "path"
        node {{ calculator: "VideoDecoderCalculator" input_side_packet: "INPUT_FILE_PATH:path"
               output_stream: "VIDEO:frames" output_stream: "AUDIO:audio"
               node_options {{ [type.googleapis.com/mediagraph.VideoDecoderCalculatorOptions] {{
                 on_error: "{on_error}" }} }} }}""")
    frames = []
    graph.observe_output_stream("frames", frames.append)
    graph.start_run({"path": str(path)})
    return graph, frames


@pytest.mark.parametrize("fraction", [0.5, 0.02])
def test_truncated_file_keeps_good_frames_then_fails(clip, fraction):
    broken = samples.truncate(clip, fraction)
    graph, frames = _run_collecting(broken, "FAIL")
    with pytest.raises(CalculatorError) as excinfo:
        graph.wait_until_done(timeout=60)
    message = str(excinfo.value)
    assert str(broken) in message and "truncated" in message
    assert len(frames) < 45
    assert timestamps(frames) == frame_times(len(frames))
    if frames:
        assert f"last good timestamp {int(frames[-1].timestamp)}" in message
        assert fraction < 0.1 or len(frames) > 10


def test_truncated_file_with_warn_ends_normally(clip, caplog):
    broken = samples.truncate(clip, 0.5)
    graph, frames = _run_collecting(broken, "WARN")
    with caplog.at_level(logging.WARNING, logger="calculators.io.video_decoder"):
        graph.wait_until_done(timeout=60)
    assert 10 < len(frames) < 45
    assert timestamps(frames) == frame_times(len(frames))
    assert any(str(broken) in r.getMessage() for r in caplog.records)


def test_variable_frame_rate_timestamps_survive_encode_and_decode(tmp_path):
    out = tmp_path / "vfr.mp4"
    stamps = [0, 100_000, 150_000, 400_000, 1_000_000, 1_010_000]
    frames = [(ImageFrame(np.full((48, 64, 3), 30 + 30 * i, np.uint8)), ts)
              for i, ts in enumerate(stamps)]
    CalculatorRunner("VideoEncoderCalculator").run({"VIDEO": frames},
                                                   {"OUTPUT_FILE_PATH": str(out)})
    decoded = decode(out, {"on_error": "FAIL"})["VIDEO"]
    assert timestamps(decoded) == stamps
    assert np.all(np.diff(brightness(decoded)) > 0)


def test_non_utf8_metadata_does_not_stop_the_file_opening(tmp_path):
    path = samples.make_video(tmp_path / "clip.mp4", frames=10, width=32, height=32)
    data = path.read_bytes()
    assert data.count(b"VideoHandler") == 1
    path.write_bytes(data.replace(b"VideoHandler", b"Vid\xe9oHandler"[:12]))  # Latin-1
    out = decode(path, outputs=("VIDEO", "AUDIO"))
    assert timestamps(out["VIDEO"]) == frame_times(10)
    assert out["AUDIO"]


def test_an_audio_track_without_a_decoder_leaves_the_video_decodable(tmp_path):
    path = samples.make_video(tmp_path / "clip.mkv", frames=10, width=32, height=32)
    data = path.read_bytes()
    assert data.count(b"A_AAC") == 1
    path.write_bytes(data.replace(b"A_AAC", b"A_ZZZ"))  # a codec FFmpeg does not know
    out = decode(path, outputs=("VIDEO", "VIDEO_PRESTREAM", "AUDIO"))
    assert out["AUDIO"] == []
    assert len(out["VIDEO"]) == 10  # Matroska keeps milliseconds
    [header] = out["VIDEO_PRESTREAM"]
    assert header.value.audio_sample_rate == 0 and header.value.audio_channels == 0


def _no_movie_header(path):
    """An MP4 whose movie header box is renamed: its tracks still list frames, none plays."""
    data = path.read_bytes()
    assert data.count(b"mvhd") == 1
    path.write_bytes(data.replace(b"mvhd", b"mvhX"))
    return path


@pytest.mark.parametrize("suffix, damage", [(".mp4", _no_movie_header),
                                            (".mkv", lambda path: samples.truncate(path, 0.5))],
                         ids=["mp4-without-movie-header", "mkv-truncated"])
def test_a_damaged_file_that_decodes_quietly_still_fails_naming_the_file(tmp_path, suffix,
                                                                          damage):
    path = damage(samples.make_video(tmp_path / f"clip{suffix}", frames=20, width=32,
                                     height=32, fps=FPS))
    graph, frames = _run_collecting(path, "FAIL")
    with pytest.raises(CalculatorError) as excinfo:
        graph.wait_until_done(timeout=60)
    assert str(path) in str(excinfo.value) and "truncated" in str(excinfo.value)
    assert len(frames) < 20


def test_frames_match_pyav_conversion_across_a_size_change(tmp_path):
    # The decoder reuses one swscale converter for the whole run; a stream whose frame
    # size changes midway (two MPEG-TS clips back to back) must still convert each
    # frame exactly as PyAV's own to_ndarray(format="rgb24") does.
    first = samples.make_video(tmp_path / "a.ts", frames=10, width=160, height=120, fps=FPS)
    second = samples.make_video(tmp_path / "b.ts", frames=10, width=96, height=64, fps=FPS)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    with av.open(str(joined)) as container:
        expected = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    frames = [rgb(p.value) for p in decode(joined)["VIDEO"]]
    assert {f.shape for f in frames} == {(120, 160, 3), (64, 96, 3)}
    assert len(frames) == len(expected)
    for got, want in zip(frames, expected):
        assert np.array_equal(got, want)


def test_yuv420p_frames_are_ycbcr420p_planes_and_convert_to_pyavs_rgb(clip):
    frames = [p.value for p in decode(clip)["VIDEO"]]
    with av.open(str(clip)) as container:
        decoded = list(container.decode(video=0))
    assert all(f.format == ImageFormat.YCBCR420P for f in frames)
    assert np.array_equal(frames[3].data, decoded[3].to_ndarray())
    assert (frames[3].width, frames[3].height, frames[3].shape) == (160, 120, (120, 160, 3))
    assert np.array_equal(rgb(frames[3]), decoded[3].to_ndarray(format="rgb24"))


def _bt709_clip(path):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.colorspace = 1  # BT.709
        stream.codec_context.color_range = 1  # MPEG (limited)
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), (200, 40 + 60 * i, 90), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_a_bt709_video_is_converted_with_its_own_matrix(tmp_path):
    # The I420 shortcut assumes BT.601; a BT.709-tagged video gets swscale's RGB at once.
    clip = _bt709_clip(tmp_path / "709.mp4")
    with av.open(str(clip)) as container:
        decoded = list(container.decode(video=0))
    assert int(decoded[0].colorspace) == 1
    frames = [p.value for p in decode(clip)["VIDEO"]]
    assert len(frames) == 3 and all(f.format != ImageFormat.YCBCR420P for f in frames)
    for got, want in zip(frames, decoded):
        assert np.array_equal(got.data, want.to_ndarray(format="rgb24"))


@pytest.mark.parametrize("colorspace, color_range", [(5, 1), (6, 0), (2, 1)])
def test_bt601_tagged_videos_keep_planes_and_convert_like_pyav(tmp_path, colorspace,
                                                               color_range):
    path = tmp_path / "601.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.colorspace = colorspace
        stream.codec_context.color_range = color_range
        rng = np.random.default_rng(colorspace)
        for i in range(3):
            image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    # (x264 writes the range only along with a colour description: tags may come back
    # unspecified, which swscale reads as BT.601 limited range too)
    assert int(decoded[0].colorspace) in (2, colorspace) and int(decoded[0].color_range) in (0, 1)
    frames = [p.value for p in decode(path)["VIDEO"]]
    assert len(frames) == 3 and all(f.format == ImageFormat.YCBCR420P for f in frames)
    for got, want in zip(frames, decoded):
        assert np.array_equal(rgb(got), want.to_ndarray(format="rgb24"))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """60 frames with 20 KB overwritten a third of the way in, and how many frames FFmpeg
    itself gets out of it when it leaves out the packets it cannot read."""
    path = samples.make_video(tmp_path_factory.mktemp("damaged") / "d.mp4", frames=60,
                              width=640, height=480, audio=False,
                              frame_fn=lambda i, w, h, fps: np.random.default_rng(i).integers(
                                  0, 255, (h, w, 3), dtype=np.uint8))
    samples.overwrite(path, 1 / 3, 20_000, seed=7)
    readable = len(samples.readable_frames(path, "video"))
    return path, readable


def test_skip_keeps_every_frame_ffmpeg_can_read_past_the_damage(damaged, caplog):
    path, readable = damaged
    runner = CalculatorRunner("VideoDecoderCalculator", options={"on_error": "SKIP"})
    with caplog.at_level(logging.WARNING):
        out = runner.run({}, {"INPUT_FILE_PATH": str(path)}, timeout=60)
    assert len(out["VIDEO"]) == readable and readable > 30
    warnings = [r for r in caplog.records if "skipping the packets" in r.getMessage()]
    assert len(warnings) == 1  # once per run, however many packets
    skipped = runner.graph.profile().nodes[-1].info["damaged packets skipped"]
    assert skipped > 0


def test_fail_is_still_the_default_and_stops_at_the_damage(damaged):
    path, readable = damaged
    runner = CalculatorRunner("VideoDecoderCalculator")
    with pytest.raises(CalculatorError, match="damaged or truncated") as info:
        runner.run({}, {"INPUT_FILE_PATH": str(path)}, timeout=60)
    assert "UNSTARTED" not in str(info.value)  # names where in the file it broke


@pytest.mark.parametrize("name, text", [
    ("list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2.0,\n{clip}\n#EXT-X-ENDLIST\n"),
    ("list.ffconcat", "ffconcat version 1.0\nfile '{clip}'\n"),
])
def test_a_playlist_cannot_make_the_decoder_open_other_files(clip, tmp_path, name, text):
    playlist = tmp_path / name
    playlist.write_text(text.format(clip=clip))
    for calculator, port in (("VideoDecoderCalculator", "INPUT_FILE_PATH"),
                             ("AudioDecoderCalculator", "INPUT_FILE_PATH")):
        with pytest.raises(CalculatorError, match="not a single media file") as info:
            CalculatorRunner(calculator).run({}, {port: str(playlist)}, timeout=30)
        assert str(playlist) in str(info.value)


def test_a_graph_may_allow_a_playlist_by_naming_its_demuxer(clip, tmp_path):
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2.0,\n{clip}\n"
                        "#EXT-X-ENDLIST\n")
    out = decode(playlist, options={"demuxers": "hls,mov"})
    assert len(out["VIDEO"]) == len(decode(clip)["VIDEO"])
