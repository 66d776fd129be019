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
# The pointing hand in `photo("zidane")` (1280x720): the crop that `hand_frame_fn`
# moves around, as (top, left, bottom, right) pixels of the photo, and the hand's box
# inside that crop as (x0, y0, x1, y1) pixels, wrist to fingertip with a small margin.
HAND_CROP = (300, 880, 600, 1240)
HAND_BOX = (95, 100, 280, 195)


def photo(name: str = "astronaut") -> np.ndarray:
    """A real photograph as an HxWx3 RGB array.

    `astronaut` (512x512): a portrait, face fully visible (scikit-image's
    `data.astronaut()`). `zidane` (1280x720): two men, one pointing, the hand with its fingers
    in full view (ultralytics' `assets/zidane.jpg`); `HAND_CROP` is the part around it.
    `bus` (810x1080): people standing in front of a bus, whole bodies in view
    (ultralytics' `assets/bus.jpg`).

    The file ships inside a package's wheel on PyPI; it is taken out with `pip download
    --no-deps` once, cached next to the models, and the package is never installed.
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
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
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


def main(argv: list[str] | None = None) -> int:
    """`python -m mediagraph.testing.samples OUT.mp4 [--frames N] [--size WxH] [--face | --hand]
    [--force]`."""
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
    args = parser.parse_args(argv)
    out = Path(args.output)
    if out.exists() and not args.force:
        print(f"{out} exists; keeping it")
        return 0
    width, height = (int(v) for v in args.size.lower().split("x"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.hand:
        make_hand_video(out, frames=args.frames, width=width, height=height, fps=args.fps)
    elif args.face:
        make_face_video(out, frames=args.frames, width=width, height=height, fps=args.fps)
    else:
        make_video(out, frames=args.frames, width=width, height=height, fps=args.fps, audio=True)
    print(f"wrote {out}: {args.frames} frames {width}x{height} at {args.fps} fps with a tone track")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
