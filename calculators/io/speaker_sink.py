"""SpeakerSinkCalculator: play AudioFrames on an output device (sounddevice OutputStream)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from mediagraph.calculators.io._devices import DeviceUnavailableError, SoundDeviceBackend, parse_device
from mediagraph import Calculator, CalculatorContext, Input, MediaGraphError, Options
from mediagraph.formats import AudioFrame


class SpeakerSinkCalculatorOptions(Options):
    sample_rate: int = 0    # 0: the first frame's rate (the device opens on the first frame)
    channels: int = 0       # 0: the first frame's channel count
    device: str = ""        # "": the default output; an index ("3") or a name substring

    def check(self) -> None:
        if self.sample_rate < 0 or self.channels < 0:
            raise ValueError("sample_rate and channels must not be negative")


class SpeakerSinkCalculator(Calculator):
    """Play the AUDIO stream, blocking `process` until the device has taken each frame.

    Writing blocks, so playback paces the graph in real time (back-pressure reaches the
    source through the bounded queues). With `sample_rate` and `channels` set, the
    device opens in `open()`, so a missing device fails before the run starts;
    otherwise it opens on the first frame. Frames must match the stream's rate; mono
    frames are copied to every channel of a multi-channel stream. `close()` lets the
    queued audio play out, then closes the device.

    The stream comes from `backend()` (default: sounddevice), a class attribute tests
    replace; its `output_stream(**sounddevice_kwargs)` returns an object with
    `start()`, `write(array)`, `stop()` and `close()`.

    Inputs:  AUDIO (AudioFrame)
    Options: sample_rate, channels, device

    Example config:
        node { calculator: "SpeakerSinkCalculator" input_stream: "AUDIO:audio" }
    """

    Options = SpeakerSinkCalculatorOptions
    backend: ClassVar[Callable[[], Any] | None] = None

    audio = Input(AudioFrame)

    def open(self, cc: CalculatorContext) -> None:
        opts = self.options
        self.device = parse_device(opts.device)
        self.what = ("the default output device" if self.device is None
                     else f"output device {self.device!r}")
        factory = type(self).backend or (lambda: SoundDeviceBackend("SpeakerSinkCalculator"))
        self.backend = factory()
        self.stream: Any = None
        if opts.sample_rate and opts.channels:
            self._start(opts.sample_rate, opts.channels)

    def _start(self, rate: int, channels: int) -> None:
        try:
            self.stream = self.backend.output_stream(samplerate=rate, channels=channels,
                                                     dtype="float32", device=self.device)
        except MediaGraphError:
            raise
        except Exception as exc:
            raise DeviceUnavailableError(
                f"cannot open {self.what} ({channels} ch @ {rate} Hz): {exc}; are speakers "
                "connected? list devices with 'python -m sounddevice'") from exc
        self.rate, self.channels = rate, channels
        try:
            self.stream.start()
        except Exception as exc:
            stream, self.stream = self.stream, None
            stream.close()
            raise DeviceUnavailableError(f"cannot start {self.what}: {exc}") from exc

    def process(self, cc: CalculatorContext) -> None:
        frame: AudioFrame | None = cc.get(self.audio)
        if frame is None or frame.num_samples == 0:
            return
        if self.stream is None:
            self._start(int(self.options.sample_rate or frame.sample_rate),
                        self.options.channels or frame.num_channels)
        if frame.sample_rate != self.rate:
            raise ValueError(f"frame at {cc.input_timestamp} is {frame.sample_rate:g} Hz but "
                             f"{self.what} plays {self.rate} Hz; resample it first")
        data = frame.to_ndarray()
        if data.shape[1] != self.channels:
            if data.shape[1] != 1:
                raise ValueError(f"frame at {cc.input_timestamp} has {data.shape[1]} channels "
                                 f"but {self.what} plays {self.channels}")
            data = np.repeat(data, self.channels, axis=1)
        self.stream.write(np.ascontiguousarray(data, dtype=np.float32))

    def close(self, cc: CalculatorContext) -> None:
        if self.stream is not None:
            try:
                self.stream.stop()  # plays out what is queued
            finally:
                self.stream.close()
