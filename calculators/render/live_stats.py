"""LiveStatsCalculator: a live graph's frame rate, latency and dropped frames, on the frame."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mediagraph import Calculator, CalculatorContext, Input, Options, Output
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.optional import require

_DRAWABLE = (ImageFormat.SRGB, ImageFormat.SRGBA, ImageFormat.SBGRA)


@dataclass(frozen=True)
class LiveStats:
    """The figures drawn on one frame.

    fps: frames through this node per second, over the last `window_seconds` (at least
    the last two frames);
    latency_ms: this frame's age when it got here (now - its capture timestamp);
    frames: frames through so far; dropped: frames the FlowLimiter let go so far.
    """

    fps: float
    latency_ms: float
    frames: int
    dropped: int


class LiveStatsCalculatorOptions(Options):
    window_seconds: float = 1.0  # the frame rate counts the frames of this sliding window
                                 # (and always the last two)
    draw: bool = True            # draw the figures on the frame; false: only send STATS

    def check(self) -> None:
        if not self.window_seconds > 0:
            raise ValueError(f"window_seconds must be positive, got {self.window_seconds}")


class LiveStatsCalculator(Calculator):
    """Draw frame rate, latency and dropped frames on each frame of a live graph.

    Put it last before the DisplayCalculator: latency is the time from a frame's capture
    (its timestamp, monotonic µs as CameraSourceCalculator stamps it) to the moment this
    node draws it, so it covers the whole graph but the window itself. The frame rate
    counts the frames through here in the last `window_seconds` (at least the last two).
    Drops come from the FlowLimiter's ALLOW stream (false for each frame it let go):
    connect it to show them; frames a camera skipped itself are not among them (they
    show in its profile row).
    The figures are drawn on a copy; the input frame is not touched.

    Inputs are taken as they arrive (ImmediateInputStreamHandler): a drop is counted
    when the FlowLimiter decides it, and a frame never waits for the ALLOW stream.

    `clock` (default `time.monotonic_ns`, the camera's clock) is a class attribute tests
    replace.

    Inputs:  IMAGE (ImageFrame SRGB, SRGBA or SBGRA); ALLOW (bool, optional): the
             FlowLimiter's ALLOW output
    Outputs: IMAGE (ImageFrame, same format, figures drawn); STATS (LiveStats, optional)
    Options: window_seconds (1.0), draw (true)

    Example config:
        node { calculator: "LiveStatsCalculator"
               input_stream: "IMAGE:rendered" input_stream: "ALLOW:allowed"
               output_stream: "IMAGE:output_video" output_stream: "STATS:live_stats" }
    """

    Options = LiveStatsCalculatorOptions
    input_stream_handler = "ImmediateInputStreamHandler"
    timestamp_offset = None  # an ALLOW packet may be ahead of the frame still being drawn
    clock: ClassVar[Callable[[], int]] = time.monotonic_ns

    image = Input(ImageFrame, formats=_DRAWABLE)
    allow = Input(bool, optional=True)
    out = Output(ImageFrame, tag="IMAGE")
    stats = Output(LiveStats, optional=True)

    def open(self, cc: CalculatorContext) -> None:
        self.cv2 = require("cv2", purpose="LiveStatsCalculator")
        self.clock = type(self).clock
        self.window_ns = round(self.options.window_seconds * 1e9)
        self.times: deque[int] = deque()
        self.frames = 0
        self.dropped_upstream = 0

    def process(self, cc: CalculatorContext) -> None:
        if cc.get(self.allow) is False:
            self.dropped_upstream += 1
        frame: ImageFrame | None = cc.get(self.image)
        if frame is None:
            return
        now = self.clock()
        self.times.append(now)
        # the last two frames stay, so a rate below one frame per window still shows
        while len(self.times) > 2 and now - self.times[0] > self.window_ns:
            self.times.popleft()
        span = self.times[-1] - self.times[0]
        fps = (len(self.times) - 1) * 1e9 / span if span > 0 else 0.0
        self.frames += 1
        stats = LiveStats(fps=fps, latency_ms=(now / 1e3 - int(cc.input_timestamp)) / 1e3,
                          frames=self.frames, dropped=self.dropped_upstream)
        if self.options.draw:
            frame = ImageFrame(self._draw(frame.to_ndarray(), stats), frame.format)
        cc.send(self.out, frame)
        cc.send(self.stats, stats)

    def _draw(self, data: np.ndarray, stats: LiveStats) -> np.ndarray:
        cv2 = self.cv2
        canvas = np.array(data, copy=True)
        height = canvas.shape[0]
        scale = max(height / 720, 0.4)
        lines = (f"{stats.fps:.1f} fps", f"latency {stats.latency_ms:.0f} ms",
                 f"dropped {stats.dropped}")
        # white on a black outline reads on any background, in RGB and BGR alike
        black = (0, 0, 0, 255)[:canvas.shape[2]]
        white = (255, 255, 255, 255)[:canvas.shape[2]]
        for row, text in enumerate(lines):
            origin = (int(10 * scale) + 2, int((30 + 34 * row) * scale) + 2)
            cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, black,
                        max(int(4 * scale), 2), cv2.LINE_AA)
            cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, white,
                        max(int(2 * scale), 1), cv2.LINE_AA)
        return canvas
