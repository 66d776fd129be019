"""SpeechSegmentsCalculator: per-frame speech probabilities to speech segments, streaming."""

from __future__ import annotations

from dataclasses import dataclass

from mediagraph import Calculator, CalculatorContext, Input, Options, Output


@dataclass(frozen=True)
class SpeechSegment:
    """A stretch of speech, in seconds from the first audio frame."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


class SpeechSegmentsCalculatorOptions(Options):
    threshold: float = 0.5               # speech starts at a probability >= this
    neg_threshold: float = 0.35          # ... and may end below this (silero: threshold - 0.15)
    min_speech_duration_ms: int = 250    # shorter segments are dropped
    min_silence_duration_ms: int = 100   # silence must last this long to end a segment
    speech_pad_ms: int = 30              # added on both sides (halved gaps between close ones)
    sample_rate: int = 16000             # of the audio the probabilities came from
    window_size_samples: int = 0         # samples per probability; 0: 512 @ 16 kHz, 256 @ 8 kHz

    def check(self) -> None:
        if not 0.0 < self.neg_threshold <= self.threshold < 1.0:
            raise ValueError(f"need 0 < neg_threshold <= threshold < 1, got neg_threshold "
                             f"{self.neg_threshold}, threshold {self.threshold}")
        if self.sample_rate <= 0 or min(self.min_speech_duration_ms, self.speech_pad_ms,
                                        self.min_silence_duration_ms,
                                        self.window_size_samples) < 0:
            raise ValueError("sample_rate must be positive and the durations not negative")


class SpeechSegmentsCalculator(Calculator):
    """Turn Silero VAD probabilities into speech segments, emitting each as it closes.

    The rules are silero-vad's `get_speech_timestamps` (v6, without `max_speech_duration_s`):
    hysteresis between `threshold` and `neg_threshold`, a segment ends once the
    probability has stayed below `neg_threshold` for `min_silence_duration_ms`, segments
    not longer than `min_speech_duration_ms` are dropped, and `speech_pad_ms` is added to
    each side, except that two segments closer than twice the pad split the gap between
    them. Positions count whole windows from the first probability's timestamp, so on the
    same probabilities the segments equal silero's in samples. Where silero knows the exact
    audio length (a segment open at the end; padding at the end), this uses the end of the
    last window.

    Streaming: a segment goes out as soon as no later one can change its padding (at once
    with the defaults, since min_silence_duration_ms >= 2 x speech_pad_ms), at the
    timestamp of its padded start; the output bound is kept at the earliest start still
    possible, so consumers never wait for the end of the stream. A segment still open when
    the input ends is flushed in close().

    Inputs:  PROBABILITY (float) one per window, at the window's timestamp
    Outputs: SEGMENTS (SpeechSegment: start, end in seconds) one packet per segment
    Options: threshold, neg_threshold, min_speech_duration_ms, min_silence_duration_ms,
             speech_pad_ms, sample_rate, window_size_samples

    Example config:
        node { calculator: "SpeechSegmentsCalculator"
               input_stream: "PROBABILITY:speech_prob" output_stream: "SEGMENTS:segments" }
    """

    Options = SpeechSegmentsCalculatorOptions
    timestamp_offset = None  # segments go out at their (earlier) start timestamps
    probability = Input(float)
    segments = Output(SpeechSegment)

    def open(self, cc: CalculatorContext) -> None:
        o = self.options
        rate = o.sample_rate
        self.window = o.window_size_samples or (512 if rate >= 16000 else 256)
        self.min_speech = rate * o.min_speech_duration_ms / 1000
        self.min_silence = rate * o.min_silence_duration_ms / 1000
        self.pad = rate * o.speech_pad_ms / 1000
        self.t0: int | None = None       # µs of the first probability: sample 0
        self.triggered = False
        self.start = 0                   # samples; the open segment's unpadded start
        self.temp_end = 0
        self.pending: list[int] | None = None  # [padded start, unpadded end], held back
        self.last_sent = -1              # µs of the last packet sent
        self.bound = 0
        self.length = 0                  # samples seen (end of the last window)

    def process(self, cc: CalculatorContext) -> None:
        o = self.options
        ts = cc.input_timestamp.value
        if self.t0 is None:
            self.t0 = ts
        prob = cc.get(self.probability)
        # the window's first sample (decoders' timestamps are floor(sample * 1e6 / rate))
        cur = round((ts - self.t0) * o.sample_rate / 1_000_000)
        self.length = cur + self.window
        if prob >= o.threshold:
            self.temp_end = 0
            if not self.triggered:
                self.triggered = True
                self.start = cur
        elif prob < o.neg_threshold and self.triggered:
            if not self.temp_end:
                self.temp_end = cur
            if cur - self.temp_end >= self.min_silence:
                self._close(cc, self.temp_end)
        self._settle(cc, self.start if self.triggered else cur + self.window)
        self._set_bound(cc)

    def close(self, cc: CalculatorContext) -> None:
        if self.t0 is None:
            return
        if self.triggered:
            self._close(cc, self.length)
        if self.pending is not None:
            start, end = self.pending
            self.pending = None
            self._emit(cc, start, int(min(self.length, end + self.pad)))

    # -- helpers --------------------------------------------------------------------------

    def _close(self, cc: CalculatorContext, end: int) -> None:
        """The open segment ends at `end` (unpadded): keep it if long enough."""
        start = self.start
        self.triggered = False
        self.temp_end = 0
        if end - start <= self.min_speech:
            return
        gap_padding = self.pad
        if self.pending is not None:
            p_start, p_end = self.pending
            gap = start - p_end
            if gap < 2 * self.pad:  # close neighbours split the gap between them
                self._emit(cc, p_start, p_end + int(gap // 2))
                gap_padding = gap // 2
            else:
                self._emit(cc, p_start, int(min(self.length, p_end + self.pad)))
        self.pending = [int(max(0, start - gap_padding)), end]

    def _settle(self, cc: CalculatorContext, earliest_next: int) -> None:
        """Emit the held segment once no later segment can start within 2 x pad of it."""
        if self.pending is not None and earliest_next - self.pending[1] >= 2 * self.pad:
            start, end = self.pending
            self.pending = None
            self._emit(cc, start, int(min(self.length, end + self.pad)))

    def _emit(self, cc: CalculatorContext, start: int, end: int) -> None:
        rate = self.options.sample_rate
        assert self.t0 is not None
        ts = max(self.t0 + start * 1_000_000 // rate, self.last_sent + 1)
        cc.send(self.segments, SpeechSegment(start / rate, end / rate), timestamp=ts)
        self.last_sent = ts

    def _set_bound(self, cc: CalculatorContext) -> None:
        """Nothing will be sent below the earliest padded start still possible."""
        if self.pending is not None:
            earliest = self.pending[0]
        elif self.triggered:
            earliest = int(max(0, self.start - self.pad))
        else:
            earliest = int(max(0, self.length - self.pad))
        assert self.t0 is not None
        bound = max(self.t0 + earliest * 1_000_000 // self.options.sample_rate,
                    self.last_sent + 1, self.bound)
        if bound > self.bound:
            self.bound = bound
            cc.set_next_timestamp_bound(self.segments, bound)
