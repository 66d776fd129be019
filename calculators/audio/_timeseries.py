"""Shared pieces of the audio calculators: exact sample timestamps, input checks, framing.

Every audio output carries the timestamp of its first sample,
`t0 + index * 1_000_000 // rate` µs, where `t0` is the first input packet's timestamp
and `index` counts samples from there: integer math, so an hour of 44.1 kHz audio
ends on exactly the right microsecond (no accumulated float error).
"""

from __future__ import annotations

import enum
from fractions import Fraction
from typing import Any

import numpy as np

from mediagraph import CalculatorContext
from mediagraph.formats import AudioFrame, AudioHeader


def exact_rate(rate: float) -> Fraction:
    """A sample rate as an exact fraction (44100.0 -> 44100; 29.97 -> 2997/100)."""
    return Fraction(rate).limit_denominator(1_000_000)


def sample_time(first_input_ts: int, index: int, rate: Fraction) -> int:
    """µs timestamp of sample `index` counted from the stream's first sample."""
    return first_input_ts + index * 1_000_000 * rate.denominator // rate.numerator


def latest_header(cc: CalculatorContext, port: Any,
                  current: AudioHeader | None) -> AudioHeader | None:
    """The stream's AudioHeader so far: one arriving on `port` now replaces `current`."""
    if not cc.connected(port):
        return current
    header = cc.get(port)
    return current if header is None else header


def expect_audio(cc: CalculatorContext, value: Any, port: str,
                 header: AudioHeader | None, rate: float | None,
                 channels: int | None) -> AudioFrame:
    """Check one input frame: an AudioFrame matching the header and the stream so far."""
    where = f"node '{cc.node_name}' input {port} at {cc.input_timestamp}"
    if not isinstance(value, AudioFrame):
        raise TypeError(f"{where}: needs an AudioFrame, got {type(value).__name__}")
    if header is not None:
        if value.num_channels != header.num_channels:
            raise ValueError(f"{where}: {value.num_channels} channel(s), but its AUDIO_HEADER "
                             f"says {header.num_channels}")
        if header.sample_rate and value.sample_rate != header.sample_rate:
            raise ValueError(f"{where}: {value.sample_rate:g} Hz, but its AUDIO_HEADER says "
                             f"{header.sample_rate} Hz")
    if rate is not None and (value.sample_rate != rate or value.num_channels != channels):
        raise ValueError(f"{where}: {value.num_channels} ch @ {value.sample_rate:g} Hz, but the "
                         f"stream started as {channels} ch @ {rate:g} Hz")
    return value


class WindowFunction(enum.IntEnum):
    """MediaPipe's TimeSeriesFramerCalculatorOptions.WindowFunction."""

    NONE = 0
    HAMMING = 1
    HANN = 2


def periodic_window(kind: str, size: int) -> np.ndarray | None:
    """A periodic Hamming or Hann window (as MediaPipe's audio_dsp GetPeriodicSamples)."""
    if kind == "NONE":
        return None
    phase = 2.0 * np.pi * np.arange(size) / size
    if kind == "HAMMING":
        return 0.54 - 0.46 * np.cos(phase)
    if kind == "HANN":
        return 0.5 - 0.5 * np.cos(phase)
    raise ValueError(f"unknown window {kind!r}")


def seconds_to_samples(seconds: float, rate: float) -> int:
    """MediaPipe's time_series_util::SecondsToSamples: round to the nearest sample."""
    return int(np.floor(seconds * rate + 0.5))


class Framer:
    """Cuts a stream of sample blocks into fixed-size, possibly overlapping frames.

    Frame n starts at input sample `round(n * step)`, where `step` is the frame length
    minus the overlap, in samples (fractional with `fractional=True`). Frames are
    gathered with one fancy-indexing step per input block, never a loop per sample.
    """

    def __init__(self, frame_seconds: float, overlap_seconds: float, fractional: bool,
                 rate: float, channels: int) -> None:
        if not frame_seconds > 0:
            raise ValueError(f"frame_duration_seconds must be > 0, got {frame_seconds}")
        if not overlap_seconds < frame_seconds:
            raise ValueError(f"frame_overlap_seconds ({overlap_seconds}) must be less than "
                             f"frame_duration_seconds ({frame_seconds})")
        self.size = seconds_to_samples(frame_seconds, rate)
        if self.size <= 0:
            raise ValueError(f"frame duration of {frame_seconds} s is shorter than one sample "
                             f"at {rate:g} Hz")
        if fractional:
            self.step = (frame_seconds - overlap_seconds) * rate
        else:
            self.step = float(self.size - seconds_to_samples(overlap_seconds, rate))
        if self.step < 1:
            raise ValueError(f"frame step is shorter than one sample at {rate:g} Hz")
        self.channels = channels
        self.buffer = np.zeros((0, channels), np.float32)
        self.buffer_start = 0   # stream index of buffer[0]
        self.total = 0          # samples pushed so far
        self.next_frame = 0     # index of the next frame to emit

    def start(self, n: np.ndarray | int) -> Any:
        return np.floor(np.asarray(n, dtype=np.float64) * self.step + 0.5).astype(np.int64)

    def next_start(self) -> int:
        return int(self.start(self.next_frame))

    def push(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add samples; returns (start indexes, frames [n, size, channels]) now complete."""
        self.buffer = np.concatenate([self.buffer, samples]) if len(self.buffer) else samples
        self.total += len(samples)
        # frames whose last sample has arrived: start(n) + size <= total
        last = int(np.floor((self.total - self.size + 0.5) / self.step)) + 2
        candidates = np.arange(self.next_frame, max(self.next_frame, last))
        starts = self.start(candidates)
        starts = starts[starts + self.size <= self.total]
        frames = self._gather(starts)
        self.next_frame += len(starts)
        self._trim()
        return starts, frames

    def flush(self) -> tuple[int, np.ndarray] | None:
        """The final zero-padded frame, if samples remain past the last full frame."""
        begin = self.next_start()
        if begin >= self.total:
            return None
        padded = np.zeros((self.size, self.channels), np.float32)
        tail = self.buffer[begin - self.buffer_start:]
        padded[:len(tail)] = tail
        self.next_frame += 1
        return begin, padded

    def _gather(self, starts: np.ndarray) -> np.ndarray:
        offsets = starts - self.buffer_start
        return self.buffer[offsets[:, None] + np.arange(self.size)[None, :]]

    def _trim(self) -> None:
        keep_from = min(self.next_start(), self.total)
        drop = keep_from - self.buffer_start
        if drop > 0:
            self.buffer = self.buffer[drop:]
            self.buffer_start = keep_from
