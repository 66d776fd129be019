"""ImageFileSinkCalculator: each image written to its own file (PNG, JPEG, ...)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph import (Calculator, CalculatorContext, Input, Options,
                        Output, SideInput)
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.optional import require


class ImageFileSinkCalculatorOptions(Options):
    pattern: str = "frame_{index:05d}.png"
    output_dir: str = ""
    jpeg_quality: int = 95

    def check(self) -> None:
        try:
            self.pattern.format(index=0, timestamp=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"bad file name pattern {self.pattern!r}: {exc!r}; use "
                             f"{{index}} and {{timestamp}}") from None
        if not 0 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 0..100, got {self.jpeg_quality}")


class ImageFileSinkCalculator(Calculator):
    """Write every IMAGE to a file named by `pattern`; the suffix picks the format.

    `pattern` is a `str.format` template with `{index}` (0, 1, ... in arrival order)
    and `{timestamp}` (µs), relative to OUTPUT_DIR (or the `output_dir` option, else
    the working folder). A missing or unwritable folder, or a suffix OpenCV cannot
    write, fails in `open()` naming the path. Each written path goes out on FILE_PATH.

    Inputs:  IMAGE (ImageFrame: SRGB, SRGBA, GRAY8, GRAY16 or SRGB48)
    Outputs: FILE_PATH (str, optional)
    Side inputs: OUTPUT_DIR (str, optional)
    Options: pattern ("frame_{index:05d}.png"), output_dir, jpeg_quality (95)

    Example config:
        node { calculator: "ImageFileSinkCalculator" input_stream: "IMAGE:annotated"
               input_side_packet: "OUTPUT_DIR:out_dir" }
    """

    Options = ImageFileSinkCalculatorOptions
    image = Input(ImageFrame, tag="IMAGE")
    file_path = Output(str, tag="FILE_PATH", optional=True)
    output_dir = SideInput(str, tag="OUTPUT_DIR", optional=True)

    def open(self, cc: CalculatorContext) -> None:
        self._cv2 = cv2 = require("cv2", purpose="ImageFileSinkCalculator")
        folder = cc.side(self.output_dir) or self.options.output_dir or "."
        self._folder = Path(os.fspath(folder))
        first = self._path(0, 0)
        target = first.parent
        if not target.exists():
            raise FileNotFoundError(f"output folder does not exist: '{target}'")
        if not target.is_dir():
            raise NotADirectoryError(f"output folder is not a folder: '{target}'")
        try:
            with tempfile.TemporaryFile(dir=target):
                pass
        except OSError as exc:
            raise PermissionError(f"cannot write images to '{target}': {exc.strerror}") from exc
        if not cv2.haveImageWriter(str(first)):
            raise ValueError(f"cannot write images as '{first.suffix}' (from pattern "
                             f"{self.options.pattern!r}); use .png or .jpg")
        self._index = 0

    def process(self, cc: CalculatorContext) -> None:
        image = cc.get(self.image)
        if image is None:
            return
        path = self._path(self._index, int(cc.input_timestamp))
        pixels = _to_bgr(self._cv2, image)
        params = []
        if path.suffix.lower() in (".jpg", ".jpeg"):
            params = [self._cv2.IMWRITE_JPEG_QUALITY, self.options.jpeg_quality]
        if not self._cv2.imwrite(str(path), pixels, params):
            raise OSError(f"cannot write image '{path}'")
        self._index += 1
        cc.send(self.file_path, str(path))

    def _path(self, index: int, timestamp: int) -> Path:
        return self._folder / self.options.pattern.format(index=index, timestamp=timestamp)


def _to_bgr(cv2: Any, image: ImageFrame) -> np.ndarray:
    data = image.to_ndarray()
    fmt = image.format
    if fmt in (ImageFormat.SRGB, ImageFormat.SRGB48):
        return cv2.cvtColor(data, cv2.COLOR_RGB2BGR)
    if fmt in (ImageFormat.SRGBA, ImageFormat.SRGBA64):
        return cv2.cvtColor(data, cv2.COLOR_RGBA2BGRA)
    if fmt == ImageFormat.SBGRA:
        return data
    if fmt in (ImageFormat.GRAY8, ImageFormat.GRAY16):
        return data[:, :, 0]
    raise ValueError(f"cannot write {fmt.name} images to files; convert to SRGB first")
