"""SileroVadCalculator: silero's streaming protocol, per-run state, clear input errors."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.audio.silero_vad import SileroVad, SileroVadCalculator
from mediagraph import CalculatorError, models
from mediagraph.formats import AudioFrame
from mediagraph.testing.speech import SpeechSynthesisUnavailable, make_speech, read_wav
from mediagraph.testing import CalculatorRunner, timestamps, values

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def model():
    try:
        return models.resolve("silero_vad.onnx")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def speech(tmp_path_factory, model):
    try:
        path, intervals = make_speech(tmp_path_factory.mktemp("vad") / "speech.wav",
                                      ["hello there, how are you today", "one two three four"])
    except SpeechSynthesisUnavailable as exc:
        pytest.skip(f"no test speech: {exc}")
    samples, _ = read_wav(path)
    return samples, intervals


def frames(samples, rate=16000, size=512, channels=1):
    out = []
    for i in range(0, len(samples), size):
        chunk = samples[i:i + size]
        data = np.repeat(chunk[:, None], channels, axis=1)
        out.append((AudioFrame(data, rate), i * 1_000_000 // rate))
    return out


def silero_reference(model, samples):
    """silero-vad 6.2.3 OnnxWrapper.__call__ as a plain loop: 64 samples of context
    prepended, state carried, last chunk zero-padded (get_speech_timestamps)."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    state = np.zeros((2, 1, 128), np.float32)
    context = np.zeros((1, 64), np.float32)
    probs = []
    for i in range(0, len(samples), 512):
        chunk = np.zeros((1, 512), np.float32)
        piece = samples[i:i + 512]
        chunk[0, :len(piece)] = piece
        x = np.concatenate([context, chunk], axis=1)
        out, state = session.run(None, {"input": x, "state": state,
                                        "sr": np.array(16000, np.int64)})
        context = x[:, -64:]
        probs.append(float(out[0, 0]))
    return probs


def run(packets, **options):
    runner = CalculatorRunner(SileroVadCalculator, options=options or None)
    return runner.run({"AUDIO": packets})["PROBABILITY"]


def test_probabilities_match_silero_streaming_protocol(model, speech):
    samples, _ = speech
    samples = samples[:len(samples) - 100]  # a short last frame: zero-padded like silero
    out = run(frames(samples))
    assert values(out) == pytest.approx(silero_reference(model, samples), abs=1e-5)
    assert timestamps(out) == [ts for _, ts in frames(samples)]


def test_speech_scores_high_and_silence_low(speech):
    samples, intervals = speech
    probs = np.array(values(run(frames(samples))))
    times = np.arange(len(probs)) * 0.032
    inside = np.zeros(len(probs), bool)
    for start, end in intervals:
        inside |= (times >= start + 0.1) & (times + 0.032 <= end - 0.1)
    far = np.ones(len(probs), bool)
    for start, end in intervals:
        far &= (times + 0.032 < start - 0.2) | (times > end + 0.3)
    assert probs[inside].mean() > 0.7
    assert probs[far].max() < 0.2


def test_each_run_starts_from_a_fresh_state(speech):
    samples, _ = speech
    packets = frames(samples[:16000])
    assert values(run(packets)) == values(run(packets))


def test_eight_khz_frames_of_256_samples_work(model):
    out = run(frames(np.zeros(8000, np.float32), rate=8000, size=256))
    assert len(out) == 8000 // 256 + 1 and max(values(out)) < 0.2


def test_plain_loop_helper_agrees_with_calculator(speech):
    samples, _ = speech
    vad = SileroVad()
    head = samples[:16000]
    loop = [vad(head[i:i + 512]) for i in range(0, len(head), 512)]
    assert values(run(frames(head))) == pytest.approx(loop, abs=1e-6)


@pytest.mark.parametrize("packets, needed", [
    (frames(np.zeros(4410, np.float32), rate=44100, size=441), "44100 Hz"),
    (frames(np.zeros(2048, np.float32), channels=2), "2 ch"),
], ids=["rate", "stereo"])
def test_wrong_audio_raises_naming_node_and_what_is_needed(model, packets, needed):
    with pytest.raises(CalculatorError) as info:
        run(packets)
    text = str(info.value) + str(info.value.__cause__)
    assert "under_test" in text and needed in text and "16000" in text and "512" in text


def test_frames_of_several_windows_match_single_windows(model):
    rng = np.random.default_rng(7)
    signal = (0.05 * rng.standard_normal(512 * 16)).astype(np.float32)
    single = run(frames(signal, size=512))
    multi = run(frames(signal, size=4096))
    assert [int(p.timestamp) for p in multi] == [int(p.timestamp) for p in single]
    assert np.allclose([p.value for p in multi], [p.value for p in single], atol=1e-6)
