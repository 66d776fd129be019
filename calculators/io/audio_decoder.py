"""AudioDecoderCalculator: decode an audio file (or a video's audio track) with PyAV."""

from __future__ import annotations

import os
from collections import deque
from typing import Any

import numpy as np

from mediagraph.calculators.io._devices import channel_layout
from mediagraph import Calculator, CalculatorContext, Options, Output, SideInput, Stop, Timestamp
from mediagraph.formats import AudioFrame, AudioHeader
from mediagraph.calculators.io._demuxers import open_options, refused_message
from mediagraph.calculators.io._skipping import DamageSkipper
from mediagraph.optional import require


# Above 1 MHz two samples can share a microsecond, so two frames could share a timestamp.
MAX_SAMPLE_RATE = 1_000_000


def sample_timestamp(first_sample: int, sample_rate: int) -> int:
    """The timestamp in µs of sample `first_sample`, in integer math (no drift)."""
    return first_sample * 1_000_000 // sample_rate


class AudioDecoderCalculatorOptions(Options):
    sample_rate: int = 0      # 0: the file's rate
    channels: int = 0         # 0: the file's channels; 1: mono (downmix); 2: stereo
    frame_size: int = 1024    # samples per output frame; 0: frames as the codec decodes them
    demuxers: str = ""        # FFmpeg demuxers allowed; "": single-file media (_demuxers.py)
    on_error: str = "FAIL"    # damaged input: FAIL after the last good frame, or SKIP past it

    def check(self) -> None:
        if self.sample_rate < 0 or self.channels < 0 or self.frame_size < 0:
            raise ValueError("sample_rate, channels and frame_size must not be negative")
        if self.on_error.upper() not in ("FAIL", "SKIP"):
            raise ValueError(f"on_error must be FAIL or SKIP, not {self.on_error!r}")


class AudioDecoderCalculator(Calculator):
    """Decode the first audio stream of a file into fixed-size float32 AudioFrames.

    Each frame's timestamp is its first sample's time, `index * 1_000_000 // rate` µs
    counted from the first decoded sample, so it never drifts; a container's start
    offset (e.g. MP3/AAC priming) is not added. Every frame holds `frame_size` samples
    except the last, which holds what is left (it is not padded). Rate and channel
    conversion go through libswresample (`av.AudioResampler`), rebuilt when the decoded
    layout or rate changes mid-file; the output's never does.

    A damaged or truncated file keeps every frame decoded before the damage, then fails
    with an error naming the file and the last good timestamp (`on_error: "FAIL"`, the
    default); `"SKIP"` leaves out each packet FFmpeg cannot read, warns once, counts the
    skips in the profile, and fills the time they held with silence, so every later
    frame keeps its time in the file. A file that declares
    frames or a duration but decodes to nothing fails too (an empty one just ends). A
    missing, empty or unreadable file, one without an audio stream, or one whose sample
    rate is above 1 MHz (`MAX_SAMPLE_RATE`), fails in `open()` with its path in the message.

    Inputs:  none (a source)
    Outputs: AUDIO (AudioFrame, samples x channels float32)
             AUDIO_HEADER (AudioHeader, optional) one packet at PRE_STREAM
    Side inputs: INPUT_FILE_PATH (str) the file to decode
    Options: sample_rate (0 = keep), channels (0 = keep, 1 = mono, 2 = stereo),
             frame_size (default 1024; 0 = as decoded)

    Example config:
        node { calculator: "AudioDecoderCalculator"
               input_side_packet: "INPUT_FILE_PATH:path"
               output_stream: "AUDIO:audio" output_stream: "AUDIO_HEADER:audio_header"
               node_options { [type.googleapis.com/mediagraph.AudioDecoderCalculatorOptions] {
                 sample_rate: 16000 channels: 1 } } }
    """

    Options = AudioDecoderCalculatorOptions
    input_file_path = SideInput(str)
    audio = Output(AudioFrame)
    audio_header = Output(AudioHeader, optional=True)

    def open(self, cc: CalculatorContext) -> None:
        av = require("av", purpose="AudioDecoderCalculator")
        self.path = path = os.fspath(cc.side(self.input_file_path))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"audio file '{path}' does not exist")
        if os.path.getsize(path) == 0:
            raise ValueError(f"audio file '{path}' is empty (0 bytes)")
        self._av = av
        self._error_types = (av.FFmpegError, EOFError)
        try:
            # Tags are often Latin-1 (or damaged); a strict decode would refuse the whole file.
            self.container = av.open(path, metadata_errors="replace",
                                     options=open_options(path, self.options.demuxers))
        except av.FFmpegError as exc:
            refused = refused_message(path, exc)
            raise ValueError(refused or f"cannot read audio file '{path}': {exc}") from exc
        try:
            self._setup(cc)
        except BaseException:
            self.container.close()
            raise

    def _setup(self, cc: CalculatorContext) -> None:
        av, opts, path = self._av, self.options, self.path
        if not self.container.streams.audio:
            raise ValueError(f"'{path}' has no audio stream")
        stream = self.stream = self.container.streams.audio[0]
        ctx = stream.codec_context
        if ctx is None or ctx.codec is None:
            raise ValueError(f"'{path}': no decoder for its audio codec")
        self.rate = opts.sample_rate or ctx.sample_rate
        if not self.rate:
            raise ValueError(f"'{path}': the audio stream has no sample rate")
        for rate in (ctx.sample_rate, self.rate):
            if rate > MAX_SAMPLE_RATE:
                raise ValueError(f"'{path}': a sample rate of {rate} Hz is above "
                                 f"{MAX_SAMPLE_RATE} Hz, where frames could no longer get "
                                 f"distinct microsecond timestamps (a damaged header?)")
        self.layout = channel_layout(av, opts.channels) if opts.channels else ctx.layout
        self.channels = self.layout.nb_channels
        if not self.channels:
            raise ValueError(f"'{path}': the audio stream has no channels")
        self.decoded = self.container.decode(stream)
        # One resampler per input format: a damaged or switching stream may change the
        # decoded layout or rate mid-file, and a resampler only takes the format it was
        # built for. Its output (packed float32 at the output layout and rate) never changes.
        self.resampler: Any = None
        self.source_format: tuple[str, str, int] | None = None
        self.held: deque[np.ndarray] = deque()  # converted samples not yet sent
        self.held_samples = 0
        self.ended = False
        self.damage: BaseException | None = None
        self.skipper = DamageSkipper(f"audio file '{path}'")
        self.gap = False  # a damaged packet was left out since the last good frame
        self.origin_s: float | None = None  # the first decoded frame's time
        self.samples = 0
        self.sent = 0
        self.last_timestamp: int | None = None
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif self.container.duration:
            duration = self.container.duration / 1_000_000  # AV_TIME_BASE
        else:
            duration = 0.0
        self.duration = duration
        cc.send(self.audio_header, AudioHeader(self.rate, self.channels, duration,
                                               opts.frame_size),
                timestamp=Timestamp.PRE_STREAM)

    def process(self, cc: CalculatorContext) -> Any:
        size = self.options.frame_size
        while not self.ended and (self.held_samples < size if size else not self.held):
            self._decode_one()
        data = self._take(size)
        if data is None:
            if self.damage is not None:
                raise Stop from self._damage_error()  # every good frame went out first
            if not self.sent and (self.duration > 0 or self.stream.frames):
                # (an empty file, declaring neither, just ends)
                raise ValueError(f"audio file '{self.path}' is damaged or truncated before "
                                 f"the first frame: the container declares "
                                 f"{self.stream.frames} frame(s) lasting {self.duration:.3f} "
                                 f"s, but no sample decoded")
            return Stop
        timestamp = sample_timestamp(self.samples, self.rate)
        cc.send(self.audio, AudioFrame(data, self.rate), timestamp=timestamp)
        self.samples += data.shape[0]
        self.sent += 1
        self.last_timestamp = timestamp
        return None

    def close(self, cc: CalculatorContext) -> None:
        self.container.close()

    # -- decoding ---------------------------------------------------------------------

    def _decode_one(self) -> None:
        try:
            frame = next(self.decoded)
        except StopIteration:
            self._end()
            return
        except self._error_types as exc:
            if self.options.on_error.upper() == "SKIP" and self.skipper.skip(
                    exc, f"after {self.samples + self.held_samples} samples"):
                # The decoding generator ended with the error; a new one reads on.
                self.decoded = self.container.decode(self.stream)
                self.profile_info = self.skipper.profile_info
                self.gap = True
                return
            self.damage = exc
            self._end()
            return
        self.skipper.good()
        try:
            self._fill_gap(frame)
            self._convert(frame)
        except (*self._error_types, ValueError) as exc:
            self.damage = exc
            self._end()

    def _fill_gap(self, frame: Any) -> None:
        """After skipped packets, silence for the time they held, so every later frame's
        timestamp (which counts samples) stays where the file puts it."""
        if frame.pts is None or frame.time_base is None:
            return
        at = float(frame.pts * frame.time_base)
        if self.origin_s is None:
            self.origin_s = at
        if not self.gap:
            return
        self.gap = False
        missing = round((at - self.origin_s) * self.rate) - (self.samples + self.held_samples)
        if missing > 0:
            self.held.append(np.zeros((missing, self.channels), np.float32))
            self.held_samples += missing

    def _end(self) -> None:
        """At the end of the input, or at damage: flush the decoder and the resampler."""
        self.ended = True
        if self.damage is not None:  # the demuxer's end-of-file flush never came
            try:
                for frame in self.stream.codec_context.decode(None):
                    self._convert(frame)
            except (*self._error_types, ValueError):
                pass
        if self.resampler is not None:
            try:
                self._hold(self.resampler.resample(None))
            except self._error_types:
                pass

    def _convert(self, frame: Any) -> None:
        source = (frame.format.name, frame.layout.name, frame.sample_rate)
        if source != self.source_format:
            if self.resampler is not None:
                self._hold(self.resampler.resample(None))  # the old format's tail
            self.resampler = self._av.AudioResampler(format="flt", layout=self.layout,
                                                     rate=self.rate)
            self.source_format = source
        self._hold(self.resampler.resample(frame))

    def _hold(self, frames: list[Any]) -> None:
        for frame in frames:
            # packed float32: one plane of interleaved samples
            data = frame.to_ndarray().reshape(-1, self.channels)
            if len(data):
                self.held.append(data)
                self.held_samples += len(data)

    def _take(self, size: int) -> np.ndarray | None:
        """The next output frame: `size` samples (fewer at the end), or one as converted."""
        if not self.held:
            return None
        if not size:
            data = self.held.popleft()
        else:
            parts, need = [], min(size, self.held_samples)
            while need:
                head = self.held[0]
                if len(head) <= need:
                    parts.append(self.held.popleft())
                    need -= len(head)
                else:
                    parts.append(head[:need])
                    self.held[0] = head[need:]
                    need = 0
            data = parts[0] if len(parts) == 1 else np.concatenate(parts)
        self.held_samples -= len(data)
        return np.ascontiguousarray(data)

    def _damage_error(self) -> ValueError:
        where = ("before the first frame" if not self.sent else
                 f"after {self.sent} frame(s) ({self.samples} samples); "
                 f"last good timestamp {self.last_timestamp} µs")
        error = ValueError(f"audio file '{self.path}' is damaged or truncated {where}: "
                           f"{type(self.damage).__name__}: {self.damage}")
        error.__cause__ = self.damage
        return error
