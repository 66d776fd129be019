"""FramingCalculator / TimeSeriesFramerCalculator: MediaPipe's framing, exact over an hour."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import (CalculatorError, Graph, GraphBuilder, GraphConfigError, MediaGraphError,
                        Timestamp)
from mediagraph.formats import AudioFrame, AudioHeader
from mediagraph.testing import CalculatorRunner, timestamps
from tests.calculators.audio._signals import feed

pytestmark = pytest.mark.timeout(60)
RATE = 16000


def frame(frames, calculator="FramingCalculator", tag="AUDIO", **options):
    return CalculatorRunner(calculator, options=options).run({tag: frames})[tag]


def ramp(n: int, channels: int = 1) -> np.ndarray:
    return np.repeat(np.arange(n, dtype=np.float32)[:, None], channels, axis=1)


def test_frames_overlap_and_start_where_expected():
    out = frame(feed(ramp(1000, 2), RATE, 97), frame_duration_seconds=0.01,
                frame_overlap_seconds=0.004)  # 160 samples, step 96
    full = (1000 - 160) // 96 + 1
    assert len(out) == full + 1  # plus one zero-padded frame
    for n, packet in enumerate(out[:full]):
        np.testing.assert_array_equal(packet.value.to_ndarray()[:, 0],
                                      np.arange(n * 96, n * 96 + 160))
        assert packet.value.num_channels == 2
    assert timestamps(out) == [n * 96 * 1_000_000 // RATE for n in range(full + 1)]
    last = out[-1].value.to_ndarray()[:, 0]
    tail = 1000 - full * 96
    np.testing.assert_array_equal(last[:tail], np.arange(full * 96, 1000))
    assert not last[tail:].any()


def test_without_padding_the_partial_frame_is_dropped():
    out = frame(feed(ramp(1000), RATE, 300), frame_duration_seconds=0.01,
                pad_final_packet=False)
    assert len(out) == 1000 // 160
    assert all(p.value.num_samples == 160 for p in out)


def test_negative_overlap_skips_samples():
    out = frame(feed(ramp(1000), RATE, 64), frame_duration_seconds=0.01,
                frame_overlap_seconds=-0.005, pad_final_packet=False)  # step 240
    assert [int(p.value.to_ndarray()[0, 0]) for p in out] == [0, 240, 480, 720]


def test_fractional_overlap_keeps_the_average_step():
    # 44.1 kHz, 10 ms step = 441 samples... use a step of 10.0001 ms: not whole samples
    rate = 44100
    out = frame(feed(ramp(rate), rate, 512), frame_duration_seconds=0.02,
                frame_overlap_seconds=0.0099999, emulate_fractional_frame_overlap=True,
                pad_final_packet=False)
    step = (0.02 - 0.0099999) * rate
    starts = [int(p.value.to_ndarray()[0, 0]) for p in out]
    assert starts == [int(np.floor(n * step + 0.5)) for n in range(len(out))]
    assert timestamps(out) == [s * 1_000_000 // rate for s in starts]


@pytest.mark.parametrize("window, expected", [
    (1, 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(160) / 160)),
    (2, 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(160) / 160)),
], ids=["hamming", "hann"])
def test_window_is_periodic_and_applied_to_every_frame(window, expected):
    ones = np.ones((480, 1), np.float32)
    out = frame(feed(ones, RATE, 100), frame_duration_seconds=0.01, window_function=window)
    assert len(out) == 3
    for packet in out:
        np.testing.assert_allclose(packet.value.to_ndarray()[:, 0], expected, atol=1e-6)


def test_timestamps_do_not_drift_over_an_hour_of_44k1():
    rate, size = 44100, 5 * 44100 + 7
    block = AudioFrame(np.zeros((size, 1), np.float32), rate)
    count = rate * 3600 // size
    frames = [(block, i * size * 1_000_000 // rate) for i in range(count)]
    out = frame(frames, frame_duration_seconds=0.96, frame_overlap_seconds=0.47999,
                emulate_fractional_frame_overlap=True)
    step = (0.96 - 0.47999) * rate  # 21168.44 samples: not a whole number
    starts = np.floor(np.arange(len(out)) * step + 0.5).astype(np.int64)
    total = count * size
    full = np.count_nonzero(np.floor(np.arange(8000) * step + 0.5) + 42336 <= total)
    assert len(out) == full + 1  # one zero-padded frame takes the rest, as in MediaPipe
    assert timestamps(out)[-1] > 3_590_000_000
    assert timestamps(out)[-1] == int(starts[-1]) * 1_000_000 // rate
    assert timestamps(out) == [int(s) * 1_000_000 // rate for s in starts]


def test_output_starts_at_the_first_input_timestamp():
    out = frame(feed(ramp(480), RATE, 100, t0=1_234_567), frame_duration_seconds=0.01)
    assert timestamps(out) == [1_234_567 + n * 10_000 for n in range(3)]


def test_mediapipe_name_options_and_untagged_ports():
    config = """
    input_stream: "audio"
    output_stream: "framed"
    node { calculator: "TimeSeriesFramerCalculator" input_stream: "audio"
           output_stream: "framed"
           options { [mediapipe.TimeSeriesFramerCalculatorOptions.ext] {
             frame_duration_seconds: 0.01 frame_overlap_seconds: 0.005
             pad_final_packet: false window_function: HANN } } }
    """
    from mediagraph import parse_config

    graph = Graph(parse_config(config))
    out = graph.run({"audio": feed(np.ones((400, 1), np.float32), RATE, 128)},
                    outputs=["framed"], timeout=30)["framed"]
    assert timestamps(out) == [0, 5000, 10000, 15000]
    assert out[0].value.num_samples == 160 and out[0].value.to_ndarray()[0, 0] == 0.0


@pytest.mark.parametrize("inputs, expected", [
    ({"AUDIO": [("not audio", 0)]}, "needs an AudioFrame, got str"),
    ({"AUDIO": [(AudioFrame(np.zeros((10, 2)), RATE), 0)],
      "AUDIO_HEADER": [(AudioHeader(RATE, 1, 0.0, 0), Timestamp.PRE_STREAM)]},
     "2 channel(s), but its AUDIO_HEADER says 1"),
    ({"AUDIO": [(AudioFrame(np.zeros((10, 1)), RATE), 0),
                (AudioFrame(np.zeros((10, 1)), 8000), 10)]},
     "but the stream started as 1 ch @ 16000 Hz"),
], ids=["not_audio_frame", "channels_vs_header", "rate_changes"])
def test_bad_input_raises_naming_node_and_port(inputs, expected):
    with pytest.raises(MediaGraphError) as info:
        CalculatorRunner("FramingCalculator",
                         options={"frame_duration_seconds": 0.01}).run(inputs)
    assert isinstance(info.value, CalculatorError)
    message = str(info.value)
    assert "under_test" in message and "input AUDIO" in message and expected in message


@pytest.mark.parametrize("options, expected", [
    ({}, "frame_duration_seconds must be > 0"),
    ({"frame_duration_seconds": 0.01, "frame_overlap_seconds": 0.01},
     "must be less than frame_duration_seconds"),
    ({"frame_duration_seconds": 0.01, "use_local_timestamp": True}, "not supported"),
])
def test_invalid_options_fail_at_validation(options, expected):
    with pytest.raises(GraphConfigError, match=expected):
        CalculatorRunner("FramingCalculator", options=options).run({"AUDIO": []})


def test_builder_graph_runs_framer_after_resampler():
    b = GraphBuilder()
    b.input_stream("audio")
    b.node("ResampleCalculator", inputs=["AUDIO:audio"], outputs=["AUDIO:audio_8k"],
           options={"target_sample_rate": 8000})
    b.node("FramingCalculator", inputs=["AUDIO:audio_8k"], outputs=["AUDIO:frames"],
           options={"frame_duration_seconds": 0.1})
    b.output_stream("frames")
    out = Graph(b.build()).run({"audio": feed(np.zeros((RATE, 1), np.float32), RATE, 1000)},
                               outputs=["frames"], timeout=30)["frames"]
    assert timestamps(out) == [n * 100_000 for n in range(10)]
    assert all(p.value.sample_rate == 8000 and p.value.num_samples == 800 for p in out)


def test_matching_header_is_accepted():
    header = AudioHeader(RATE, 1, 0.03, 0)
    out = CalculatorRunner("FramingCalculator", options={"frame_duration_seconds": 0.01}).run(
        {"AUDIO": feed(np.ones((480, 1), np.float32), RATE, 100),
         "AUDIO_HEADER": [(header, Timestamp.PRE_STREAM)]})["AUDIO"]
    assert timestamps(out) == [0, 10_000, 20_000]
