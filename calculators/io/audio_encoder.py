"""AudioEncoderCalculator: write AudioFrames to a .wav, .flac, .mp3, .m4a or .aac file."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import numpy as np

from mediagraph.calculators.io._devices import channel_layout
from mediagraph import Calculator, CalculatorContext, Input, Options, SideInput
from mediagraph.formats import AudioFrame
from mediagraph.optional import require
from mediagraph.staged_file import StagedFile

# suffix -> encoders to try, in order; the container format follows from the suffix
_ENCODERS: dict[str, tuple[str, ...]] = {
    ".wav": ("pcm_s16le",),
    ".flac": ("flac",),
    ".mp3": ("libmp3lame", "mp3"),
    ".m4a": ("aac",),
    ".aac": ("aac",),
}


class AudioEncoderCalculatorOptions(Options):
    sample_rate: int = 0   # 0: the input's rate
    bit_rate: int = 0      # bits per second for .mp3/.m4a/.aac; 0: the encoder's default


class AudioEncoderCalculator(Calculator):
    """Encode the AUDIO stream into a file whose suffix picks the format.

    .wav: 16-bit PCM; .flac; .mp3 (libmp3lame, when FFmpeg has it); .m4a/.aac: AAC.
    The file is opened in `open()`, so a missing or unwritable folder fails before
    the run starts, and finalized in `close()`, which runs even when the run fails or
    is cancelled, so what was written is a valid file. Samples are written back to
    back: timestamp gaps are not filled with silence. All frames must share the first
    frame's sample rate and channel count; `sample_rate` resamples on the way out.
    A run without any frame writes a valid, empty file (mono, at `sample_rate` or
    44100 Hz).

    Inputs:  AUDIO (AudioFrame)
    Side inputs: OUTPUT_FILE_PATH (str) the file to write (replaced if it exists)
    Options: sample_rate (0 = the input's), bit_rate (0 = the encoder's default)

    Example config:
        node { calculator: "AudioEncoderCalculator" input_stream: "AUDIO:audio"
               input_side_packet: "OUTPUT_FILE_PATH:out_path" }
    """

    Options = AudioEncoderCalculatorOptions
    audio = Input(AudioFrame)
    output_file_path = SideInput(str)

    def open(self, cc: CalculatorContext) -> None:
        av = self.av = require("av", purpose="AudioEncoderCalculator")
        self.path = path = os.fspath(cc.side(self.output_file_path))
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in _ENCODERS:
            raise ValueError(f"cannot write '{path}': unknown audio suffix {suffix!r}; use one "
                             f"of {', '.join(_ENCODERS)}")
        self.codec = _find_encoder(av, _ENCODERS[suffix])
        if self.codec is None:
            raise ValueError(f"cannot write '{path}': this FFmpeg build has no "
                             f"{' or '.join(_ENCODERS[suffix])} encoder for {suffix} files")
        # Written beside the target and renamed over it once finalized (StagedFile).
        self.staged = StagedFile(path)
        try:
            self.container = av.open(os.fspath(self.staged.path), "w")
        except (av.FFmpegError, OSError) as exc:
            self.staged.discard()
            raise OSError(f"cannot write '{path}': {exc}") from exc
        self.stream: Any = None
        self.in_rate = 0.0
        self.in_channels = 0
        self.written = 0

    def _start(self, rate: int, channels: int) -> None:
        av = self.av
        layout = channel_layout(av, channels)
        out_rate = self.options.sample_rate or rate
        self.stream = self.container.add_stream(self.codec, rate=out_rate, layout=layout)
        if self.options.bit_rate:
            self.stream.bit_rate = self.options.bit_rate
        ctx = self.stream.codec_context
        ctx.open()  # fixes frame_size, which AAC and MP3 need every frame to have
        self.resampler = av.AudioResampler(format=ctx.format, layout=layout, rate=out_rate,
                                           frame_size=ctx.frame_size or None)
        self.out_rate = out_rate
        self.in_rate = rate
        self.in_layout = layout
        self.in_channels = channels

    def process(self, cc: CalculatorContext) -> None:
        frame: AudioFrame | None = cc.get(self.audio)
        if frame is None or frame.num_samples == 0:
            return
        if self.stream is None:
            if frame.sample_rate != int(frame.sample_rate):
                raise ValueError(f"'{self.path}': sample rate {frame.sample_rate} is not an "
                                 "integer")
            self._start(int(frame.sample_rate), frame.num_channels)
        elif frame.sample_rate != self.in_rate or frame.num_channels != self.in_channels:
            raise ValueError(
                f"'{self.path}': frame at {cc.input_timestamp} is {frame.num_channels} ch @ "
                f"{frame.sample_rate:g} Hz, but the file was started at {self.in_channels} ch @ "
                f"{self.in_rate:g} Hz")
        data = np.ascontiguousarray(frame.to_ndarray(), dtype=np.float32).reshape(1, -1)
        av_frame = self.av.AudioFrame.from_ndarray(data, format="flt", layout=self.in_layout)
        av_frame.sample_rate = self.in_rate
        self._encode(self.resampler.resample(av_frame))

    def _encode(self, frames: list[Any]) -> None:
        time_base = Fraction(1, self.out_rate)
        for f in frames:
            f.pts = self.written
            f.time_base = time_base
            self.written += f.samples
            for packet in self.stream.encode(f):
                self.container.mux(packet)

    def close(self, cc: CalculatorContext) -> None:
        try:
            if self.stream is None:
                self._start(self.options.sample_rate or 44100, 1)
            self._encode(self.resampler.resample(None))
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            self.container.start_encoding()  # writes the header when no packet did
        except BaseException:
            self.container.close()
            self.staged.discard()
            raise
        self.container.close()
        self.staged.commit()


def _find_encoder(av: Any, names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            av.codec.Codec(name, "w")
        except (av.FFmpegError, ValueError):
            continue
        return name
    return None
