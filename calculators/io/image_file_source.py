"""ImageFileSourceCalculator: images from a file, a glob or a folder, one per timestamp."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from mediagraph import (Calculator, CalculatorContext, Options, Output,
                        SideInput, Stop)
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.optional import require

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm",
                            ".pgm", ".pbm"})


class ImageFileSourceCalculatorOptions(Options):
    frame_interval_us: int = 33_333
    first_timestamp: int = 0

    def check(self) -> None:
        if self.frame_interval_us <= 0:
            raise ValueError(f"frame_interval_us must be positive, not {self.frame_interval_us}")


class ImageFileSourceCalculator(Calculator):
    """Read images in sorted path order and send them `frame_interval_us` apart.

    FILE_PATTERN is one image file, a glob (`frames/*.png`) or a folder (every file
    with an image suffix in it, not recursive). Images are read with OpenCV and sent
    as SRGB (alpha and 16-bit depth are dropped). A pattern that matches nothing fails
    in `open()`; an image that cannot be read fails in `process()`, naming the file.

    Inputs:  none (a source)
    Outputs: IMAGE (ImageFrame, SRGB)
    Side inputs: FILE_PATTERN (str)
    Options: frame_interval_us (33333), first_timestamp (0)

    Example config:
        node { calculator: "ImageFileSourceCalculator"
               input_side_packet: "FILE_PATTERN:pattern" output_stream: "IMAGE:image" }
    """

    Options = ImageFileSourceCalculatorOptions
    file_pattern = SideInput(str, tag="FILE_PATTERN")
    image = Output(ImageFrame, tag="IMAGE")

    def open(self, cc: CalculatorContext) -> None:
        self._cv2 = require("cv2", purpose="ImageFileSourceCalculator")
        self.paths = find_images(os.fspath(cc.side(self.file_pattern)))
        self._index = 0

    def process(self, cc: CalculatorContext) -> Any:
        if self._index >= len(self.paths):
            return Stop
        path = self.paths[self._index]
        cv2 = self._cv2
        pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if pixels is None:
            raise ValueError(f"cannot read image '{path}': not an image OpenCV can decode")
        rgb = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
        timestamp = self.options.first_timestamp + self._index * self.options.frame_interval_us
        cc.send(self.image, ImageFrame(rgb, ImageFormat.SRGB), timestamp=timestamp)
        self._index += 1
        return None


def find_images(pattern: str) -> list[Path]:
    """The sorted image paths a FILE_PATTERN names (a file, a glob or a folder)."""
    path = Path(pattern)
    if path.is_dir():
        found = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise FileNotFoundError(f"no image files in folder '{pattern}'")
        return found
    if path.is_file():
        return [path]
    if glob.has_magic(pattern):
        found = sorted(Path(p) for p in glob.glob(pattern) if os.path.isfile(p))
        if not found:
            raise FileNotFoundError(f"no files match '{pattern}'")
        return found
    raise FileNotFoundError(f"image file not found: '{pattern}'")
