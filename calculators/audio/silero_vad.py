"""SileroVadCalculator: speech probability per audio frame with Silero VAD (v5, ONNX)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mediagraph.calculators.inference._backends import OrtCpu, cached, file_key
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, models
from mediagraph.formats import AudioFrame

# Silero VAD v5's streaming protocol (silero_vad/utils_vad.py, OnnxWrapper.__call__):
# each call takes a window of WINDOW samples with the last CONTEXT samples of the
# previous window prepended (zeros before the first), plus the recurrent state
# (2 x batch x 128, zeros at the start) and the rate; it returns the probability and the
# next state.
WINDOW = {16000: 512, 8000: 256}
CONTEXT = {16000: 64, 8000: 32}
STATE_SHAPE = (2, 1, 128)


class SileroVadCalculatorOptions(Options):
    model_path: str = "silero_vad.onnx"   # a file, or a name in the model cache


class SileroVad:
    """One Silero VAD stream: the ONNX session (shared) plus this stream's state.

    `__call__(window)` takes WINDOW float32 samples (fewer are zero-padded at the end, as
    silero's own `get_speech_timestamps` pads the last chunk) and returns the speech
    probability. Used by the calculator and by plain loops (benchmarks, tests).
    """

    def __init__(self, model_path: str | Path = "silero_vad.onnx", sample_rate: int = 16000) -> None:
        if sample_rate not in WINDOW:
            raise ValueError(f"Silero VAD runs at 16000 or 8000 Hz, not {sample_rate:g}")
        path = models.resolve(str(model_path))
        # ORT sessions run concurrently, so one cached session serves every node and run;
        # the recurrent state lives here, per stream. One intra-op thread, no spinning.
        self.session = cached(("silero_vad", file_key(path), "cpu", 1),
                              lambda: OrtCpu(path, 1)).session
        self.rate = sample_rate
        self.window = WINDOW[sample_rate]
        self.context = CONTEXT[sample_rate]
        self._x = np.zeros((1, self.context + self.window), np.float32)
        self._feeds: dict[str, Any] = {"input": self._x, "state": np.zeros(STATE_SHAPE, np.float32),
                                       "sr": np.array(sample_rate, np.int64)}

    def reset(self) -> None:
        self._x[:] = 0.0
        self._feeds["state"] = np.zeros(STATE_SHAPE, np.float32)

    def __call__(self, samples: np.ndarray) -> float:
        x, n, c = self._x, samples.shape[0], self.context
        x[0, c:c + n] = samples
        if n < self.window:
            x[0, c + n:] = 0.0
        out, self._feeds["state"] = self.session.run(None, self._feeds)
        x[0, :c] = x[0, -c:]  # this window's tail is the next window's context
        return float(out[0, 0])


class SileroVadCalculator(Calculator):
    """Speech probability (0..1) of each 16 kHz (or 8 kHz) mono audio frame.

    Frames hold 512 samples at 16 kHz (256 at 8 kHz), or a multiple of that (taken a window
    at a time, one PROBABILITY per window at its own first sample's timestamp), as
    AudioDecoderCalculator makes with `sample_rate: 16000 channels: 1 frame_size: 512`
    (or 4096); a shorter frame (a file's
    last) is zero-padded. Any other rate, channel count or a longer frame raises an
    error naming the node and the decoder options that fix it: the calculator does not
    resample, so what the model sees is what the graph says.

    The model is recurrent. Its state (and the 64-sample context window Silero v5
    prepends) is carried inside this calculator rather than on a back edge: it is
    simpler, needs no loopback wiring in every config, and a new run (a new instance)
    starts from a fresh state while the ONNX session itself is cached and shared.

    Inputs:  AUDIO (AudioFrame, 512 samples x 1 channel @ 16 kHz)
    Outputs: PROBABILITY (float) at the frame's timestamp
    Options: model_path (default "silero_vad.onnx", from the model cache)

    Example config:
        node { calculator: "SileroVadCalculator"
               input_stream: "AUDIO:audio_16k" output_stream: "PROBABILITY:speech_prob" }
    """

    Options = SileroVadCalculatorOptions
    audio = Input(AudioFrame)
    probability = Output(float)

    def open(self, cc: CalculatorContext) -> None:
        self.node = cc.node_name
        self.vad = SileroVad(self.options.model_path, 16000)  # load now: errors surface early
        self.started = False

    def process(self, cc: CalculatorContext) -> None:
        frame: AudioFrame = cc.get(self.audio)
        vad = self.vad
        if frame.sample_rate != vad.rate:
            if self.started or frame.sample_rate not in WINDOW:
                raise ValueError(self._mismatch(frame, vad.rate))
            vad = self.vad = SileroVad(self.options.model_path, int(frame.sample_rate))
        self.started = True
        window = vad.window
        if frame.num_channels != 1:
            raise ValueError(self._mismatch(frame, vad.rate))
        if frame.num_samples <= window:
            cc.send(self.probability, vad(frame.data[:, 0]))
            return
        # A longer frame is taken a window at a time (fewer scheduler hops per window);
        # each probability carries its own window's first-sample timestamp, exactly. A
        # remainder shorter than a window is padded, like a stream's short last frame.
        samples = frame.data[:, 0]
        first = -(-int(cc.input_timestamp) * vad.rate // 1_000_000)  # the frame's sample index
        for start in range(0, len(samples), window):
            cc.send(self.probability, vad(samples[start:start + window]),
                    timestamp=(first + start) * 1_000_000 // vad.rate)

    def _mismatch(self, frame: AudioFrame, rate: float) -> str:
        window = WINDOW.get(int(rate), 512)
        return (f"node '{self.node}': Silero VAD needs mono frames of {window} samples at "
                f"{rate:g} Hz (or 256 at 8000 Hz), got {frame.num_samples} samples x "
                f"{frame.num_channels} ch @ {frame.sample_rate:g} Hz; decode with "
                f"AudioDecoderCalculator options sample_rate: 16000 channels: 1 "
                f"frame_size: 512")
