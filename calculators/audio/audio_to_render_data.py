"""AudioToRenderDataCalculator: a level meter and a scrolling waveform as RenderData."""

from __future__ import annotations

import numpy as np

from mediagraph.calculators.audio._timeseries import expect_audio
from mediagraph.calculators.audio.audio_level import AudioLevel
from mediagraph.calculators.render._color import ColorOption
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, at_least_one, option
from mediagraph.formats import AudioFrame, RenderAnnotation, RenderData


class AudioToRenderDataCalculatorOptions(Options):
    left: float = option(1, default=0.05, doc="meter/waveform box, normalized to the image")
    top: float = option(2, default=0.85)
    width: float = option(3, default=0.5)
    height: float = option(4, default=0.08)
    min_dbfs: float = option(5, default=-60.0, doc="the meter's empty end")
    background: ColorOption = option(6, default=ColorOption(r=40, g=40, b=40))
    color: ColorOption = option(7, default=ColorOption(r=0, g=220, b=0))
    hot_color: ColorOption = option(8, default=ColorOption(r=230, g=40, b=30),
                                    doc="bar color at or above hot_dbfs")
    hot_dbfs: float = option(9, default=-6.0)
    show_text: bool = option(10, default=True, doc="label the meter with the RMS in dBFS")
    waveform_seconds: float = option(11, default=2.0, doc="history shown by the waveform")
    waveform_columns: int = option(12, default=120, doc="vertical lines in the waveform")

    def check(self) -> None:
        if self.min_dbfs >= 0:
            raise ValueError(f"min_dbfs must be below 0, got {self.min_dbfs}")
        if self.waveform_columns < 1 or self.waveform_seconds <= 0:
            raise ValueError("waveform_columns and waveform_seconds must be positive")


class AudioToRenderDataCalculator(Calculator):
    """Draw audio as RenderData: a level meter (from LEVEL) and/or a waveform (from AUDIO).

    The meter is a background box, a bar filled in proportion to the RMS level between
    min_dbfs and 0 dBFS (hot_color from hot_dbfs up), a tick at the peak level, and the
    RMS in dBFS as text. The waveform scrolls: it shows the last waveform_seconds of the
    channel mix as `waveform_columns` min/max lines, newest on the right, in the same box
    (above the meter when both are connected). Output is at the input timestamp; feed it
    to AnnotationOverlayCalculator with the video (via PacketClonerCalculator, since
    audio and video timestamps differ).

    Inputs:  LEVEL (AudioLevel, optional); AUDIO (AudioFrame, optional); at least one
    Outputs: RENDER_DATA (RenderData)
    Options: left, top, width, height (normalized box), min_dbfs (-60), background, color,
             hot_color, hot_dbfs (-6), show_text, waveform_seconds (2), waveform_columns (120)

    Example config:
        node { calculator: "AudioToRenderDataCalculator"
               input_stream: "LEVEL:level_per_frame" output_stream: "RENDER_DATA:meter" }
    """

    Options = AudioToRenderDataCalculatorOptions

    level = Input(AudioLevel, tag="LEVEL", optional=True)
    audio = Input(AudioFrame, tag="AUDIO", optional=True)
    out = Output(RenderData, tag="RENDER_DATA")
    groups = (at_least_one(level, audio, message="AudioToRenderDataCalculator needs a LEVEL or "
                                                 "an AUDIO input"),)

    def open(self, cc: CalculatorContext) -> None:
        self._history = np.zeros(0, np.float32)

    def process(self, cc: CalculatorContext) -> None:
        opts = self.options
        both = cc.connected(self.level) and cc.connected(self.audio)
        box_h = opts.height / 2 if both else opts.height
        annotations: list[RenderAnnotation] = []
        value = cc.get(self.audio) if cc.connected(self.audio) else None
        if value is not None:
            frame = expect_audio(cc, value, "AUDIO", None, None, None)
            annotations += self._waveform(frame, opts.top, box_h)
        level = cc.get(self.level) if cc.connected(self.level) else None
        if level is not None:
            if not isinstance(level, AudioLevel):
                raise TypeError(f"node '{cc.node_name}' input LEVEL at {cc.input_timestamp}: "
                                f"needs an AudioLevel, got {type(level).__name__}")
            annotations += self._meter(level, opts.top + (box_h if both else 0.0), box_h)
        if annotations:
            cc.send(self.out, RenderData(tuple(annotations)))

    def _fraction(self, dbfs: float) -> float:
        return float(np.clip(1.0 - dbfs / self.options.min_dbfs, 0.0, 1.0))

    def _meter(self, level: AudioLevel, top: float, height: float) -> list[RenderAnnotation]:
        opts = self.options
        left, right, bottom = opts.left, opts.left + opts.width, top + height
        fill = left + opts.width * self._fraction(level.rms_dbfs)
        color = opts.hot_color if level.rms_dbfs >= opts.hot_dbfs else opts.color
        peak = left + opts.width * self._fraction(level.peak_dbfs)
        out = [RenderAnnotation("filled_rectangle", (left, top, right, bottom),
                                opts.background.to_color())]
        if fill > left:
            out.append(RenderAnnotation("filled_rectangle", (left, top, fill, bottom),
                                        color.to_color()))
        out.append(RenderAnnotation("line", (peak, top, peak, bottom),
                                    opts.hot_color.to_color(), thickness=2))
        if opts.show_text:
            out.append(RenderAnnotation("text", (right + 0.01, bottom),
                                        opts.color.to_color(), thickness=1,
                                        text=f"{level.rms_dbfs:.1f} dBFS", font_height=height))
        return out

    def _waveform(self, frame: AudioFrame, top: float, height: float) -> list[RenderAnnotation]:
        opts = self.options
        columns = opts.waveform_columns
        keep = max(columns, round(opts.waveform_seconds * frame.sample_rate))
        mix = frame.to_ndarray().mean(axis=1, dtype=np.float32)
        self._history = np.concatenate([self._history, mix])[-keep:]
        padded = np.zeros(keep, np.float32)
        padded[keep - len(self._history):] = self._history
        per = keep // columns
        blocks = padded[keep - per * columns:].reshape(columns, per)
        lows, highs = np.clip(blocks.min(axis=1), -1, 1), np.clip(blocks.max(axis=1), -1, 1)
        mid = top + height / 2
        xs = opts.left + opts.width * (np.arange(columns) + 0.5) / columns
        y0, y1 = mid - highs * height / 2, mid - lows * height / 2
        color = opts.color.to_color()
        out = [RenderAnnotation("filled_rectangle",
                                (opts.left, top, opts.left + opts.width, top + height),
                                opts.background.to_color())]
        out += [RenderAnnotation("line", (float(x), float(a), float(x), float(b)), color)
                for x, a, b in zip(xs, y0, y1)]
        return out
