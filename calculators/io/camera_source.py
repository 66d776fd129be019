"""CameraSourceCalculator: frames from a camera (OpenCV VideoCapture), or a video file
played in real time as if it were one."""

from __future__ import annotations

import math
import os
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
    fps: float = 0.0        # requested frame rate; 0: the device's default. A real-time
                            # file plays at this rate (0: the file's own)
    max_frames: int = 0     # stop after this many frames; 0: run until stopped. A real-time
                            # file counts the frames it skipped, so it runs max_frames / fps s
    realtime: bool = False  # a video file (device or CAMERA naming a regular file) plays like
                            # a camera: frames come at its frame rate in wall-clock time,
                            # whether or not the graph keeps up. Cameras and stream URLs are
                            # real time already; the option changes nothing for them
    loop: bool = False      # a real-time file starts over at its end instead of ending the run

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

    With `realtime: true`, a video file (the device or CAMERA side packet naming a
    regular file) stands in for a camera, so live graphs run on machines without one:
    frame i of the file is captured at start + i / fps on the monotonic clock and
    stamped with that time. The calculator waits for each frame's time; when the graph
    held it back (a full queue downstream) past later frames' times, those frames are
    skipped, as a camera driver overwrites the frames nobody read, and counted in
    `dropped` (the node's profile row). A slow graph therefore means dropped frames,
    never a growing lag. The file ends the run at its end, unless `loop` starts it over.
    Its waits last at most one frame period. Without `realtime`, a file is read as fast
    as the graph takes frames, each stamped when read.

    Run it on an executor of its own (`executor: "camera"`): waiting for the next frame,
    from a camera or a real-time file, holds its thread.

    The device is opened by `capture_factory(source)` (default `cv2.VideoCapture`),
    a class attribute tests replace with a fake that has `isOpened`, `read`, `grab`,
    `get`, `set` and `release`; `clock` (default `time.monotonic_ns`) and `sleep`
    (default `time.sleep`, seconds) likewise.

    Inputs:  none (a source)
    Outputs: VIDEO (ImageFrame SRGB)
             VIDEO_PRESTREAM (VideoHeader from video_decoder, optional) one packet at
             PRE_STREAM: the size and frame rate the device reports when it opens (a
             real-time file: the rate it plays at)
    Side inputs: CAMERA (int index or str device path, URL or video file, optional)
             overrides the options
    Options: index, device, width, height, fps, max_frames, realtime, loop

    Example config:
        executor { name: "camera" options { [mediapipe.ThreadPoolExecutorOptions.ext] {
                   num_threads: 1 } } }
        node { calculator: "CameraSourceCalculator" executor: "camera"
               input_side_packet: "CAMERA:input_camera" output_stream: "VIDEO:frames"
               node_options { [type.googleapis.com/mediagraph.CameraSourceCalculatorOptions] {
                 realtime: true } } }
    """

    Options = CameraSourceCalculatorOptions
    capture_factory: ClassVar[Callable[[Any], Any] | None] = None
    clock: ClassVar[Callable[[], int]] = time.monotonic_ns
    sleep: ClassVar[Callable[[float], None]] = time.sleep

    camera = SideInput(Any, optional=True)
    video = Output(ImageFrame)
    video_prestream = Output(VideoHeader, optional=True)

    def open(self, cc: CalculatorContext) -> None:
        opts = self.options
        source = parse_device(cc.side(self.camera, None))
        if source is None:
            source = parse_device(opts.device) if opts.device else opts.index
        is_file = isinstance(source, str) and os.path.isfile(source)
        self.what = (f"index {source}" if isinstance(source, int)
                     else f"video file '{source}'" if is_file else f"'{source}'")
        cv2 = self.cv2 = require("cv2", purpose="CameraSourceCalculator")
        factory = type(self).capture_factory or cv2.VideoCapture
        self.capture = capture = factory(source)
        if not capture.isOpened():
            capture.release()
            if is_file:
                raise DeviceUnavailableError(
                    f"cannot read {self.what}: OpenCV could not open it (not a video, or "
                    "a codec its FFmpeg lacks)")
            missing = (" (no file or device has that name)"
                       if isinstance(source, str) and "://" not in source
                       and not os.path.exists(source) else "")
            raise DeviceUnavailableError(
                f"no camera at {self.what}{missing}: OpenCV could not open it (not connected, "
                "a wrong index or path, no permission, or in use by another program)")
        self.realtime = bool(opts.realtime and is_file)
        if not self.realtime:
            for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, opts.width),
                                (cv2.CAP_PROP_FRAME_HEIGHT, opts.height),
                                (cv2.CAP_PROP_FPS, opts.fps)):
                if value:
                    capture.set(prop, value)
        rate = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        if self.realtime:
            rate = opts.fps or rate
            if not (math.isfinite(rate) and rate > 0):
                capture.release()
                raise DeviceUnavailableError(
                    f"{self.what} reports no frame rate, so it cannot play in real time; "
                    "set fps in the CameraSourceCalculator options")
            self.period_ns = 1e9 / rate
        self.clock = type(self).clock
        self.sleep = type(self).sleep
        self.start_ns: int | None = None  # a real-time file's clock starts at its first frame
        self.index = 0  # frames captured: read from the device, or due on the file's timeline
        self.sent = 0
        self.last = -1
        self.dropped = 0
        if cc.connected(self.video_prestream):
            # what the device reports on opening; a live camera has no duration or count
            header = VideoHeader(width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                 height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                                 frame_rate=rate, duration=0.0, frame_count=0, codec="")
            cc.send(self.video_prestream, header, timestamp=Timestamp.PRE_STREAM)

    def process(self, cc: CalculatorContext) -> Any:
        if self.realtime:
            return self._play(cc)
        if self.options.max_frames and self.index >= self.options.max_frames:
            return Stop
        ok, frame = self.capture.read()
        now = self.clock() // 1000
        if not ok or frame is None:
            if self.sent == 0:
                raise DeviceUnavailableError(f"camera at {self.what} opened but delivered no "
                                             "frame")
            return Stop  # unplugged, or the end of a stream URL or file
        self.index += 1
        self._send(cc, frame, now)
        return None

    def _play(self, cc: CalculatorContext) -> Any:
        """The next frame of a real-time file, at its time on the file's timeline."""
        limit = self.options.max_frames
        if self.start_ns is None:
            self.start_ns = self.clock()
        # Frames whose time passed while the graph held this source back are gone; two
        # rounds at most, as decoding the skipped frames takes time too.
        for _ in range(2):
            due = int((self.clock() - self.start_ns) // self.period_ns)  # newest captured
            skip = min(due, limit or due) - self.index
            if skip <= 0:
                break
            for _ in range(skip):
                if not self._grab():
                    return self._ended()
                self.index += 1
                self.dropped += 1
        if limit and self.index >= limit:
            return Stop
        ok, frame = self._read()
        if not ok:
            return self._ended()
        captured = self.start_ns + round(self.index * self.period_ns)
        wait = captured - self.clock()
        if wait > 0:
            self.sleep(wait / 1e9)
        self.index += 1
        self._send(cc, frame, captured // 1000)
        return None

    def _read(self) -> tuple[bool, Any]:
        ok, frame = self.capture.read()
        if (not ok or frame is None) and self.options.loop and self.index > 0:
            self.capture.set(self.cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.capture.read()
        return bool(ok and frame is not None), frame

    def _grab(self) -> bool:
        if self.capture.grab():
            return True
        if self.options.loop and self.index > 0:
            self.capture.set(self.cv2.CAP_PROP_POS_FRAMES, 0)
            return bool(self.capture.grab())
        return False

    def _ended(self) -> Any:
        if self.sent == 0:
            raise DeviceUnavailableError(f"{self.what} opened but delivered no frame")
        return Stop

    def _send(self, cc: CalculatorContext, frame: Any, captured_us: int) -> None:
        cv2 = self.cv2
        if frame.ndim == 2 or frame.shape[2] == 1:
            rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        elif frame.shape[2] == 4:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
        else:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        self.last = max(captured_us, self.last + 1)
        cc.send(self.video, ImageFrame(rgb, ImageFormat.SRGB), timestamp=self.last)
        self.sent += 1

    def close(self, cc: CalculatorContext) -> None:
        self.capture.release()
