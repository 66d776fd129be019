"""CameraSourceCalculator: frames from a camera (OpenCV VideoCapture)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from mediagraph.calculators.io._devices import DeviceUnavailableError, parse_device
from mediagraph.formats import VideoHeader
from mediagraph import Calculator, CalculatorContext, Options, Output, SideInput, Stop, Timestamp
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.optional import require


class CameraSourceCalculatorOptions(Options):
    index: int = 0          # camera index, used unless `device` or the CAMERA side packet is set
    device: str = ""        # a device path (/dev/video2) or a stream URL
    width: int = 0          # requested capture size; 0: the device's default
    height: int = 0
    fps: float = 0.0        # requested frame rate; 0: the device's default
    max_frames: int = 0     # stop after this many frames; 0: run until stopped

    def check(self) -> None:
        if self.max_frames < 0 or self.width < 0 or self.height < 0 or self.fps < 0:
            raise ValueError("max_frames, width, height and fps must not be negative")


class CameraSourceCalculator(Calculator):
    """Capture frames from a camera as SRGB ImageFrames.

    Each frame is timestamped in µs from the monotonic clock right after it is
    captured, bumped by 1 µs where needed so timestamps strictly increase. The run
    ends when `max_frames` frames were sent, when the graph is stopped (e.g. by a
    DisplayCalculator's `q` key), or when the camera stops delivering frames after
    having delivered some; a camera that opens but never delivers a frame is an error.

    The device is opened by `capture_factory(source)` (default `cv2.VideoCapture`),
    a class attribute tests replace with a fake that has `isOpened`, `read`, `get`,
    `set` and `release`; `clock` (default `time.monotonic_ns`) likewise.

    Inputs:  none (a source)
    Outputs: VIDEO (ImageFrame SRGB)
             VIDEO_PRESTREAM (VideoHeader from video_decoder, optional) one packet at
             PRE_STREAM: the size and frame rate the device reports when it opens
    Side inputs: CAMERA (int index or str device path, optional) overrides the options
    Options: index, device, width, height, fps, max_frames

    Example config:
        node { calculator: "CameraSourceCalculator" output_stream: "VIDEO:frames"
               node_options { [type.googleapis.com/mediagraph.CameraSourceCalculatorOptions] {
                 index: 0 width: 640 height: 480 } } }
    """

    Options = CameraSourceCalculatorOptions
    capture_factory: ClassVar[Callable[[Any], Any] | None] = None
    clock: ClassVar[Callable[[], int]] = time.monotonic_ns

    camera = SideInput(Any, optional=True)
    video = Output(ImageFrame)
    video_prestream = Output(VideoHeader, optional=True)

    def open(self, cc: CalculatorContext) -> None:
        opts = self.options
        source = parse_device(cc.side(self.camera, None))
        if source is None:
            source = parse_device(opts.device) if opts.device else opts.index
        self.what = f"index {source}" if isinstance(source, int) else f"'{source}'"
        cv2 = self.cv2 = require("cv2", purpose="CameraSourceCalculator")
        factory = type(self).capture_factory or cv2.VideoCapture
        self.capture = capture = factory(source)
        if not capture.isOpened():
            capture.release()
            raise DeviceUnavailableError(
                f"no camera at {self.what}: OpenCV could not open it (not connected, a wrong "
                "index or path, no permission, or in use by another program)")
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, opts.width),
                            (cv2.CAP_PROP_FRAME_HEIGHT, opts.height),
                            (cv2.CAP_PROP_FPS, opts.fps)):
            if value:
                capture.set(prop, value)
        self.clock = type(self).clock
        self.sent = 0
        self.last = -1
        if cc.connected(self.video_prestream):
            # what the device reports on opening; a live camera has no duration or count
            header = VideoHeader(width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                 height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                                 frame_rate=float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
                                 duration=0.0, frame_count=0, codec="")
            cc.send(self.video_prestream, header, timestamp=Timestamp.PRE_STREAM)

    def process(self, cc: CalculatorContext) -> Any:
        if self.options.max_frames and self.sent >= self.options.max_frames:
            return Stop
        ok, frame = self.capture.read()
        now = self.clock() // 1000
        if not ok or frame is None:
            if self.sent == 0:
                raise DeviceUnavailableError(f"camera at {self.what} opened but delivered no "
                                             "frame")
            return Stop  # unplugged, or the end of a stream URL
        cv2 = self.cv2
        if frame.ndim == 2 or frame.shape[2] == 1:
            rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        elif frame.shape[2] == 4:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
        else:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        self.last = max(now, self.last + 1)
        cc.send(self.video, ImageFrame(rgb, ImageFormat.SRGB), timestamp=self.last)
        self.sent += 1
        return None

    def close(self, cc: CalculatorContext) -> None:
        self.capture.release()
