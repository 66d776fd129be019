"""SpeechSegmentsCalculator: silero's get_speech_timestamps rules, streamed."""

from __future__ import annotations

import random

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.audio.speech_segments import SpeechSegment, SpeechSegmentsCalculator
from mediagraph import Graph, GraphBuilder, GraphConfigError
from mediagraph.testing import CalculatorRunner, timestamps, values

pytestmark = pytest.mark.timeout(60)
RATE, WINDOW = 16000, 512


def reference(probs, *, threshold=0.5, neg_threshold=0.35, min_speech_duration_ms=250,
              min_silence_duration_ms=100, speech_pad_ms=30):
    """silero-vad 6.2.3 `get_speech_timestamps_from_probs` (MIT licence), in samples, with
    max_speech_duration_s = inf (its max-speech branch never runs) and the audio length
    taken as len(probs) * 512, as the streaming calculator takes it."""
    audio_length_samples = len(probs) * WINDOW
    min_speech_samples = RATE * min_speech_duration_ms / 1000
    speech_pad_samples = RATE * speech_pad_ms / 1000
    min_silence_samples = RATE * min_silence_duration_ms / 1000
    triggered, speeches, current_speech, temp_end = False, [], {}, 0
    for i, speech_prob in enumerate(probs):
        cur_sample = WINDOW * i
        if (speech_prob >= threshold) and temp_end:
            temp_end = 0
        if (speech_prob >= threshold) and not triggered:
            triggered = True
            current_speech['start'] = cur_sample
            continue
        if (speech_prob < neg_threshold) and triggered:
            if not temp_end:
                temp_end = cur_sample
            if cur_sample - temp_end < min_silence_samples:
                continue
            current_speech['end'] = temp_end
            if (current_speech['end'] - current_speech['start']) > min_speech_samples:
                speeches.append(current_speech)
            current_speech, temp_end, triggered = {}, 0, False
    if current_speech and (audio_length_samples - current_speech['start']) > min_speech_samples:
        current_speech['end'] = audio_length_samples
        speeches.append(current_speech)
    for i, speech in enumerate(speeches):
        if i == 0:
            speech['start'] = int(max(0, speech['start'] - speech_pad_samples))
        if i != len(speeches) - 1:
            silence_duration = speeches[i + 1]['start'] - speech['end']
            if silence_duration < 2 * speech_pad_samples:
                speech['end'] += int(silence_duration // 2)
                speeches[i + 1]['start'] = int(max(0, speeches[i + 1]['start'] - silence_duration // 2))
            else:
                speech['end'] = int(min(audio_length_samples, speech['end'] + speech_pad_samples))
                speeches[i + 1]['start'] = int(max(0, speeches[i + 1]['start'] - speech_pad_samples))
        else:
            speech['end'] = int(min(audio_length_samples, speech['end'] + speech_pad_samples))
    return [(s['start'] / RATE, s['end'] / RATE) for s in speeches]


def run(probs, t0=0, **options):
    runner = CalculatorRunner(SpeechSegmentsCalculator, options=options or None)
    packets = [(p, t0 + i * WINDOW * 1_000_000 // RATE) for i, p in enumerate(probs)]
    out = runner.run({"PROBABILITY": packets})["SEGMENTS"]
    return [(s.start, s.end) for s in values(out)], timestamps(out)


def flat(segments):
    return [t for segment in segments for t in segment]


def bursts(seed, n=400, p_switch=0.08):
    """Probabilities that switch between speech-like and silence-like runs, with noise."""
    rng = random.Random(seed)
    speaking, out = False, []
    for _ in range(n):
        if rng.random() < p_switch:
            speaking = not speaking
        base = 0.8 if speaking else 0.1
        out.append(min(1.0, max(0.0, base + rng.uniform(-0.45, 0.45))))
    return out


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("options", [
    {},
    {"min_silence_duration_ms": 40, "speech_pad_ms": 60},   # neighbours split their gaps
    {"min_speech_duration_ms": 0, "min_silence_duration_ms": 0, "speech_pad_ms": 0},
])
def test_segments_equal_silero_reference(seed, options):
    probs = bursts(seed)
    got, ts = run(probs, **options)
    assert got == reference(probs, **options)  # same samples / 16000: exactly equal
    assert ts == sorted(set(ts))  # strictly increasing packet timestamps


def test_packets_go_out_at_the_padded_start_of_each_segment():
    probs = [0.0] * 10 + [0.9] * 20 + [0.0] * 10 + [0.9] * 20 + [0.0] * 10
    got, ts = run(probs)
    assert flat(got) == pytest.approx([10 * 0.032 - 0.03, 30 * 0.032 + 0.03,
                                       40 * 0.032 - 0.03, 60 * 0.032 + 0.03])
    assert ts == [round(start * 1_000_000) for start, _ in got]


def test_times_count_from_the_first_probability():
    probs = [0.9] * 20 + [0.0] * 10
    assert run(probs, t0=5_000_000)[0] == run(probs)[0]


def test_open_segment_is_flushed_at_close():
    got, _ = run([0.0] * 5 + [0.9] * 20)
    assert flat(got) == pytest.approx([5 * 0.032 - 0.03, 25 * 0.032])


@pytest.mark.parametrize("probs", [[], [0.0] * 50, [0.9] * 3 + [0.0] * 20, [0.4] * 50],
                         ids=["empty", "silence", "too_short", "below_threshold"])
def test_no_speech_gives_no_segments(probs):
    assert run(probs)[0] == []


def test_segment_is_emitted_before_the_stream_ends():
    """With the default options a segment goes out on the frame that closes it."""
    seen = []
    b = GraphBuilder()
    b.input_stream("prob")
    b.node(SpeechSegmentsCalculator, inputs=["PROBABILITY:prob"], outputs=["SEGMENTS:seg"])
    b.output_stream("seg")
    graph = Graph(b.build())
    graph.observe_output_stream("seg", seen.append)
    graph.start_run()
    probs = [0.9] * 20 + [0.0] * 10
    for i, p in enumerate(probs):
        graph.add_packet_to_input_stream("prob", p, i * 32_000)
    graph.wait_until_idle(timeout=10)
    assert [p.value for p in seen] == [SpeechSegment(0.0, (20 * 512 + 480) / RATE)]
    graph.close_all_input_streams()
    graph.wait_until_done(timeout=10)


@pytest.mark.parametrize("options", [{"threshold": 0.3, "neg_threshold": 0.4},
                                     {"speech_pad_ms": -1}])
def test_bad_options_raise_naming_the_node(options):
    with pytest.raises(GraphConfigError, match="under_test"):
        run([0.5], **options)
