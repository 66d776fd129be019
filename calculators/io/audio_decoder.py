"""AudioDecoderCalculator: decode an audio file (or a video's audio track) with PyAV."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from calculators.io._devices import channel_layout, import_av
from mediagraph import Calculator, CalculatorContext, Options, Output, SideInput, Stop, Timestamp
from mediagraph.formats import AudioFrame, AudioHeader


def sample_timestamp(first_sample: int, sample_rate: int) -> int:
    """The timestamp in µs of sample `first_sample`, in integer math (no drift)."""
    return first_sample * 1_000_000 // sample_rate


class AudioDecoderCalculatorOptions(Options):
    sample_rate: int = 0      # 0: the file's rate
    channels: int = 0         # 0: the file's channels; 1: mono (downmix); 2: stereo
    frame_size: int = 1024    # samples per output frame; 0: frames as the codec decodes them


class AudioDecoderCalculator(Calculator):
    """Decode the first audio stream of a file into fixed-size float32 AudioFrames.

    Each frame's timestamp is its first sample's time, `index * 1_000_000 // rate` µs
    counted from the first decoded sample, so it never drifts; a container's start
    offset (e.g. MP3/AAC priming) is not added. Every frame holds `frame_size` samples
    except the last, which holds what is left (it is not padded). Rate and channel
    conversion go through libswresample (`av.AudioResampler`).

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
        av = import_av("AudioDecoderCalculator")
        opts = self.options
        if opts.sample_rate < 0 or opts.channels < 0 or opts.frame_size < 0:
            raise ValueError("sample_rate, channels and frame_size must not be negative")
        self.path = path = os.fspath(cc.side(self.input_file_path))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"audio file '{path}' does not exist")
        if os.path.getsize(path) == 0:
            raise ValueError(f"audio file '{path}' is empty (0 bytes)")
        self._error_types = (av.FFmpegError,)
        try:
            self.container = av.open(path)
        except av.FFmpegError as exc:
            raise ValueError(f"cannot read audio file '{path}': {exc}") from exc
        if not self.container.streams.audio:
            self.container.close()
            raise ValueError(f"'{path}' has no audio stream")
        stream = self.container.streams.audio[0]
        self.rate = opts.sample_rate or stream.codec_context.sample_rate
        if not self.rate:
            self.container.close()
            raise ValueError(f"'{path}': the audio stream has no sample rate")
        layout = channel_layout(av, opts.channels) if opts.channels else stream.codec_context.layout
        self.channels = layout.nb_channels
        self.resampler = av.AudioResampler(format="flt", layout=layout, rate=self.rate,
                                           frame_size=opts.frame_size or None)
        self.decoded = self.container.decode(stream)
        self.pending: list[Any] = []
        self.flushed = False
        self.samples = 0
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif self.container.duration:
            duration = self.container.duration / 1_000_000  # AV_TIME_BASE
        else:
            duration = 0.0
        cc.send(self.audio_header, AudioHeader(self.rate, self.channels, duration,
                                               opts.frame_size),
                timestamp=Timestamp.PRE_STREAM)

    def process(self, cc: CalculatorContext) -> Any:
        while not self.pending:
            if self.flushed:
                return Stop
            try:
                frame = next(self.decoded)
            except StopIteration:
                frame = None
                self.flushed = True
            except self._error_types as exc:
                raise ValueError(f"cannot decode audio file '{self.path}': {exc}") from exc
            self.pending.extend(self.resampler.resample(frame))
        frame = self.pending.pop(0)
        # packed float32: one plane of interleaved samples
        data = np.ascontiguousarray(frame.to_ndarray().reshape(-1, self.channels))
        cc.send(self.audio, AudioFrame(data, self.rate),
                timestamp=sample_timestamp(self.samples, self.rate))
        self.samples += data.shape[0]
        return None

    def close(self, cc: CalculatorContext) -> None:
        self.container.close()
