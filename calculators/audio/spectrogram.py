"""SpectrogramCalculator and MelSpectrogramCalculator: one spectrum Matrix per audio frame."""

from __future__ import annotations

import enum

import numpy as np

from mediagraph.calculators.audio._timeseries import (
    Framer,
    exact_rate,
    expect_audio,
    latest_header,
    periodic_window,
    sample_time,
)
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import AudioFrame, AudioHeader, Matrix


class OutputType(enum.IntEnum):
    """MediaPipe's SpectrogramCalculatorOptions.OutputType (COMPLEX is not supported)."""

    SQUARED_MAGNITUDE = 0
    LINEAR_MAGNITUDE = 1
    DECIBELS = 2
    COMPLEX = 3


class WindowType(enum.IntEnum):
    """MediaPipe's SpectrogramCalculatorOptions.WindowType."""

    HANN = 0
    HAMMING = 1


_DB_FLOOR = 1e-20  # power floor: silence reads -200 dB, never -inf


class SpectrogramCalculatorOptions(
        Options, proto_name="mediapipe.SpectrogramCalculatorOptions", extension=76186688):
    """MediaPipe's `spectrogram_calculator.proto` (same field numbers)."""

    frame_duration_seconds: float = option(1, default=0.0, proto="double", doc="required, > 0")
    frame_overlap_seconds: float = option(2, default=0.0, proto="double")
    pad_final_packet: bool = option(3, default=True)
    output_type: OutputType = option(4, default=OutputType.SQUARED_MAGNITUDE)
    allow_multichannel_input: bool = option(5, default=False,
                                            doc="one column per channel; else mono only")
    window_type: WindowType = option(6, default=WindowType.HANN)
    output_scale: float = option(7, default=1.0, proto="double",
                                 doc="multiplies the output, dB included")

    def check(self) -> None:
        _check_framing(self)
        if self.output_type == OutputType.COMPLEX:
            raise ValueError("output_type COMPLEX is not supported")


class MelSpectrogramCalculatorOptions(Options):
    """Framing as SpectrogramCalculatorOptions, bands as MediaPipe's MelSpectrumCalculatorOptions."""

    frame_duration_seconds: float = option(1, default=0.025, proto="double")
    frame_overlap_seconds: float = option(2, default=0.015, proto="double")
    pad_final_packet: bool = option(3, default=True)
    window_type: WindowType = option(6, default=WindowType.HANN)
    allow_multichannel_input: bool = option(5, default=False)
    channel_count: int = option(11, default=20, doc="mel bands")
    min_frequency_hertz: float = option(12, default=125.0, doc="lower edge of the lowest band")
    max_frequency_hertz: float = option(13, default=3800.0, doc="upper edge of the highest band")

    def check(self) -> None:
        _check_framing(self)
        if self.channel_count < 1:
            raise ValueError(f"channel_count must be >= 1, got {self.channel_count}")
        if not 0 <= self.min_frequency_hertz < self.max_frequency_hertz:
            raise ValueError(f"need 0 <= min_frequency_hertz < max_frequency_hertz, got "
                             f"{self.min_frequency_hertz} and {self.max_frequency_hertz}")


def _check_framing(opts: SpectrogramCalculatorOptions | MelSpectrogramCalculatorOptions) -> None:
    if not opts.frame_duration_seconds > 0:
        raise ValueError(f"frame_duration_seconds must be > 0, got {opts.frame_duration_seconds}")
    if not 0 <= opts.frame_overlap_seconds < opts.frame_duration_seconds:
        raise ValueError(f"frame_overlap_seconds must be in [0, frame_duration_seconds), "
                         f"got {opts.frame_overlap_seconds}")


class _SpectralCalculator(Calculator, register=False):
    """Frames AUDIO (Hann or Hamming window), FFTs each frame, hands power to `_finish`."""

    timestamp_offset = None  # frames start before the input that completes them

    audio = Input(AudioFrame, tag="AUDIO")
    audio_header = Input(AudioHeader, tag="AUDIO_HEADER", optional=True)

    def open(self, cc: CalculatorContext) -> None:
        self._header: AudioHeader | None = None
        self._framer: Framer | None = None

    def process(self, cc: CalculatorContext) -> None:
        self._header = latest_header(cc, self.audio_header, self._header)
        value = cc.get(self.audio)
        if value is None:
            return
        framer = self._framer
        frame = expect_audio(cc, value, "AUDIO", self._header,
                             None if framer is None else self._in_rate,
                             None if framer is None else framer.channels)
        if framer is None:
            framer = self._start(cc, frame)
        starts, frames = framer.push(frame.to_ndarray())
        if len(starts):
            spectra = self._finish(self._power(frames))
            for start, spectrum in zip(starts.tolist(), spectra):
                cc.send(self.out, spectrum, timestamp=sample_time(self._t0, start, self._rate))
        cc.set_next_timestamp_bound(self.out, sample_time(self._t0, framer.next_start(),
                                                          self._rate))

    def close(self, cc: CalculatorContext) -> None:
        if self._framer is None or not self.options.pad_final_packet:
            return
        last = self._framer.flush()
        if last is not None:
            start, samples = last
            [spectrum] = self._finish(self._power(samples[None]))
            cc.send(self.out, spectrum, timestamp=sample_time(self._t0, start, self._rate))

    def _start(self, cc: CalculatorContext, frame: AudioFrame) -> Framer:
        opts = self.options
        if frame.num_channels > 1 and not opts.allow_multichannel_input:
            raise ValueError(f"node '{cc.node_name}' input AUDIO: {frame.num_channels} channels, "
                             f"but allow_multichannel_input is false (mono only)")
        self._in_rate = frame.sample_rate
        self._rate = exact_rate(frame.sample_rate)
        self._t0 = int(cc.input_timestamp)
        self._framer = Framer(opts.frame_duration_seconds, opts.frame_overlap_seconds, False,
                              frame.sample_rate, frame.num_channels)
        size = self._framer.size
        self.fft_size = 1 << max(0, (size - 1).bit_length())  # smallest power of 2 >= size
        window = periodic_window(WindowType(opts.window_type).name, size)
        self._window = window[None, :, None]
        self._setup(frame.sample_rate)
        return self._framer

    def _power(self, frames: np.ndarray) -> np.ndarray:
        """[frames, samples, channels] -> squared magnitudes [frames, bins, channels]."""
        spectrum = np.fft.rfft(frames * self._window, n=self.fft_size, axis=1)
        return spectrum.real ** 2 + spectrum.imag ** 2

    def _setup(self, rate: float) -> None:
        pass

    def _finish(self, power: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError


class SpectrogramCalculator(_SpectralCalculator):
    """Short-time spectrum of an audio stream: one Matrix per (overlapping) frame.

    Frames as TimeSeriesFramerCalculator (frame_duration_seconds, frame_overlap_seconds,
    pad_final_packet), windowed by a periodic Hann (default) or Hamming window and
    zero-padded to the smallest power-of-2 DFT length that holds a frame. Output values
    are the squared magnitude (default), the magnitude, or decibels (20 log10 magnitude,
    floored at -200 dB), times output_scale. Bin k is k * rate / fft_size Hz. Each Matrix
    is bins x channels (one column; a column per channel with allow_multichannel_input),
    float32, at its frame's first-sample timestamp, exact in µs.

    Inputs:  AUDIO (AudioFrame); AUDIO_HEADER (AudioHeader at PRE_STREAM, optional)
    Outputs: SPECTROGRAM (Matrix, fft_size/2+1 bins x channels)
    Options: SpectrogramCalculatorOptions (MediaPipe's, ext 76186688): frame_duration_seconds
             (1), frame_overlap_seconds (2), pad_final_packet (3), output_type (4:
             SQUARED_MAGNITUDE, LINEAR_MAGNITUDE, DECIBELS), allow_multichannel_input (5),
             window_type (6: HANN, HAMMING), output_scale (7)

    Example config:
        node { calculator: "SpectrogramCalculator" input_stream: "AUDIO:audio"
               output_stream: "SPECTROGRAM:spectrogram"
               options { [mediapipe.SpectrogramCalculatorOptions.ext] {
                 frame_duration_seconds: 0.025 frame_overlap_seconds: 0.015
                 output_type: DECIBELS } } }
    """

    Options = SpectrogramCalculatorOptions
    out = Output(Matrix, tag="SPECTROGRAM")

    def _finish(self, power: np.ndarray) -> list[np.ndarray]:
        kind = self.options.output_type
        if kind == OutputType.LINEAR_MAGNITUDE:
            power = np.sqrt(power)
        elif kind == OutputType.DECIBELS:
            power = 10.0 * np.log10(np.maximum(power, _DB_FLOOR))
        power = power * self.options.output_scale
        return list(power.astype(np.float32))


class MelSpectrogramCalculator(_SpectralCalculator):
    """Mel-band energies of an audio stream: one Matrix per frame.

    The power spectrum of SpectrogramCalculator (same framing and window) summed through
    `channel_count` triangular filters whose edges are equally spaced on the HTK mel
    scale (1127 ln(1 + f/700)) between min_frequency_hertz and max_frequency_hertz
    (MediaPipe's MelSpectrumCalculator defaults: 20 bands, 125-3800 Hz). Feed the
    output to StabilizedLogCalculator for log-mel features.

    Inputs:  AUDIO (AudioFrame); AUDIO_HEADER (AudioHeader at PRE_STREAM, optional)
    Outputs: MEL (Matrix, channel_count bands x audio channels, float32)
    Options: frame_duration_seconds (0.025), frame_overlap_seconds (0.015), pad_final_packet,
             window_type (HANN), allow_multichannel_input, channel_count (20),
             min_frequency_hertz (125), max_frequency_hertz (3800)

    Example config:
        node { calculator: "MelSpectrogramCalculator" input_stream: "AUDIO:audio_16k"
               output_stream: "MEL:mel"
               node_options { [type.googleapis.com/mediagraph.MelSpectrogramCalculatorOptions] {
                 channel_count: 40 max_frequency_hertz: 7600 } } }
    """

    Options = MelSpectrogramCalculatorOptions
    out = Output(Matrix, tag="MEL")

    def _setup(self, rate: float) -> None:
        opts = self.options
        if opts.max_frequency_hertz > rate / 2:
            raise ValueError(f"max_frequency_hertz {opts.max_frequency_hertz} is above the "
                             f"Nyquist frequency {rate / 2:g} Hz")
        self._bank = mel_filterbank(opts.channel_count, opts.min_frequency_hertz,
                                    opts.max_frequency_hertz, self.fft_size, rate)

    def _finish(self, power: np.ndarray) -> list[np.ndarray]:
        mel = np.einsum("mb,fbc->fmc", self._bank, power)
        return list(mel.astype(np.float32))


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_filterbank(bands: int, low: float, high: float, fft_size: int,
                   rate: float) -> np.ndarray:
    """[bands, fft_size/2+1] triangular weights on the HTK mel scale."""
    edges = np.linspace(hz_to_mel(low), hz_to_mel(high), bands + 2)
    bin_mel = hz_to_mel(np.arange(fft_size // 2 + 1) * rate / fft_size)
    left, center, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bin_mel[None, :] - left) / (center - left)
    falling = (right - bin_mel[None, :]) / (right - center)
    return np.clip(np.minimum(rising, falling), 0.0, None)
