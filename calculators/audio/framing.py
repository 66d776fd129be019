"""FramingCalculator (MediaPipe's TimeSeriesFramerCalculator): fixed-size, overlapping frames."""

from __future__ import annotations

import numpy as np

from mediagraph.calculators.audio._timeseries import (
    Framer,
    WindowFunction,
    exact_rate,
    expect_audio,
    latest_header,
    periodic_window,
    sample_time,
)
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import AudioFrame, AudioHeader


class TimeSeriesFramerCalculatorOptions(
        Options, proto_name="mediapipe.TimeSeriesFramerCalculatorOptions", extension=50631621):
    """MediaPipe's `time_series_framer_calculator.proto` (same field numbers)."""

    frame_duration_seconds: float = option(1, default=0.0, proto="double",
                                           doc="required, > 0; rounded to whole samples")
    frame_overlap_seconds: float = option(2, default=0.0, proto="double",
                                          doc="< frame_duration_seconds; negative skips samples")
    pad_final_packet: bool = option(3, default=True,
                                    doc="zero-pad and emit the last partial frame")
    window_function: WindowFunction = option(4, default=WindowFunction.NONE)
    emulate_fractional_frame_overlap: bool = option(
        5, default=False, doc="let the step vary so its average is the exact nominal step")
    use_local_timestamp: bool = option(6, default=False, doc="not supported: must stay false")

    def check(self) -> None:
        if self.use_local_timestamp:
            raise ValueError("use_local_timestamp is not supported")
        if not self.frame_duration_seconds > 0:
            raise ValueError(f"frame_duration_seconds must be > 0, got "
                             f"{self.frame_duration_seconds}")
        if not self.frame_overlap_seconds < self.frame_duration_seconds:
            raise ValueError(f"frame_overlap_seconds ({self.frame_overlap_seconds}) must be "
                             f"less than frame_duration_seconds ({self.frame_duration_seconds})")


class FramingCalculator(Calculator):
    """Cut an audio stream into fixed-size, possibly overlapping, optionally windowed frames.

    MediaPipe's TimeSeriesFramerCalculator semantics: every frame holds
    round(frame_duration_seconds * rate) samples; frames advance by the frame length minus
    round(frame_overlap_seconds * rate) samples, or, with emulate_fractional_frame_overlap,
    by a varying whole number of samples whose long-run average is the exact nominal step
    (frame n starts at sample round(n * step)). With pad_final_packet (the default) the
    samples left at the end go out in one zero-padded frame; otherwise they are dropped.
    The window (periodic Hamming or Hann) is applied to every frame, the padded one too
    (MediaPipe leaves the padded frame unwindowed).

    Each frame's timestamp is its first sample's time, `t0 + start * 1_000_000 // rate`
    µs (t0: the first input timestamp), exact in integer math (MediaPipe rounds a double;
    the two differ by at most 1 µs). Inputs may be any size; the rate and channel count
    must stay those of the first frame (and of AUDIO_HEADER when connected).

    Inputs:  AUDIO (AudioFrame); AUDIO_HEADER (AudioHeader at PRE_STREAM, optional)
    Outputs: AUDIO (AudioFrame, frame_duration samples x channels)
    Options: TimeSeriesFramerCalculatorOptions (MediaPipe's, ext 50631621):
             frame_duration_seconds (1), frame_overlap_seconds (2), pad_final_packet (3),
             window_function (4: NONE, HAMMING, HANN), emulate_fractional_frame_overlap (5)

    Example config:
        node { calculator: "FramingCalculator" input_stream: "AUDIO:audio"
               output_stream: "AUDIO:frames"
               options { [mediapipe.TimeSeriesFramerCalculatorOptions.ext] {
                 frame_duration_seconds: 0.025 frame_overlap_seconds: 0.015
                 window_function: HANN } } }
    """

    Options = TimeSeriesFramerCalculatorOptions
    timestamp_offset = None  # frames start before the input that completes them

    audio = Input(AudioFrame, tag="AUDIO")
    audio_header = Input(AudioHeader, tag="AUDIO_HEADER", optional=True)
    out = Output(AudioFrame, tag="AUDIO")

    def open(self, cc: CalculatorContext) -> None:
        self._header: AudioHeader | None = None
        self._framer: Framer | None = None
        self._t0 = 0
        self._port = self.audio.tag or "input 0"

    def process(self, cc: CalculatorContext) -> None:
        self._header = latest_header(cc, self.audio_header, self._header)
        value = cc.get(self.audio)
        if value is None:
            return
        framer = self._framer
        frame = expect_audio(cc, value, self._port, self._header,
                             None if framer is None else self._in_rate,
                             None if framer is None else framer.channels)
        if framer is None:
            framer = self._start(cc, frame)
        starts, frames = framer.push(frame.to_ndarray())
        for start, samples in zip(starts.tolist(), frames):
            self._send(cc, start, samples)
        cc.set_next_timestamp_bound(self.out, sample_time(self._t0, framer.next_start(),
                                                          self._rate))

    def close(self, cc: CalculatorContext) -> None:
        if self._framer is None or not self.options.pad_final_packet:
            return
        last = self._framer.flush()
        if last is not None:
            self._send(cc, *last)

    def _start(self, cc: CalculatorContext, frame: AudioFrame) -> Framer:
        opts = self.options
        self._in_rate = frame.sample_rate
        self._rate = exact_rate(frame.sample_rate)
        self._t0 = int(cc.input_timestamp)
        self._framer = Framer(opts.frame_duration_seconds, opts.frame_overlap_seconds,
                              opts.emulate_fractional_frame_overlap, frame.sample_rate,
                              frame.num_channels)
        window = periodic_window(WindowFunction(opts.window_function).name, self._framer.size)
        self._window = None if window is None else window.astype(np.float32)[:, None]
        return self._framer

    def _send(self, cc: CalculatorContext, start: int, samples: np.ndarray) -> None:
        if self._window is not None:
            samples = samples * self._window
        cc.send(self.out, AudioFrame(np.ascontiguousarray(samples, np.float32), self._in_rate),
                timestamp=sample_time(self._t0, start, self._rate))


class TimeSeriesFramerCalculator(FramingCalculator):
    """FramingCalculator under MediaPipe's name, with MediaPipe's untagged ports.

    Inputs:  untagged AudioFrame stream
    Outputs: untagged AudioFrame stream
    Options: TimeSeriesFramerCalculatorOptions (ext 50631621), as FramingCalculator

    Example config:
        node { calculator: "TimeSeriesFramerCalculator"
               input_stream: "audio" output_stream: "framed_audio"
               options { [mediapipe.TimeSeriesFramerCalculatorOptions.ext] {
                 frame_duration_seconds: 0.96 frame_overlap_seconds: 0.48 } } }
    """

    audio = Input(AudioFrame, tag="")
    out = Output(AudioFrame, tag="")
