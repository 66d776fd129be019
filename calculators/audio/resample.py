"""ResampleCalculator: streaming rational-factor resampling with a windowed-sinc polyphase FIR."""

from __future__ import annotations

import numpy as np

from mediagraph.calculators.audio._timeseries import (
    exact_rate,
    expect_audio,
    latest_header,
    sample_time,
)
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import AudioFrame, AudioHeader

_CHUNK = 8192  # output samples computed per vectorised step (bounds the temporary arrays)


class ResampleCalculatorOptions(Options):
    target_sample_rate: float = option(1, default=0.0, proto="double", doc="required, > 0")
    zero_crossings: int = option(2, default=16,
                                 doc="sinc zero crossings each side (quality vs cost)")
    cutoff: float = option(3, default=0.95,
                           doc="pass band edge as a fraction of the lower Nyquist frequency")

    def check(self) -> None:
        if not self.target_sample_rate > 0:
            raise ValueError(f"target_sample_rate must be > 0, got {self.target_sample_rate}")
        if self.zero_crossings < 1:
            raise ValueError(f"zero_crossings must be >= 1, got {self.zero_crossings}")
        if not 0 < self.cutoff <= 1:
            raise ValueError(f"cutoff must be in (0, 1], got {self.cutoff}")


class ResampleCalculator(Calculator):
    """Resample audio to `target_sample_rate`, streaming, with no clicks at frame boundaries.

    A rational-factor polyphase FIR (numpy only): the rate ratio is reduced to L/M, and
    output sample n is the windowed-sinc (Kaiser, beta 8) interpolation of the input at
    position n * M / L, using `zero_crossings` lobes each side scaled to the lower of the
    two Nyquist frequencies times `cutoff` (the anti-aliasing filter when downsampling).
    The filter is centred (zero delay): output sample n is the input's time n / target
    rate. Input samples that later outputs still need are carried over from frame to
    frame, so streaming gives the same samples as resampling the whole signal at once;
    the last outputs are flushed in `close()` against zero padding. The output has
    ceil(input samples * L / M) samples in total. Each row of the polyphase table is
    normalised to unit DC gain. (PyAV's libswresample would also work; this keeps the
    sample-exact output count and timestamps under our control and needs no codec.)

    Each output frame (one per input frame that completes any output, plus one at the
    end) carries its first sample's time, `t0 + index * 1_000_000 // target_rate` µs.

    Inputs:  AUDIO (AudioFrame, any rate); AUDIO_HEADER (AudioHeader, optional, checked)
    Outputs: AUDIO (AudioFrame at target_sample_rate, same channels)
    Options: target_sample_rate (required), zero_crossings (16), cutoff (0.95)

    Example config:
        node { calculator: "ResampleCalculator" input_stream: "AUDIO:audio"
               output_stream: "AUDIO:audio_16k"
               node_options { [type.googleapis.com/mediagraph.ResampleCalculatorOptions] {
                 target_sample_rate: 16000 } } }
    """

    Options = ResampleCalculatorOptions
    timestamp_offset = None  # outputs lag the input by the filter's look-ahead

    audio = Input(AudioFrame, tag="AUDIO")
    audio_header = Input(AudioHeader, tag="AUDIO_HEADER", optional=True)
    out = Output(AudioFrame, tag="AUDIO")

    def open(self, cc: CalculatorContext) -> None:
        self._target = exact_rate(self.options.target_sample_rate)
        self._header: AudioHeader | None = None
        self._started = False

    def process(self, cc: CalculatorContext) -> None:
        self._header = latest_header(cc, self.audio_header, self._header)
        value = cc.get(self.audio)
        if value is None:
            return
        frame = expect_audio(cc, value, "AUDIO", self._header,
                             self._in_rate if self._started else None,
                             self._channels if self._started else None)
        if not self._started:
            self._start(cc, frame)
        self._buffer = np.concatenate([self._buffer, frame.to_ndarray().astype(np.float64)])
        self._total += frame.num_samples
        # output n needs inputs up to floor(n*M/L) + K/2, which must have arrived
        last_needed = self._total - 1 - self._half
        ready = max(0, -(-(last_needed + 1) * self._L // self._M))
        self._emit(cc, ready)
        cc.set_next_timestamp_bound(self.out, sample_time(self._t0, self._next, self._target))

    def close(self, cc: CalculatorContext) -> None:
        if not self._started:
            return
        end = -(-self._total * self._L // self._M)  # ceil: outputs before the input's end
        self._buffer = np.concatenate([self._buffer,
                                       np.zeros((self._half + 1, self._channels))])
        self._emit(cc, end)

    def _start(self, cc: CalculatorContext, frame: AudioFrame) -> None:
        opts = self.options
        self._started = True
        self._in_rate = frame.sample_rate
        self._channels = frame.num_channels
        ratio = self._target / exact_rate(frame.sample_rate)
        self._L, self._M = ratio.numerator, ratio.denominator
        self._t0 = int(cc.input_timestamp)
        self._table, self._half = _polyphase(self._L, self._M, opts.zero_crossings, opts.cutoff)
        self._taps = np.arange(2 * self._half)
        # stream index of buffer[0]: K/2 zeros stand for the samples before the first one
        self._buffer_start = -self._half
        self._buffer = np.zeros((self._half, self._channels))
        self._total = 0
        self._next = 0

    def _emit(self, cc: CalculatorContext, end: int) -> None:
        if end <= self._next:
            return
        first = self._next
        parts = []
        for lo in range(first, end, _CHUNK):
            n = np.arange(lo, min(end, lo + _CHUNK), dtype=np.int64)
            t = n * self._M
            base, phase = t // self._L, t % self._L
            rows = base - self._half + 1 - self._buffer_start
            windows = self._buffer[rows[:, None] + self._taps[None, :]]  # [n, K, channels]
            parts.append(np.einsum("nk,nkc->nc", self._table[phase], windows))
        self._next = end
        out = np.concatenate(parts).astype(np.float32)
        cc.send(self.out, AudioFrame(out, float(self._target)),
                timestamp=sample_time(self._t0, first, self._target))
        keep_from = (self._next * self._M) // self._L - self._half + 1
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start = keep_from


def _polyphase(L: int, M: int, zero_crossings: int, cutoff: float) -> tuple[np.ndarray, int]:
    """The [L phases, K taps] table and K/2; tap k of phase p weighs input base-K/2+1+k."""
    fc = cutoff * min(1.0, L / M)  # in cycles per input sample x 2 (1.0 = input Nyquist)
    half = int(np.ceil(zero_crossings / fc))
    k = np.arange(2 * half)
    # distance, in input samples, from the output position to each tap's input sample
    u = np.arange(L)[:, None] / L - (k[None, :] - half + 1)
    kernel = fc * np.sinc(fc * u) * _kaiser(u / half, 8.0)
    kernel /= kernel.sum(axis=1, keepdims=True)
    return kernel, half


def _kaiser(x: np.ndarray, beta: float) -> np.ndarray:
    """Kaiser window over x in [-1, 1] (0 outside)."""
    inside = np.clip(1.0 - x * x, 0.0, None)
    return np.i0(beta * np.sqrt(inside)) / np.i0(beta)
