"""Swappable device backends for the io calculators.

The device calculators (camera, microphone, display, speaker) talk to hardware through
one small object each, found at class level (`CameraSourceCalculator.capture_factory`,
`MicrophoneSourceCalculator.backend`, `SpeakerSinkCalculator.backend`,
`DisplayCalculator.window_backend`). `None` means "the real one" (OpenCV, sounddevice),
built here on first use, so importing `calculators.io` needs no device, no PortAudio and
no display; tests assign fakes instead (httpx's `MockTransport` idea).

Device failures raise `DeviceUnavailableError`: the message names the device and what
to install or connect.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from mediagraph.errors import DeviceUnavailableError
from mediagraph.optional import require

__all__ = ["DeviceUnavailableError"]


def import_sounddevice(purpose: str) -> Any:
    """sounddevice with a loaded PortAudio, or an error saying what to install."""
    try:
        sounddevice = require("sounddevice", purpose=purpose)
    except OSError as exc:  # sounddevice raises OSError when the PortAudio library is missing
        raise DeviceUnavailableError(
            f"{purpose} needs the PortAudio library, which sounddevice could not load ({exc}); "
            "install it with the system package manager (e.g. 'apt install libportaudio2', "
            "'brew install portaudio')") from None
    return sounddevice


def parse_device(device: Any) -> Any:
    """Option text to a sounddevice/OpenCV device: "" -> None, "3" -> 3, else the name."""
    if device is None or isinstance(device, int):
        return device
    text = str(device).strip()
    if not text:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


class SoundDeviceBackend:
    """The real audio backend: sounddevice (PortAudio) streams.

    `input_stream`/`output_stream` take sounddevice's keyword arguments and return an
    object with `start()`, `stop()`, `close()` (and `write(array)` for output).
    """

    def __init__(self, purpose: str) -> None:
        self.sd = import_sounddevice(purpose)

    def input_stream(self, **kwargs: Any) -> Any:
        return self.sd.InputStream(**kwargs)

    def output_stream(self, **kwargs: Any) -> Any:
        return self.sd.OutputStream(**kwargs)


class OpenCvWindow:
    """The real window backend: OpenCV highgui (`imshow`, `waitKey`, `destroyWindow`)."""

    def __init__(self, purpose: str) -> None:
        check_display(purpose)
        self.cv2 = require("cv2", purpose=purpose)

    def create(self, title: str) -> None:
        try:
            self.cv2.namedWindow(title, self.cv2.WINDOW_AUTOSIZE)
        except self.cv2.error as exc:
            raise DeviceUnavailableError(
                f"cannot open a window: OpenCV has no usable GUI backend ({exc}); install "
                "opencv-python (not opencv-python-headless)") from None

    def imshow(self, title: str, bgr: Any, timestamp: int) -> None:
        self.cv2.imshow(title, bgr)

    def wait_key(self, delay_ms: int) -> int:
        return self.cv2.waitKey(delay_ms)

    def is_open(self, title: str) -> bool:
        try:
            return self.cv2.getWindowProperty(title, self.cv2.WND_PROP_VISIBLE) >= 1
        except self.cv2.error:
            return False

    def destroy(self, title: str) -> None:
        try:
            self.cv2.destroyWindow(title)
            self.cv2.waitKey(1)  # let the GUI loop actually remove the window
        except self.cv2.error:
            pass


def check_display(purpose: str) -> None:
    """Raise DeviceUnavailableError on a Linux/BSD machine with no X11 or Wayland display.

    OpenCV's Qt and GTK backends abort the whole process when they cannot reach a
    display, so this has to be checked before the first highgui call.
    """
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        platform = os.environ.get("QT_QPA_PLATFORM", "")
        if platform.startswith(("offscreen", "minimal", "vnc", "eglfs", "linuxfb")):
            return
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            raise DeviceUnavailableError(
                f"{purpose} needs a display, but neither $DISPLAY nor $WAYLAND_DISPLAY is set "
                "(a headless machine or an SSH session without X forwarding?)")


_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def channel_layout(av: Any, channels: int) -> Any:
    """FFmpeg's default `av.AudioLayout` for a channel count."""
    return av.AudioLayout(_LAYOUTS.get(channels, f"{channels}c"))
