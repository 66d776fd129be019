"""AudioInputCalculator: audio from a file, or from a microphone when the path says `mic`."""

from __future__ import annotations

import os
from typing import Any

from mediagraph.calculators.io.audio_decoder import (
    AudioDecoderCalculator,
    AudioDecoderCalculatorOptions,
)
from mediagraph.calculators.io.microphone_source import (
    MicrophoneSourceCalculator,
    MicrophoneSourceCalculatorOptions,
)
from mediagraph import Calculator, CalculatorContext, Options, Output, SideInput, Stop
from mediagraph.formats import AudioFrame, AudioHeader
from mediagraph.port import Port

MIC = "mic"


class AudioInputCalculatorOptions(Options):
    sample_rate: int = 0      # 0: the file's rate (16000 for a microphone)
    channels: int = 0         # 0: the file's channels (1 for a microphone)
    frame_size: int = 1024    # samples per frame
    mic_timeout_s: float = 5.0  # a microphone that delivers nothing this long is an error


def parse_mic(path: Any) -> str | None:
    """The device for `mic` ("") or `mic:N` / `mic:NAME` (N or NAME); None for a file path."""
    text = os.fspath(path) if not isinstance(path, int) else str(path)
    name, sep, device = text.partition(":")
    if name.lower() == MIC and (sep or not device):
        return device
    return None


class AudioInputCalculator(Calculator):
    """Decode an audio file, or capture a microphone when INPUT_FILE_PATH is `mic`/`mic:N`.

    One graph then serves both `mediagraph run ... --input speech.wav` and `--input mic`
    (`mic:2` picks input device 2, `mic:USB` a device whose name contains "USB"). The work
    is done by AudioDecoderCalculator or MicrophoneSourceCalculator (same options, same
    timestamps, same device backend for tests to replace); see those for details.

    A failure after the first frame (a file that turns out damaged, a microphone that
    stops delivering audio: unplugged, taken by another program) ends the audio stream
    with `raise Stop from error`: everything downstream finishes with the audio already
    read, sinks finalize, and then the run fails with the error.

    Inputs:  none (a source)
    Outputs: AUDIO (AudioFrame)
             AUDIO_HEADER (AudioHeader, optional; files only) at PRE_STREAM
    Side inputs: INPUT_FILE_PATH (str) a file path, `mic` or `mic:DEVICE`
    Options: sample_rate, channels, frame_size, mic_timeout_s

    Example config:
        node { calculator: "AudioInputCalculator"
               input_side_packet: "INPUT_FILE_PATH:input_audio_path"
               output_stream: "AUDIO:audio"
               node_options { [type.googleapis.com/mediagraph.AudioInputCalculatorOptions] {
                 sample_rate: 16000 channels: 1 frame_size: 512 } } }
    """

    Options = AudioInputCalculatorOptions
    input_file_path = SideInput(str)
    audio = Output(AudioFrame)
    audio_header = Output(AudioHeader, optional=True)

    def open(self, cc: CalculatorContext) -> None:
        o = self.options
        path = cc.side(self.input_file_path)
        device = parse_mic(path)
        inner: Calculator
        if device is None:
            inner = AudioDecoderCalculator()
            inner.options = AudioDecoderCalculatorOptions(
                sample_rate=o.sample_rate, channels=o.channels, frame_size=o.frame_size)
            ports = {AudioDecoderCalculator.audio: self.audio,
                     AudioDecoderCalculator.audio_header: self.audio_header}
        else:
            inner = MicrophoneSourceCalculator()
            inner.options = MicrophoneSourceCalculatorOptions(
                sample_rate=o.sample_rate or 16000, channels=o.channels or 1,
                frame_size=o.frame_size, device=device, timeout_s=o.mic_timeout_s)
            ports = {MicrophoneSourceCalculator.audio: self.audio}
        self.inner = inner
        self.context = _Forwarding(cc, ports, {type(inner).ports.get("input_file_path"): path})
        inner.open(self.context)

    def process(self, cc: CalculatorContext) -> Any:
        self.context.cc = cc
        try:
            return self.inner.process(self.context)
        except Stop:
            raise
        except Exception as exc:
            raise Stop from exc  # drain what was read; the run then fails with `exc`

    def close(self, cc: CalculatorContext) -> None:
        self.context.cc = cc
        self.inner.close(self.context)


class _Forwarding:
    """The inner calculator's context: its ports forwarded to this node's ports."""

    def __init__(self, cc: CalculatorContext, ports: dict[Port, Port],
                 sides: dict[Any, Any]) -> None:
        self.cc = cc
        self.ports = ports
        self.sides = sides
        self.node_name = cc.node_name

    def send(self, port: Port, value: Any, timestamp: int | None = None) -> None:
        self.cc.send(self.ports[port], value, timestamp=timestamp)

    def side(self, port: Port, default: Any = None) -> Any:
        return self.sides.get(port, default)
