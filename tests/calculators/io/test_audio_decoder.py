"""AudioDecoderCalculator: fixed-size frames, exact timestamps, resampling, bad files."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.io.audio_decoder import AudioDecoderCalculator, sample_timestamp
from mediagraph.formats import AudioHeader
from mediagraph import (Calculator, CalculatorContext, CalculatorError, Graph, Input,
                        MediaGraphError, Output, SideInput, Stop, Timestamp)
from mediagraph.testing import samples
from mediagraph.testing import CalculatorRunner, timestamps

pytestmark = pytest.mark.timeout(120)

RATE = 44100
SILENCE = (0.5, 1.0)  # seconds of silence inside every generated tone


def tone(rate: int = RATE, seconds: float = 2.5, channels: int = 2) -> np.ndarray:
    """A 440 Hz tone (samples x channels, float32) with silence over SILENCE."""
    n = int(rate * seconds)
    t = np.arange(n) / rate
    mono = 0.5 * np.sin(2 * np.pi * 440 * t)
    mono[int(SILENCE[0] * rate):int(SILENCE[1] * rate)] = 0.0
    return np.stack([mono * (1.0 - 0.25 * c) for c in range(channels)], axis=1).astype(np.float32)


def write_audio(path, data: np.ndarray, rate: int = RATE, codec: str = "pcm_s16le") -> None:
    """Write `data` (samples x channels float32) with PyAV."""
    import av

    layout = {1: "mono", 2: "stereo"}[data.shape[1]]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        stream.codec_context.open()
        resampler = av.AudioResampler(format=stream.codec_context.format, layout=layout,
                                      rate=rate, frame_size=stream.codec_context.frame_size or None)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data).reshape(1, -1),
                                           format="flt", layout=layout)
        frame.sample_rate = rate
        for out in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(out):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def decode(path, **options) -> dict:
    runner = CalculatorRunner("AudioDecoderCalculator", options=options or None)
    return runner.run(side_packets={"INPUT_FILE_PATH": str(path)})


def joined(frames) -> np.ndarray:
    return np.concatenate([p.value.to_ndarray() for p in frames])


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "tone.wav"
    write_audio(path, tone())
    return path


def test_frames_are_frame_size_long_with_exact_first_sample_timestamps(wav):
    out = decode(wav)
    frames = out["AUDIO"]
    sizes = [p.value.num_samples for p in frames]
    assert all(s == 1024 for s in sizes[:-1]) and 0 < sizes[-1] <= 1024
    assert sum(sizes) == int(RATE * 2.5)
    assert timestamps(frames) == [n * 1024 * 1_000_000 // RATE for n in range(len(frames))]
    assert all(p.value.sample_rate == RATE and p.value.num_channels == 2 for p in frames)


def test_samples_match_the_file_including_its_silence(wav):
    samples = joined(decode(wav)["AUDIO"])
    expected = tone()
    assert samples.dtype == np.float32 and samples.shape == expected.shape
    np.testing.assert_allclose(samples, expected, atol=1e-3)  # 16-bit PCM
    silent = samples[int(SILENCE[0] * RATE):int(SILENCE[1] * RATE)]
    assert np.abs(silent).max() == 0.0


def test_header_arrives_at_pre_stream(wav):
    [header] = decode(wav)["AUDIO_HEADER"]
    assert header.timestamp == Timestamp.PRE_STREAM
    assert header.value == AudioHeader(sample_rate=RATE, num_channels=2,
                                       duration=pytest.approx(2.5), frame_size=1024)


def test_resampling_to_16k_mono_keeps_the_duration(wav):
    out = decode(wav, sample_rate=16000, channels=1, frame_size=512)
    frames = out["AUDIO"]
    assert abs(sum(p.value.num_samples for p in frames) - 16000 * 2.5) <= 512
    assert all(p.value.sample_rate == 16000 and p.value.num_channels == 1 for p in frames)
    assert timestamps(frames)[7] == 7 * 512 * 1_000_000 // 16000
    assert out["AUDIO_HEADER"][0].value.sample_rate == 16000
    samples = joined(frames)[:, 0]
    assert np.abs(samples[int(0.6 * 16000):int(0.9 * 16000)]).max() < 1e-3  # still silent
    assert np.abs(samples[int(0.1 * 16000):int(0.4 * 16000)]).max() > 0.3


def test_frame_size_zero_passes_decoded_frames_with_exact_timestamps(wav):
    frames = decode(wav, frame_size=0)["AUDIO"]
    starts = np.cumsum([0] + [p.value.num_samples for p in frames[:-1]])
    assert timestamps(frames) == [int(s) * 1_000_000 // RATE for s in starts]
    assert sum(p.value.num_samples for p in frames) == int(RATE * 2.5)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 96000])
def test_timestamps_do_not_drift_over_an_hour(rate):
    frames_per_hour = rate * 3600 // 1024
    assert sample_timestamp(frames_per_hour * 1024, rate) == (
        frames_per_hour * 1024 * 1_000_000 // rate)
    assert sample_timestamp(rate * 3600, rate) == 3_600_000_000
    stamps = [sample_timestamp(n * 1024, rate) for n in range(frames_per_hour - 3,
                                                               frames_per_hour)]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))


def _video_only(path):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8),
                                               format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.mark.parametrize("make, expected", [
    (None, "does not exist"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(b"this is not audio at all" * 50), "cannot read"),
    (_video_only, "no audio stream"),
], ids=["missing", "zero_length", "garbage", "video_only"])
def test_unreadable_input_fails_in_open_naming_the_path(tmp_path, make, expected):
    path = tmp_path / "input.mp4"
    if make is not None:
        make(path)
    with pytest.raises(MediaGraphError) as info:
        decode(path)
    error = info.value
    assert isinstance(error, CalculatorError) and error.method == "open"
    assert str(path) in str(error) and expected in str(error)


def test_video_file_audio_track_is_decoded(tmp_path):
    import av

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono")
        audio.codec_context.open()
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=16000, frame_size=1024)
        frame = av.AudioFrame.from_ndarray(tone(16000, 1.0, 1).reshape(1, -1), format="flt",
                                           layout="mono")
        frame.sample_rate = 16000
        for out in resampler.resample(frame) + resampler.resample(None):
            for packet in audio.encode(out):
                container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
        vframe = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        for packet in list(video.encode(vframe)) + list(video.encode(None)):
            container.mux(packet)
    frames = decode(path)["AUDIO"]
    assert abs(sum(p.value.num_samples for p in frames) - 16000) <= 2 * 1024  # AAC delay


@pytest.mark.parametrize("calculator, side", [("AudioDecoderCalculator", "INPUT_FILE_PATH"),
                                              ("AudioEncoderCalculator", "OUTPUT_FILE_PATH")])
def test_missing_pyav_is_a_missing_dependency_error(monkeypatch, wav, calculator, side):
    import sys

    from mediagraph import MissingDependencyError

    monkeypatch.setitem(sys.modules, "av", None)
    inputs = {"AUDIO": []} if calculator == "AudioEncoderCalculator" else None
    with pytest.raises(MediaGraphError) as info:
        CalculatorRunner(calculator).run(inputs, {side: str(wav)})
    assert isinstance(info.value.__cause__, MissingDependencyError)
    assert "pip install av" in str(info.value) and calculator in str(info.value)


# -- damaged files: keep what was decoded, then fail naming the file --------------------------

class HeldUntilAudioDecoderEnds(Calculator):
    """A slow consumer: its first frame waits until the decoder has ended (or failed)."""

    frame = Input(tag="")
    out = Output(tag="")
    release = SideInput(threading.Event, tag="RELEASE")

    def process(self, cc: CalculatorContext) -> None:
        if not cc.side(self.release).wait(30):
            raise TimeoutError("the decoder never ended")
        cc.send(self.out, cc.get(self.frame))


def _decode_collecting(path, *, gate=None, **options):
    """Run the decoder in a graph (behind `gate` if given); return (frames, error)."""
    node_options = "".join(f" {k}: {v}" for k, v in options.items())
    gated = gate is not None
    graph = Graph(f"""
        input_side_packet: "path" input_side_packet: "release" num_threads: 2
        node {{ calculator: "AudioDecoderCalculator" input_side_packet: "INPUT_FILE_PATH:path"
               output_stream: "AUDIO:audio"
               node_options {{ [type.googleapis.com/mediagraph.AudioDecoderCalculatorOptions] {{
                 {node_options} }} }} }}
        {'node { calculator: "HeldUntilAudioDecoderEnds" input_stream: "audio" '
         'output_stream: "out" input_side_packet: "RELEASE:release" }' if gated else ''}""")
    frames = []
    graph.observe_output_stream("out" if gated else "audio", frames.append)
    graph.start_run({"path": str(path), "release": gate or threading.Event()})
    try:
        graph.wait_until_done(timeout=60)
    except MediaGraphError as exc:
        return frames, exc
    return frames, None


@pytest.fixture
def truncated_flac(tmp_path):
    path = tmp_path / "tone.flac"
    write_audio(path, tone(), codec="flac")
    return samples.truncate(path, 0.6)


def test_truncated_file_keeps_every_decoded_frame_downstream_then_fails(truncated_flac,
                                                                        monkeypatch):
    ended = threading.Event()
    sent = []
    original = AudioDecoderCalculator.process

    def process(self, cc):
        try:
            result = original(self, cc)
        except BaseException:
            ended.set()
            raise
        if result is Stop:
            ended.set()
        else:
            sent.append(1)
        return result

    monkeypatch.setattr(AudioDecoderCalculator, "process", process)
    frames, error = _decode_collecting(truncated_flac, gate=ended)
    assert isinstance(error, CalculatorError)
    assert len(sent) > 10 and len(frames) == len(sent)
    message = str(error)
    assert str(truncated_flac) in message and "truncated" in message
    assert f"last good timestamp {int(frames[-1].timestamp)} µs" in message


def test_damage_keeps_the_same_samples_whatever_the_frame_size(truncated_flac):
    chunked, error = _decode_collecting(truncated_flac, frame_size=1000)  # FLAC: 4096 a frame
    as_decoded, _ = _decode_collecting(truncated_flac, frame_size=0)
    assert isinstance(error, CalculatorError)
    sizes = [p.value.num_samples for p in chunked]
    assert all(s == 1000 for s in sizes[:-1]) and sizes[-1] < 1000
    assert sum(sizes) == sum(p.value.num_samples for p in as_decoded) > RATE
    np.testing.assert_array_equal(joined(chunked), joined(as_decoded))


def _mp3_with_mono_frames(path, mono=range(20, 30)):
    """An MP3 whose frame headers say mono for the frames in `mono` (one flipped field)."""
    import av

    write_audio(path, tone(), codec="libmp3lame")
    with av.open(str(path)) as container:
        positions = [p.pos for p in container.demux(audio=0) if p.size and p.pos >= 0]
    data = bytearray(path.read_bytes())
    for index in mono:
        assert data[positions[index]] == 0xFF  # a frame header's sync byte
        data[positions[index] + 3] |= 0xC0  # channel mode: single channel
    path.write_bytes(bytes(data))
    return path


def test_channel_layout_change_mid_stream_keeps_the_output_layout(tmp_path):
    frames = decode(_mp3_with_mono_frames(tmp_path / "stereo_mono_stereo.mp3"))["AUDIO"]
    assert all(p.value.num_channels == 2 and p.value.sample_rate == RATE for p in frames)
    sizes = [p.value.num_samples for p in frames]
    assert all(s == 1024 for s in sizes[:-1])
    assert abs(sum(sizes) - RATE * 2.5) < 2 * 1152
    assert timestamps(frames) == [n * 1024 * 1_000_000 // RATE for n in range(len(frames))]


def test_non_utf8_metadata_does_not_stop_the_file_opening(tmp_path):
    path = samples.make_video(tmp_path / "clip.mp4", frames=10, width=32, height=32)
    data = path.read_bytes()
    assert data.count(b"SoundHandler") == 1
    path.write_bytes(data.replace(b"SoundHandler", b"Son\xe9Handler\xe9"))  # Latin-1
    frames = decode(path)["AUDIO"]
    assert sum(p.value.num_samples for p in frames) > samples.AUDIO_RATE // 4


def _no_samples_listed(data: bytearray) -> None:
    stsz = data.index(b"stsz")
    data[stsz + 12:stsz + 16] = bytes(4)  # sample count


def _no_chunks_and_no_duration(data: bytearray) -> None:
    """The sample table still counts the frames, but says where none of them is."""
    stco = data.index(b"stco")
    data[stco + 8:stco + 12] = bytes(4)  # chunk count
    for box, offset in ((b"mdhd", 20), (b"mvhd", 20), (b"tkhd", 24)):
        at = data.index(box)
        data[at + offset:at + offset + 4] = bytes(4)  # duration


@pytest.mark.parametrize("damage", [_no_samples_listed, _no_chunks_and_no_duration])
def test_a_file_whose_audio_decodes_to_nothing_fails_naming_the_file(tmp_path, damage):
    path = tmp_path / "tone.m4a"
    write_audio(path, tone(), codec="aac")
    data = bytearray(path.read_bytes())
    damage(data)
    path.write_bytes(bytes(data))
    frames, error = _decode_collecting(path)
    assert frames == [] and isinstance(error, CalculatorError)
    assert str(path) in str(error) and "before the first frame" in str(error)


def test_a_sample_rate_too_high_for_microsecond_timestamps_fails_in_open(tmp_path):
    path = tmp_path / "tone.wav"
    write_audio(path, tone())
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"fmt " and int.from_bytes(data[24:28], "little") == RATE
    data[24:28] = (1_610_634_786).to_bytes(4, "little")  # a damaged header's rate
    path.write_bytes(bytes(data))
    frames, error = _decode_collecting(path)
    assert frames == [] and isinstance(error, CalculatorError) and error.method == "open"
    assert str(path) in str(error) and "1610634786 Hz" in str(error)


def _damaged_mp3(tmp_path):
    """A 4 s mp3 with 3 KB overwritten a third of the way in."""
    path = tmp_path / "damaged.mp3"
    write_audio(path, tone(seconds=4.0), codec="libmp3lame")
    return samples.overwrite(path, 1 / 3, 3000, seed=3)


def _file_span(path) -> float:
    """Seconds from the first frame FFmpeg reads past the damage to the end of the last."""
    frames = samples.readable_frames(path, "audio")
    first, last = frames[0], frames[-1]
    return float(last.pts * last.time_base) + last.samples / last.sample_rate - float(
        first.pts * first.time_base)


def test_skip_goes_past_damaged_packets_and_keeps_later_frames_in_time(tmp_path, caplog):
    import logging

    path = _damaged_mp3(tmp_path)
    with pytest.raises(CalculatorError, match="damaged or truncated"):
        decode(path)  # FAIL stays the default
    runner = CalculatorRunner("AudioDecoderCalculator", options={"on_error": "SKIP"})
    with caplog.at_level(logging.WARNING):
        out = runner.run(side_packets={"INPUT_FILE_PATH": str(path)}, timeout=30)
    total = len(joined(out["AUDIO"]))
    assert abs(total / RATE - _file_span(path)) < 0.01  # the skipped time is there, as silence
    last = out["AUDIO"][-1]
    assert abs(int(last.timestamp) / 1e6 + len(last.value.to_ndarray()) / RATE - total / RATE) \
        < 1e-3
    assert sum("skipping the packets" in r.getMessage() for r in caplog.records) == 1
    skipped = [n.info for n in runner.graph.profile().nodes
               if "damaged packets skipped" in n.info]
    assert skipped and skipped[0]["damaged packets skipped"] > 0
