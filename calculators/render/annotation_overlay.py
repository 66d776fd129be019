"""AnnotationOverlayCalculator: draw render data and masks onto an image with OpenCV."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mediagraph.calculators._images import expect_image, mask_plane
from mediagraph.calculators.render._color import ColorOption
from mediagraph import (
    Calculator,
    CalculatorContext,
    Input,
    Inputs,
    NodeConfig,
    Options,
    Output,
    option,
)
from mediagraph.colour import rgb_to_yuv
from mediagraph.formats import (
    AnnotationRun,
    Color,
    ImageFormat,
    ImageFrame,
    RenderAnnotation,
    RenderData,
    split_i420,
)

_DRAWABLE = (ImageFormat.SRGB, ImageFormat.SRGBA, ImageFormat.SBGRA, ImageFormat.YCBCR420P)


class AnnotationOverlayCalculatorOptions(
        Options, proto_name="mediapipe.AnnotationOverlayCalculatorOptions", extension=250607623):
    """MediaPipe's `annotation_overlay_calculator.proto`, plus mediagraph's mask fields.

    Fields 2-7 are MediaPipe's (the GPU ones are accepted and ignored); 100 and 101 are
    mediagraph's own, for the MASK input and mask annotations.
    """

    canvas_width_px: int = option(2, default=1920, doc="canvas size without an IMAGE input")
    canvas_height_px: int = option(3, default=1080)
    canvas_color: ColorOption = option(4, default=ColorOption())
    flip_text_vertically: bool = option(5, default=False)
    gpu_uses_top_left_origin: bool = option(6, default=True, doc="ignored (no GPU path)")
    gpu_scale_factor: float = option(7, default=1.0, doc="ignored (no GPU path)")
    mask_color: ColorOption = option(100, default=ColorOption(r=0, g=255, b=0),
                                     doc="tint of the MASK input")
    mask_alpha: float = option(101, default=0.5,
                               doc="opacity of a fully set mask pixel (MASK and mask annotations)")

    def check(self) -> None:
        if not 0.0 <= self.mask_alpha <= 1.0:
            raise ValueError(f"mask_alpha must be in [0, 1], got {self.mask_alpha}")


class AnnotationOverlayCalculator(Calculator):
    """Draw rectangles, ovals, points, lines, text and masks over an image.

    The input frame is copied once and everything is drawn on the copy, in input order
    (MASK first, then each RENDER_DATA stream's annotations). Coordinates are normalized
    to the frame unless an annotation says `normalized=False` (pixels); thickness is in
    pixels. A rectangle with a `rotation` is turned about its centre (in pixels). Points are filled circles of radius `thickness`. Text starts at (left,
    baseline) in FONT_HERSHEY_SIMPLEX, `font_height` high (a fraction of the frame height
    when normalized). A mask (HxW floats in [0, 1], resized to the frame) tints the frame
    towards its color by `mask * mask_alpha`; pixels where the mask is 0 are unchanged.

    A YCBCR420P frame (a decoded video frame) is drawn on a copy of its planes, chroma
    at half size (a mask's weight averaged over each chroma sample's 2x2 pixels), and
    goes out YCBCR420P: no RGB conversion either way.

    Without an IMAGE input the calculator draws on a canvas_width_px x canvas_height_px
    SRGB canvas of canvas_color, once per timestamp with render data.

    Inputs:  IMAGE (ImageFrame: SRGB, SRGBA, SBGRA or YCBCR420P; optional);
             untagged RenderData streams (any number, each may be absent at a timestamp);
             VECTOR (lists of RenderData, any number of streams, as MediaPipe's);
             MASK (HxW float array or VEC32F1 ImageFrame, values in [0, 1]; optional)
    Outputs: IMAGE (ImageFrame, the input's format)
    Options: AnnotationOverlayCalculatorOptions (ext 250607623): canvas_width_px,
             canvas_height_px, canvas_color, flip_text_vertically; mediagraph's
             mask_color (100, default green) and mask_alpha (101, default 0.5)

    Example config:
        node {
          calculator: "AnnotationOverlayCalculator"
          input_stream: "IMAGE:frame"
          input_stream: "detection_render_data"
          input_stream: "landmark_render_data"
          output_stream: "IMAGE:annotated"
        }
    """

    Options = AnnotationOverlayCalculatorOptions

    image = Input(ImageFrame, tag="IMAGE", optional=True, formats=_DRAWABLE)
    render_data = Inputs(RenderData, tag="")
    vector = Inputs(list, tag="VECTOR")  # MediaPipe's lists of RenderData (e.g. one per hand)
    mask = Input(tag="MASK", optional=True)
    out = Output(ImageFrame, tag="IMAGE")

    @classmethod
    def check_config(cls, node: NodeConfig) -> None:
        opts: AnnotationOverlayCalculatorOptions = node.options
        if not node.connected(cls.image) and (opts.canvas_width_px <= 0
                                              or opts.canvas_height_px <= 0):
            raise ValueError(f"canvas size must be positive without an IMAGE input, got "
                             f"{opts.canvas_width_px}x{opts.canvas_height_px}")

    def open(self, cc: CalculatorContext) -> None:
        self._has_image = cc.connected(self.image)
        self._streams = [self.render_data[i] for i in range(cc.count(self.render_data))]

    def process(self, cc: CalculatorContext) -> None:
        opts: AnnotationOverlayCalculatorOptions = self.options
        parts = [cc.get(port) for port in self._streams]
        for items in cc.get(self.vector):
            parts.extend(items or ())
        mask = cc.get(self.mask)
        if self._has_image:
            frame = cc.get(self.image)
            if frame is None:
                return
            frame = expect_image(frame, "IMAGE", _DRAWABLE)
            fmt = frame.format
            # A YCBCR420P frame (a decoded video frame) is drawn on its YUV planes: half
            # the bytes of RGB, and no conversion either way.
            canvas = frame.data.copy()
        else:
            if mask is None and all(p is None for p in parts):
                return
            fmt = ImageFormat.SRGB
            c = opts.canvas_color
            canvas = np.empty((opts.canvas_height_px, opts.canvas_width_px, 3), np.uint8)
            canvas[:] = (c.r, c.g, c.b)
        painter = _Painter(canvas, fmt, opts)
        if mask is not None:
            painter.mask(mask_plane(mask, "input MASK"), opts.mask_color.to_color())
        _draw_all(painter, parts)
        cc.send(self.out, ImageFrame(canvas, fmt))


def _stamp_disks(canvas: np.ndarray, centers: np.ndarray, radius: int, shift: int,
                 color: tuple[int, ...]) -> None:
    """Filled cv2.circle(center, radius, LINE_8, shift) at every center, by stamping: the
    rasterised disk depends only on the radius, the shift and the center's fractional
    bits, and moves with the center's whole pixels. OpenCV clips a disk that crosses the
    image's edge its own way, so those (few) are drawn by cv2.circle itself, as are runs
    of a few disks (a face's keypoints), where one call each costs less than the stamp's
    array work."""
    import cv2

    if len(centers) <= _FEW_DISKS:
        drawn, centers = centers, centers[:0]
    else:
        height, width = canvas.shape[:2]
        margin = radius + (2 << shift)
        inner = ((centers >= margin).all(axis=1)
                 & (centers[:, 0] < (width << shift) - margin)
                 & (centers[:, 1] < (height << shift) - margin))
        drawn, centers = centers[~inner], centers[inner]
    for x, y in drawn.tolist():
        cv2.circle(canvas, (x, y), radius, color, cv2.FILLED, cv2.LINE_8, shift)
    if not len(centers):
        return
    mask = (1 << shift) - 1
    whole = centers >> shift
    # Each center's disk: the table row of its fractional bits, moved by its whole pixels.
    combo = (centers[:, 0] & mask) * (mask + 1) + (centers[:, 1] & mask)
    dy, dx = _disk_table(radius, shift)
    ys = (whole[:, 1, np.newaxis] + dy[combo]).ravel()
    xs = (whole[:, 0, np.newaxis] + dx[combo]).ravel()
    canvas[ys, xs] = color


_FEW_DISKS = 12


@functools.lru_cache(maxsize=64)
def _disk_table(radius: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """`_disk_offsets` of every fractional position (row fx * 2**shift + fy), as two
    equal-width tables: shorter rows repeat their first pixel (painting it twice)."""
    steps = 1 << shift
    rows = [_disk_offsets(radius, shift, fx, fy) for fx in range(steps) for fy in range(steps)]
    width = max(len(dy) for dy, _ in rows)
    dy_table = np.array([np.pad(dy, (0, width - len(dy)), mode="edge") for dy, _ in rows])
    dx_table = np.array([np.pad(dx, (0, width - len(dx)), mode="edge") for _, dx in rows])
    return dy_table, dx_table


@functools.lru_cache(maxsize=256)
def _disk_offsets(radius: int, shift: int, fx: int, fy: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixels, relative to the center's whole pixel, of a filled LINE_8 circle whose
    center has fractional bits (fx, fy) of `shift`."""
    import cv2

    base = (radius >> shift) + 2
    scratch = np.zeros((2 * base + 1, 2 * base + 1), np.uint8)
    cv2.circle(scratch, ((base << shift) + fx, (base << shift) + fy), radius, (1,), cv2.FILLED,
               cv2.LINE_8, shift)
    dy, dx = np.nonzero(scratch)
    return dy - base, dx - base


@functools.lru_cache(maxsize=64)
def _yuv(rgb: tuple[int, ...]) -> tuple[int, int, int]:
    return rgb_to_yuv(rgb)  # type: ignore[arg-type]


def _draw_all(painter: _Painter, parts: list[Any]) -> None:
    for index, part in enumerate(parts):
        if part is None:
            continue
        if not isinstance(part, RenderData):
            raise TypeError(f"render data input {index} needs RenderData, got "
                            f"{type(part).__name__}")
        # Runs of lines, or of points, drawn with one pen go to the painter together.
        batch: list[RenderAnnotation] = []
        for item in part.items():
            if isinstance(item, AnnotationRun):
                painter.batch(batch)
                batch = []
                painter.run(item)
                continue
            if _batchable(item) and (not batch or _same_pen(batch[0], item)):
                batch.append(item)
                continue
            painter.batch(batch)
            batch = []
            if _batchable(item):
                batch.append(item)
            else:
                painter.draw(item)
        painter.batch(batch)


_BATCHED = {"line": 4, "point": 2}


def _batchable(a: RenderAnnotation) -> bool:
    return _BATCHED.get(a.kind) == len(a.coords)


def _same_pen(a: RenderAnnotation, b: RenderAnnotation) -> bool:
    return (a.kind == b.kind and a.color == b.color and a.thickness == b.thickness
            and a.normalized == b.normalized)


class _Painter:
    """Draws annotations on one canvas: HxWxC uint8 (RGB or BGR order by format), or
    the (H*3/2)xW YUV 4:2:0 planes of a YCBCR420P frame."""

    def __init__(self, canvas: np.ndarray, fmt: ImageFormat,
                 opts: AnnotationOverlayCalculatorOptions) -> None:
        import cv2

        self.cv2 = cv2
        self.canvas = canvas
        self.fmt = fmt
        self.opts = opts
        self.planar = planar = fmt == ImageFormat.YCBCR420P
        if planar:
            y, u, v = split_i420(canvas)
            self.height, self.width = y.shape
            # (plane, coordinate shift, channel of the colour): chroma is half size, so
            # its points are the luma points with one fractional bit (OpenCV's `shift`).
            self.layers = [(y, 0, 0), (u, 1, 1), (v, 1, 2)]
        else:
            self.height, self.width = canvas.shape[:2]
            self.layers = [(canvas, 0, None)]

    def color(self, color: Color) -> tuple[int, ...]:
        if self.fmt == ImageFormat.SBGRA:
            return (color.b, color.g, color.r, 255)
        if self.fmt == ImageFormat.SRGBA:
            return (color.r, color.g, color.b, 255)
        return (color.r, color.g, color.b)

    def xy(self, x: float, y: float, normalized: bool) -> tuple[int, int]:
        if normalized:
            x, y = x * self.width, y * self.height
        return round(x), round(y)

    def draw(self, a: RenderAnnotation) -> None:
        cv2 = self.cv2
        kind = a.kind
        rgb = self.color(a.color)
        yuv = _yuv(rgb[:3]) if self.planar else rgb
        thickness = max(1, round(a.thickness))
        if kind == "mask":
            self.mask(mask_plane(a.mask, "mask annotation"), a.color)
            return
        coords = a.coords
        need = {"rectangle": 4, "filled_rectangle": 4, "oval": 4, "filled_oval": 4, "line": 4,
                "point": 2, "text": 2}.get(kind)
        if need is None:
            raise ValueError(f"unknown annotation kind {kind!r}; expected rectangle, "
                             "filled_rectangle, oval, filled_oval, point, line, text or mask")
        if len(coords) != need:
            raise ValueError(f"{kind} annotation needs {need} coordinates, got {coords!r}")
        if kind in ("rectangle", "filled_rectangle", "line"):
            p0 = self.xy(coords[0], coords[1], a.normalized)
            p1 = self.xy(coords[2], coords[3], a.normalized)
        elif kind in ("oval", "filled_oval"):
            x0, y0 = self.xy(coords[0], coords[1], a.normalized)
            x1, y1 = self.xy(coords[2], coords[3], a.normalized)
            p0, p1 = ((x0 + x1) // 2, (y0 + y1) // 2), (abs(x1 - x0) // 2, abs(y1 - y0) // 2)
        elif kind == "point":
            p0 = self.xy(coords[0], coords[1], a.normalized)
        filled = cv2.FILLED if kind.startswith("filled_") else 0
        if kind in ("rectangle", "filled_rectangle") and a.rotation:
            self.rotated_rectangle(a, rgb, yuv, thickness, bool(filled))
            return
        for canvas, shift, channel in self.layers:
            color = rgb if channel is None else (yuv[channel],)
            width = filled or max(1, thickness >> shift)
            if kind in ("rectangle", "filled_rectangle"):
                cv2.rectangle(canvas, p0, p1, color, width, cv2.LINE_8, shift)
            elif kind in ("oval", "filled_oval"):
                cv2.ellipse(canvas, p0, p1, 0, 0, 360, color, width, cv2.LINE_8, shift)
            elif kind == "point":
                cv2.circle(canvas, p0, thickness, color, cv2.FILLED, cv2.LINE_8, shift)
            elif kind == "line":
                cv2.line(canvas, p0, p1, color, width, cv2.LINE_8, shift)
            else:
                self.text(a, canvas, color, width, shift)

    def batch(self, batch: list[RenderAnnotation]) -> None:
        """A run of lines or of points of one kind, colour and thickness, drawn together:
        the same pixels as drawing each (a face mesh is 2556 lines and 468 points)."""
        if len(batch) < 2:
            for annotation in batch:
                self.draw(annotation)
            return
        first = batch[0]
        self.run(AnnotationRun(first.kind, [a.coords for a in batch], first.color,
                               first.thickness, first.normalized))

    def run(self, run: AnnotationRun) -> None:
        """Every line or point of `run` at once: the pixels of drawing each in turn (one
        colour, so their order does not matter)."""
        if not len(run):
            return
        scale = (self.width, self.height) * (run.coords.shape[1] // 2)
        coords = run.coords * scale if run.normalized else run.coords
        coords = np.rint(coords).astype(np.int32)
        rgb = self.color(run.color)
        yuv = _yuv(rgb[:3]) if self.planar else rgb
        if isinstance(run.thickness, tuple):  # one radius each: draw each radius's points
            radii = np.maximum(1, np.rint(run.thickness)).astype(np.int64)
            groups = [(int(r), coords[radii == r]) for r in np.unique(radii)]
        else:
            groups = [(max(1, round(run.thickness)), coords)]
        for canvas, shift, channel in self.layers:
            color = rgb if channel is None else (yuv[channel],)
            for thickness, chosen in groups:
                if run.kind == "line":
                    # one cv2.polylines of 2-point polylines draws what a cv2.line each does
                    self.cv2.polylines(canvas, list(chosen.reshape(-1, 2, 2)), False, color,
                                       max(1, thickness >> shift), self.cv2.LINE_8, shift)
                else:
                    _stamp_disks(canvas, chosen, thickness, shift, color)

    def rotated_rectangle(self, a: RenderAnnotation, rgb: tuple[int, ...], yuv: tuple[int, ...],
                          thickness: int, filled: bool) -> None:
        """A rectangle turned by `a.rotation` radians about its centre, in pixels (MediaPipe
        draws a cv::RotatedRect of the pixel box the same way)."""
        cv2 = self.cv2
        left, top, right, bottom = a.coords
        sx, sy = (self.width, self.height) if a.normalized else (1, 1)
        box = (((left + right) / 2 * sx, (top + bottom) / 2 * sy),
               ((right - left) * sx, (bottom - top) * sy), float(np.degrees(a.rotation)))
        corners = np.rint(cv2.boxPoints(box)).astype(np.int32)
        for canvas, shift, channel in self.layers:
            color = rgb if channel is None else (yuv[channel],)
            if filled:
                cv2.fillPoly(canvas, [corners], color, cv2.LINE_8, shift)
            else:
                cv2.polylines(canvas, [corners], True, color, max(1, thickness >> shift),
                              cv2.LINE_8, shift)

    def text(self, a: RenderAnnotation, canvas: np.ndarray, color: tuple[int, ...],
             thickness: int, shift: int) -> None:
        cv2 = self.cv2
        if not a.text:
            return
        height_px = a.font_height * self.height if a.normalized else a.font_height
        font = cv2.FONT_HERSHEY_SIMPLEX
        scale = cv2.getFontScaleFromHeight(font, max(1, round(height_px)), thickness << shift)
        x, y = self.xy(a.coords[0], a.coords[1], a.normalized)
        origin, scale = (x >> shift, y >> shift), scale / (1 << shift)
        cv2.putText(canvas, a.text, origin, font, scale, color, thickness, cv2.LINE_AA,
                    self.opts.flip_text_vertically)

    def mask(self, mask: np.ndarray, color: Color) -> None:
        """Blend `color` in by mask * mask_alpha, vectorised; only where the mask is set."""
        cv2 = self.cv2
        mask = mask.astype(np.float32, copy=False)
        if mask.shape != (self.height, self.width):
            mask = cv2.resize(mask, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        weight = np.clip(mask, 0.0, 1.0) * np.float32(self.opts.mask_alpha)
        rows = np.flatnonzero(weight.any(axis=1))
        if rows.size == 0:
            return
        cols = np.flatnonzero(weight.any(axis=0))
        if self.planar:
            self._mask_planes(weight, rows, cols, color)
            return
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        w = weight[box][:, :, np.newaxis]
        tint = np.array(self.color(color)[:3], dtype=np.float32)
        region = self.canvas[box][:, :, :3]
        blended = region * (1.0 - w) + tint * w
        self.canvas[box + (slice(0, 3),)] = np.rint(blended).astype(np.uint8)

    def _mask_planes(self, weight: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     color: Color) -> None:
        """The mask blend on YUV planes: luma by the mask, each chroma sample by the mean
        of its 2x2 pixels' weights (the blend is linear, so this is the RGB blend)."""
        y0, y1 = rows[0] & ~1, min(self.height, (rows[-1] + 2) & ~1)  # whole 2x2 blocks
        x0, x1 = cols[0] & ~1, min(self.width, (cols[-1] + 2) & ~1)
        w = weight[y0:y1, x0:x1]
        half = self.cv2.resize(w, ((x1 - x0) // 2, (y1 - y0) // 2),
                               interpolation=self.cv2.INTER_AREA)
        tint = _yuv(self.color(color)[:3])
        for (plane, shift, channel), weights in zip(self.layers, (w, half, half)):
            box = (slice(y0 >> shift, y1 >> shift), slice(x0 >> shift, x1 >> shift))
            region = plane[box].astype(np.float32)
            plane[box] = np.rint(region + (np.float32(tint[channel]) - region) * weights)
