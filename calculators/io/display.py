"""DisplayCalculator: show frames in a window; `q` or Esc ends the run."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mediagraph.calculators.io._devices import OpenCvWindow
from mediagraph import Calculator, CalculatorContext, Input, Options, Output, one_of
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.optional import require

_QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})  # 27: Esc


class FrameRate:
    """Frames per second from frame arrival times, smoothed (exponential moving average)."""

    def __init__(self, smoothing: float = 0.9) -> None:
        self.smoothing = smoothing
        self.last_ns: int | None = None
        self.interval_ns: float | None = None

    def tick(self, now_ns: int) -> float:
        """Record a frame at `now_ns`; return the current rate (0.0 until two frames)."""
        if self.last_ns is not None:
            interval = max(now_ns - self.last_ns, 1)
            self.interval_ns = (interval if self.interval_ns is None else
                                self.smoothing * self.interval_ns
                                + (1 - self.smoothing) * interval)
        self.last_ns = now_ns
        return 1e9 / self.interval_ns if self.interval_ns else 0.0


@dataclass(frozen=True)
class ShownFrame:
    """One frame a MemoryWindow was shown: the packet's timestamp (µs; a camera's is its
    capture time on the monotonic clock) and when it was shown (monotonic µs)."""

    timestamp: int
    shown_us: int

    @property
    def latency_us(self) -> int:
        """Capture to screen, for frames stamped by CameraSourceCalculator."""
        return self.shown_us - self.timestamp


class MemoryWindow:
    """A window backend that keeps what it is shown in memory instead of drawing it.

    For tests and headless runs of live graphs: `DisplayCalculator.window_backend =
    MemoryWindow()` (an instance is its own factory, so every run of the graph shows into
    it). `shown` lists every frame's timestamp and display time; `images` holds the BGR
    pixels of the last `keep_images` frames as (timestamp, bgr). No key is ever pressed
    and the window never closes: the run ends when its source does.
    Thread-safe: the graph shows frames from a worker while the caller reads.
    """

    def __init__(self, keep_images: int = 16,
                 clock: Callable[[], int] = time.monotonic_ns) -> None:
        if keep_images < 0:
            raise ValueError(f"keep_images must not be negative, got {keep_images}")
        self.clock = clock
        self.titles: list[str] = []
        self.shown: list[ShownFrame] = []
        self.images: deque[tuple[int, np.ndarray]] = deque(maxlen=keep_images)
        self._lock = threading.Lock()

    def __call__(self) -> MemoryWindow:
        return self

    def create(self, title: str) -> None:
        with self._lock:
            self.titles.append(title)

    def imshow(self, title: str, bgr: np.ndarray, timestamp: int) -> None:
        shown_us = self.clock() // 1000
        with self._lock:
            self.shown.append(ShownFrame(int(timestamp), shown_us))
            if self.images.maxlen:
                self.images.append((int(timestamp), bgr))

    def wait_key(self, delay_ms: int) -> int:
        return -1

    def is_open(self, title: str) -> bool:
        return True

    def destroy(self, title: str) -> None:
        pass

    def latencies_ms(self) -> np.ndarray:
        """Capture-to-screen latency of every frame shown, in ms."""
        with self._lock:
            return np.array([f.latency_us / 1e3 for f in self.shown], dtype=np.float64)


class DisplayCalculatorOptions(Options):
    title: str = "mediagraph"
    show_fps: bool = True   # draw the current frame rate in the top-left corner
    wait_ms: int = 1        # how long each frame waits for a key (OpenCV's waitKey)


class DisplayCalculator(Calculator):
    """Show each frame in an OpenCV window with its frame rate drawn on it.

    `q`, `Q` or Esc in the window (or closing it) calls `cc.request_stop()`: every
    source closes and the run ends gracefully, with no error. On a machine without a
    display, `open()` raises DeviceUnavailableError instead of letting OpenCV abort the
    process. OpenCV's GUI is not thread-safe: run at most one DisplayCalculator per
    graph. On macOS, Cocoa windows only work from the main thread, which a graph's
    workers are not: show frames from an output stream poller there instead.

    The window comes from `window_backend()` (default: OpenCV highgui), a class attribute
    tests replace; it has `create(title)`, `imshow(title, bgr)`, `wait_key(ms)`,
    `is_open(title)` and `destroy(title)`; `imshow(title, bgr, timestamp)` also gets the
    packet's timestamp. `MemoryWindow` is one that keeps the frames and their display
    times in memory, for tests and headless runs. `clock` (default `time.monotonic_ns`)
    times the frame rate.

    Inputs:  VIDEO or IMAGE (ImageFrame; SRGB, SRGBA, GRAY8, GRAY16, VEC32F1 in [0, 1])
    Outputs: DONE (bool, optional) True at each frame's timestamp once it is on screen
             (False for frames skipped after a quit key): feed it to a FlowLimiter's
             FINISHED back edge so frames are dropped upstream when the window lags
    Options: title, show_fps, wait_ms

    Example config:
        node { calculator: "DisplayCalculator" input_stream: "VIDEO:annotated"
               output_stream: "DONE:shown"
               node_options { [type.googleapis.com/mediagraph.DisplayCalculatorOptions] {
                 title: "Face detection" } } }
    """

    Options = DisplayCalculatorOptions
    window_backend: ClassVar[Callable[[], Any] | None] = None
    clock: ClassVar[Callable[[], int]] = time.monotonic_ns

    video = Input(ImageFrame, optional=True)
    image = Input(ImageFrame, optional=True)
    done = Output(bool, optional=True)
    groups = (one_of(video, image, message="connect exactly one of VIDEO or IMAGE"),)

    def open(self, cc: CalculatorContext) -> None:
        self.port = self.video if cc.connected(self.video) else self.image
        self.cv2 = require("cv2", purpose="DisplayCalculator")
        factory = type(self).window_backend or (lambda: OpenCvWindow("DisplayCalculator"))
        self.window = factory()
        self.title = self.options.title
        self.window.create(self.title)
        self.clock = type(self).clock
        self.rate = FrameRate()
        self.shown = 0
        self.stopping = False

    def process(self, cc: CalculatorContext) -> None:
        frame: ImageFrame | None = cc.get(self.port)
        if frame is None:
            return
        if self.stopping:
            cc.send(self.done, False)
            return
        bgr = self._to_bgr(frame)
        fps = self.rate.tick(self.clock())
        if self.options.show_fps:
            scale = max(frame.height / 720, 0.4)
            origin = (int(10 * scale) + 2, int(30 * scale) + 2)
            text = f"{fps:.1f} fps"
            self.cv2.putText(bgr, text, origin, self.cv2.FONT_HERSHEY_SIMPLEX, scale,
                             (0, 0, 0), max(int(4 * scale), 2), self.cv2.LINE_AA)
            self.cv2.putText(bgr, text, origin, self.cv2.FONT_HERSHEY_SIMPLEX, scale,
                             (255, 255, 255), max(int(2 * scale), 1), self.cv2.LINE_AA)
        self.window.imshow(self.title, bgr, int(cc.input_timestamp))
        self.shown += 1
        cc.send(self.done, True)
        key = self.window.wait_key(self.options.wait_ms)
        if (key is not None and key >= 0 and (key & 0xFF) in _QUIT_KEYS) or \
                not self.window.is_open(self.title):
            self.stopping = True
            cc.request_stop()

    def _to_bgr(self, frame: ImageFrame) -> np.ndarray:
        """A fresh, writable BGR uint8 copy of the frame (drawing must not touch the packet)."""
        cv2, data, fmt = self.cv2, frame.to_ndarray(), frame.format
        if fmt == ImageFormat.SRGB:
            return cv2.cvtColor(data, cv2.COLOR_RGB2BGR)
        if fmt == ImageFormat.SRGBA:
            return cv2.cvtColor(data, cv2.COLOR_RGBA2BGR)
        if fmt == ImageFormat.SBGRA:
            return cv2.cvtColor(data, cv2.COLOR_BGRA2BGR)
        if fmt == ImageFormat.GRAY8:
            return cv2.cvtColor(data, cv2.COLOR_GRAY2BGR)
        if fmt == ImageFormat.GRAY16:
            return cv2.cvtColor((data >> 8).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        if fmt == ImageFormat.VEC32F1:
            gray = (np.clip(data, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
            return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        raise ValueError(f"DisplayCalculator cannot show {fmt.name} images; convert them to "
                         "SRGB first")

    def close(self, cc: CalculatorContext) -> None:
        self.window.destroy(self.title)
