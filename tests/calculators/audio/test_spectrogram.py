"""SpectrogramCalculator, MelSpectrogramCalculator and StabilizedLogCalculator."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.audio.spectrogram import hz_to_mel, mel_filterbank
from mediagraph import CalculatorError, Graph, MediaGraphError, parse_config
from mediagraph.formats import AudioFrame
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.audio._signals import feed, tone

pytestmark = pytest.mark.timeout(60)
RATE = 16000


def spectrogram(frames, **options):
    options = {"frame_duration_seconds": 0.032, "frame_overlap_seconds": 0.016, **options}
    return CalculatorRunner("SpectrogramCalculator", options=options).run(
        {"AUDIO": frames})["SPECTROGRAM"]


@pytest.mark.parametrize("hz", [250.0, 1000.0, 3000.0])
def test_tone_peaks_at_its_bin(hz):
    out = spectrogram(feed(tone(hz, RATE, 0.5), RATE, 333))
    assert out[0].value.shape == (257, 1)  # 512-sample frames: 512-point DFT
    for packet in out[1:-1]:
        assert np.argmax(packet.value[:, 0]) == round(hz * 512 / RATE)


def test_frames_hop_and_timestamps_are_exact():
    out = spectrogram(feed(tone(440.0, RATE, 1.0), RATE, 1000, t0=777))
    assert timestamps(out) == [777 + n * 256 * 1_000_000 // RATE for n in range(len(out))]
    assert len(out) == (RATE - 512) // 256 + 2  # full frames plus one padded


def test_dft_length_is_the_next_power_of_two():
    out = spectrogram(feed(tone(440.0, RATE, 0.1), RATE, 512), frame_duration_seconds=0.025,
                      frame_overlap_seconds=0.0)  # 400 samples -> 512
    assert out[0].value.shape == (257, 1)


def test_output_types_agree_and_scale():
    frames = feed(tone(1000.0, RATE, 0.2), RATE, 512)
    power = spectrogram(frames)[2].value
    linear = spectrogram(frames, output_type=1)[2].value
    db = spectrogram(frames, output_type=2, output_scale=2.0)[2].value
    np.testing.assert_allclose(linear ** 2, power, rtol=1e-4)
    loud = power > 1e-3
    np.testing.assert_allclose(db[loud], 2.0 * 10 * np.log10(power[loud]), rtol=1e-4)
    silent = spectrogram(feed(np.zeros((1024, 1), np.float32), RATE, 512), output_type=2)
    assert np.all(silent[0].value == -200.0)


def test_hamming_window_by_mediapipe_enum_name():
    config = """
    input_stream: "AUDIO:audio"
    output_stream: "spec"
    node { calculator: "SpectrogramCalculator" input_stream: "AUDIO:audio"
           output_stream: "SPECTROGRAM:spec"
           options { [mediapipe.SpectrogramCalculatorOptions.ext] {
             frame_duration_seconds: 0.032 frame_overlap_seconds: 0.016
             output_type: LINEAR_MAGNITUDE window_type: HAMMING pad_final_packet: false } } }
    """
    out = Graph(parse_config(config)).run({"audio": feed(np.ones((1024, 1), np.float32),
                                                         RATE, 256)},
                                          outputs=["spec"], timeout=30)["spec"]
    assert len(out) == 3
    assert out[0].value[0, 0] == pytest.approx(0.54 * 512, rel=1e-4)  # the window's sum


def test_multichannel_needs_the_option():
    stereo = feed(tone(1000.0, RATE, 0.1, channels=2), RATE, 512)
    with pytest.raises(CalculatorError, match="allow_multichannel_input is false"):
        spectrogram(stereo)
    out = spectrogram(stereo, allow_multichannel_input=True)
    assert out[0].value.shape == (257, 2)


@pytest.mark.parametrize("calculator", ["SpectrogramCalculator", "MelSpectrogramCalculator"])
def test_non_audio_input_raises_naming_node_and_port(calculator):
    options = {"frame_duration_seconds": 0.032} if calculator == "SpectrogramCalculator" else None
    with pytest.raises(MediaGraphError) as info:
        CalculatorRunner(calculator, options=options).run({"AUDIO": [(np.zeros(4), 0)]})
    assert "under_test" in str(info.value) and "input AUDIO" in str(info.value)
    assert "needs an AudioFrame, got ndarray" in str(info.value)


def test_mel_tone_lands_in_its_band():
    out = CalculatorRunner("MelSpectrogramCalculator").run(
        {"AUDIO": feed(tone(1000.0, RATE, 0.3), RATE, 400)})["MEL"]
    assert out[0].value.shape == (20, 1)
    edges = np.linspace(hz_to_mel(125.0), hz_to_mel(3800.0), 22)
    band = int(np.argmin(np.abs(edges[1:-1] - hz_to_mel(1000.0))))
    assert np.argmax(out[5].value[:, 0]) == band
    assert timestamps(out)[:3] == [0, 10_000, 20_000]


def test_mel_filterbank_triangles_peak_at_one_and_cover_the_range():
    bank = mel_filterbank(10, 100.0, 4000.0, 1024, 16000)
    assert bank.shape == (10, 513)
    assert np.all(bank.max(axis=1) > 0.9) and bank.max() <= 1.0
    freqs = np.arange(513) * 16000 / 1024
    assert not bank[:, (freqs < 100) | (freqs > 4000)].any()


def test_stabilized_log_matches_mediapipe_formula():
    matrix = np.array([[0.0, 1.0], [10.0, 100.0]], np.float32)
    out = CalculatorRunner("StabilizedLogCalculator",
                           options={"stabilizer": 0.1, "output_scale": 2.0}).run(
        {"": [(matrix, 0)]})[""]
    np.testing.assert_allclose(out[0].value, 2.0 * np.log(matrix + 0.1), rtol=1e-6)
    assert out[0].value.dtype == np.float32


def test_stabilized_log_rejects_negative_values_unless_told():
    matrix = np.array([[-1.0, 1.0]], np.float32)
    with pytest.raises(CalculatorError, match="negative value -1"):
        CalculatorRunner("StabilizedLogCalculator").run({"": [(matrix, 0)]})
    out = CalculatorRunner("StabilizedLogCalculator",
                           options={"check_nonnegativity": False}).run({"": [(matrix, 0)]})[""]
    assert np.isnan(out[0].value[0, 0]) and out[0].value[0, 1] == pytest.approx(1e-5, abs=1e-6)


def test_log_mel_pipeline_runs_in_a_graph():
    config = """
    input_stream: "AUDIO:audio"
    output_stream: "log_mel"
    node { calculator: "MelSpectrogramCalculator" input_stream: "AUDIO:audio"
           output_stream: "MEL:mel" }
    node { calculator: "StabilizedLogCalculator" input_stream: "mel" output_stream: "log_mel"
           options { [mediapipe.StabilizedLogCalculatorOptions.ext] { stabilizer: 0.001 } } }
    """
    frames = [(AudioFrame(tone(500.0, RATE, 0.1), RATE), 0)]
    out = Graph(parse_config(config)).run({"audio": frames}, outputs=["log_mel"],
                                          timeout=30)["log_mel"]
    assert len(out) == 9 and np.isfinite(out[0].value).all()  # 8 full frames + 1 padded
