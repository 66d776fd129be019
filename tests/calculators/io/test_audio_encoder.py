"""AudioEncoderCalculator: round trips through files, finalizing on failure, bad paths."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.io.audio_encoder import _ENCODERS, AudioEncoderCalculator, _find_encoder
from mediagraph import (
    Calculator,
    CalculatorContext,
    CalculatorError,
    Graph,
    GraphBuilder,
    MediaGraphError,
    Output,
    Stop,
)
from mediagraph.formats import AudioFrame
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.io.test_audio_decoder import RATE, decode, joined, tone, write_audio

pytestmark = pytest.mark.timeout(120)


def round_trip(source, target, decoder_options=None, encoder_options=None):
    """Decode `source` and encode it to `target` in one graph."""
    b = GraphBuilder()
    b.input_side_packet("in_path")
    b.input_side_packet("out_path")
    b.node("AudioDecoderCalculator", side_inputs=["INPUT_FILE_PATH:in_path"],
           outputs=["AUDIO:audio"], options=decoder_options)
    b.node("AudioEncoderCalculator", inputs=["AUDIO:audio"],
           side_inputs=["OUTPUT_FILE_PATH:out_path"], options=encoder_options)
    Graph(b.build()).run(side_packets={"in_path": str(source), "out_path": str(target)},
                         timeout=60)


def available(suffix):
    import av

    return _find_encoder(av, _ENCODERS[suffix]) is not None


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "tone.wav"
    write_audio(path, tone())
    return path


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_lossless_round_trip_keeps_samples_and_timestamps(tmp_path, wav, suffix):
    target = tmp_path / f"copy{suffix}"
    round_trip(wav, target)
    frames = decode(target)["AUDIO"]
    assert abs(sum(p.value.num_samples for p in frames) - int(RATE * 2.5)) <= 1024
    assert timestamps(frames)[10] == 10 * 1024 * 1_000_000 // RATE
    assert timestamps(frames) == [n * 1024 * 1_000_000 // RATE for n in range(len(frames))]
    np.testing.assert_allclose(joined(frames), joined(decode(wav)["AUDIO"]), atol=1e-4)


@pytest.mark.parametrize("suffix", [
    pytest.param(s, marks=pytest.mark.skipif(not available(s), reason=f"no {s} encoder"))
    for s in (".mp3", ".m4a", ".aac")])
def test_lossy_round_trip_keeps_the_sample_count_up_to_codec_delay(tmp_path, wav, suffix):
    target = tmp_path / f"copy{suffix}"
    round_trip(wav, target)
    frames = decode(target)["AUDIO"]
    total = sum(p.value.num_samples for p in frames)
    # MP3 and AAC add encoder delay and pad their last frame (at most one codec frame each)
    assert abs(total - int(RATE * 2.5)) <= 2 * 1152
    assert timestamps(frames)[5] == 5 * 1024 * 1_000_000 // RATE
    samples = joined(frames)
    assert np.abs(samples[int(0.6 * RATE):int(0.9 * RATE)]).max() < 0.05  # silence kept
    assert np.abs(samples[int(1.5 * RATE):int(2.0 * RATE)]).max() > 0.3


def test_sample_rate_option_resamples_on_the_way_out(tmp_path, wav):
    target = tmp_path / "low.flac"
    round_trip(wav, target, encoder_options={"sample_rate": 16000})
    out = decode(target)
    assert out["AUDIO_HEADER"][0].value.sample_rate == 16000
    assert abs(sum(p.value.num_samples for p in out["AUDIO"]) - 40000) <= 1024


ENCODED_THREE = threading.Event()


class EncoderThatSignalsForTest(AudioEncoderCalculator):
    """The encoder, setting ENCODED_THREE once it has written three frames."""

    def process(self, cc: CalculatorContext) -> None:
        super().process(cc)
        if cc.input_timestamp >= 250_000:
            ENCODED_THREE.set()


class FailingAudioSourceForEncoderTest(Calculator):
    """Sends three 1000-sample frames, waits until they are encoded, then raises."""

    audio = Output(AudioFrame)

    def open(self, cc: CalculatorContext) -> None:
        self.sent = 0

    def process(self, cc: CalculatorContext):
        if self.sent == 3:
            assert ENCODED_THREE.wait(timeout=30), "the encoder never got three frames"
            raise RuntimeError("source broke")
        data = np.full((1000, 1), 0.25 * (self.sent + 1), np.float32)
        cc.send(self.audio, AudioFrame(data, 8000), timestamp=self.sent * 125_000)
        self.sent += 1


class EmptyAudioSourceForEncoderTest(Calculator):
    audio = Output(AudioFrame)

    def process(self, cc: CalculatorContext):
        return Stop


def encode_from(source, path, encoder="AudioEncoderCalculator"):
    b = GraphBuilder()
    b.input_side_packet("out_path")
    b.node(source, outputs=["AUDIO:audio"])
    b.node(encoder, inputs=["AUDIO:audio"],
           side_inputs=["OUTPUT_FILE_PATH:out_path"])
    Graph(b.build()).run(side_packets={"out_path": str(path)}, timeout=60)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_file_is_finalized_when_the_run_fails(tmp_path, suffix):
    path = tmp_path / f"partial{suffix}"
    ENCODED_THREE.clear()
    with pytest.raises(MediaGraphError, match="source broke"):
        encode_from(FailingAudioSourceForEncoderTest, path, EncoderThatSignalsForTest)
    samples = joined(decode(path, frame_size=0)["AUDIO"])
    assert samples.shape == (3000, 1)
    assert list(np.round(samples[::1000, 0], 3)) == [0.25, 0.5, 0.75]


def test_run_without_frames_writes_a_valid_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    encode_from(EmptyAudioSourceForEncoderTest, path)
    out = decode(path)
    assert out["AUDIO"] == [] and out["AUDIO_HEADER"][0].value.num_channels == 1


def test_changing_the_format_mid_stream_raises_naming_the_file(tmp_path):
    path = tmp_path / "mixed.wav"
    runner = CalculatorRunner("AudioEncoderCalculator")
    frames = [(AudioFrame(np.zeros((100, 1), np.float32), 8000), 0),
              (AudioFrame(np.zeros((100, 2), np.float32), 8000), 1)]
    with pytest.raises(MediaGraphError) as info:
        runner.run({"AUDIO": frames}, {"OUTPUT_FILE_PATH": str(path)})
    assert str(path) in str(info.value) and "2 ch" in str(info.value)
    assert decode(path, frame_size=0)["AUDIO_HEADER"][0].value.num_channels == 1  # still valid


def _unwritable(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder / "out.wav"


@pytest.mark.parametrize("make, expected", [
    (lambda tmp: tmp / "no" / "such" / "folder" / "out.wav", "does not exist"),
    (lambda tmp: (tmp / "file.txt").write_text("x") and tmp / "file.txt" / "out.wav",
     "is not a folder"),
    pytest.param(_unwritable, "not writable", marks=pytest.mark.skipif(
        hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")),
    (lambda tmp: tmp / "out.ogg-not-audio", "unknown audio suffix"),
], ids=["missing_folder", "parent_is_a_file", "read_only_folder", "unknown_suffix"])
def test_bad_output_path_fails_in_open_naming_the_path(tmp_path, make, expected):
    path = make(tmp_path)
    runner = CalculatorRunner("AudioEncoderCalculator")
    with pytest.raises(MediaGraphError) as info:
        runner.run({"AUDIO": []}, {"OUTPUT_FILE_PATH": str(path)})
    assert isinstance(info.value, CalculatorError) and info.value.method == "open"
    assert str(path) in str(info.value) and expected in str(info.value)
