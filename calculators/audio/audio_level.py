"""AudioLevelCalculator: RMS and peak level (linear and dBFS) of each audio frame."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mediagraph.calculators.audio._timeseries import expect_audio
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, option
from mediagraph.formats import AudioFrame


@dataclass(frozen=True)
class AudioLevel:
    """The level of one audio frame over all its channels; full scale is 1.0 (0 dBFS)."""

    rms: float
    peak: float
    rms_dbfs: float
    peak_dbfs: float
    num_samples: int = 0


def to_dbfs(value: float, floor: float) -> float:
    """20 log10(value), never below `floor` (silence reads `floor`, not -inf)."""
    return max(floor, 20.0 * math.log10(value)) if value > 0 else floor


class AudioLevelCalculatorOptions(Options):
    min_dbfs: float = option(1, default=-120.0, doc="the dBFS reported for silence")


class AudioLevelCalculator(Calculator):
    """Measure each AudioFrame: RMS and peak over all samples and channels, and in dBFS.

    One AudioLevel per input frame, at the frame's timestamp. dBFS is 20 log10 of the
    linear value (a full-scale sine reads -3 dB RMS, 0 dB peak), floored at min_dbfs.

    Inputs:  AUDIO (AudioFrame)
    Outputs: LEVEL (AudioLevel: rms, peak, rms_dbfs, peak_dbfs, num_samples)
    Options: min_dbfs (default -120)

    Example config:
        node { calculator: "AudioLevelCalculator" input_stream: "AUDIO:audio"
               output_stream: "LEVEL:audio_level" }
    """

    Options = AudioLevelCalculatorOptions

    audio = Input(AudioFrame, tag="AUDIO")
    level = Output(AudioLevel, tag="LEVEL")

    def process(self, cc: CalculatorContext) -> None:
        frame = expect_audio(cc, cc.get(self.audio), "AUDIO", None, None, None)
        data = frame.to_ndarray()
        if data.size == 0:
            rms = peak = 0.0
        else:
            flat = data.astype(np.float64, copy=False)
            rms = float(np.sqrt(np.mean(flat * flat)))
            peak = float(np.max(np.abs(flat)))
        floor = self.options.min_dbfs
        cc.send(self.level, AudioLevel(rms, peak, to_dbfs(rms, floor), to_dbfs(peak, floor),
                                       frame.num_samples))
