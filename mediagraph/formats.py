"""Media types that flow through graphs: images, audio, detections, landmarks, rects, render data.

Field names follow MediaPipe's `image_format.proto`, `detection.proto`,
`location_data.proto`, `landmark.proto`, `rect.proto` and `render_data.proto`, so users
who know MediaPipe know them. Values are frozen: packets are shared between consumers.
Images and audio wrap numpy arrays without copying (`from_ndarray` / `to_ndarray`); the
array is made read-only, like every numpy payload sent in a packet.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from collections.abc import Iterator, Sequence
from typing import Any, Callable, ClassVar, Iterable

import numpy as np


class ImageFormat(enum.IntEnum):
    """MediaPipe's `ImageFormat.Format` values."""

    UNKNOWN = 0
    SRGB = 1
    SRGBA = 2
    GRAY8 = 3
    GRAY16 = 4
    YCBCR420P = 5
    YCBCR420P10 = 6
    SRGB48 = 7
    SRGBA64 = 8
    VEC32F1 = 9
    LAB8 = 10
    SBGRA = 11
    VEC32F2 = 12
    VEC32F4 = 13

    @property
    def channels(self) -> int:
        return _CHANNELS[self]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_DTYPES[self])


_CHANNELS = {ImageFormat.SRGB: 3, ImageFormat.SRGBA: 4, ImageFormat.GRAY8: 1,
             ImageFormat.GRAY16: 1, ImageFormat.SRGB48: 3, ImageFormat.SRGBA64: 4,
             ImageFormat.VEC32F1: 1, ImageFormat.VEC32F2: 2, ImageFormat.VEC32F4: 4,
             ImageFormat.LAB8: 3, ImageFormat.SBGRA: 4}
_DTYPES = {ImageFormat.SRGB: np.uint8, ImageFormat.SRGBA: np.uint8, ImageFormat.GRAY8: np.uint8,
           ImageFormat.GRAY16: np.uint16, ImageFormat.SRGB48: np.uint16,
           ImageFormat.SRGBA64: np.uint16, ImageFormat.VEC32F1: np.float32,
           ImageFormat.VEC32F2: np.float32, ImageFormat.VEC32F4: np.float32,
           ImageFormat.LAB8: np.uint8, ImageFormat.SBGRA: np.uint8}
_BY_SHAPE = {(1, np.dtype(np.uint8)): ImageFormat.GRAY8, (3, np.dtype(np.uint8)): ImageFormat.SRGB,
             (4, np.dtype(np.uint8)): ImageFormat.SRGBA, (1, np.dtype(np.uint16)): ImageFormat.GRAY16,
             (3, np.dtype(np.uint16)): ImageFormat.SRGB48,
             (4, np.dtype(np.uint16)): ImageFormat.SRGBA64,
             (1, np.dtype(np.float32)): ImageFormat.VEC32F1,
             (2, np.dtype(np.float32)): ImageFormat.VEC32F2,
             (4, np.dtype(np.float32)): ImageFormat.VEC32F4}


class ImageFrame:
    """An image in a known pixel format; wraps its numpy array without copying.

    Interleaved formats hold an HxWxC array. `YCBCR420P` (`from_i420`, what a video
    decoder keeps) holds the (H*3/2)xW array of its Y, U and V planes, PyAV's "yuv420p"
    layout, BT.601 limited range; `planes` splits it. `mediagraph.colour` converts
    between formats, and keeps each conversion on the frame (`conversion`), made once.
    """

    __slots__ = ("_data", "format", "_size", "_rgb_source", "_conversions", "_lock")

    def __init__(self, data: np.ndarray, format: ImageFormat | None = None) -> None:
        if not isinstance(data, np.ndarray):
            raise TypeError(f"ImageFrame needs a numpy array, not {type(data).__name__}")
        if format is not None and format == ImageFormat.YCBCR420P:
            self._set_planar(data)
            return
        data, format = _interleaved(data, format)
        if data.flags.writeable:
            data.flags.writeable = False
        self._data = data
        self.format = format
        self._size: tuple[int, int] = data.shape[:2]
        self._rgb_source: Callable[[], np.ndarray] | None = None
        self._conversions: dict[ImageFormat, ImageFrame] | None = None
        self._lock: threading.Lock | None = None

    def _set_planar(self, planes: np.ndarray,
                    to_rgb: Callable[[], np.ndarray] | None = None) -> None:
        self._size = _i420_size(planes)
        if planes.flags.writeable:
            planes.flags.writeable = False
        self._data = planes
        self.format = ImageFormat.YCBCR420P
        self._rgb_source = to_rgb
        self._conversions = None
        self._lock = threading.Lock()  # planar frames are the ones consumers convert

    @classmethod
    def from_ndarray(cls, data: np.ndarray, format: ImageFormat | None = None) -> ImageFrame:
        """Wrap `data` (HxW or HxWxC; (H*3/2)xW for YCBCR420P) without copying; the
        format is inferred from the channels and dtype when omitted."""
        return cls(data, format)

    @classmethod
    def from_i420(cls, planes: np.ndarray,
                  to_rgb: Callable[[], np.ndarray] | None = None) -> ImageFrame:
        """A YCBCR420P frame of the (H*3/2)xW uint8 array of Y, then U, then V (PyAV's
        "yuv420p" ndarray), H and W even, BT.601 limited range. `to_rgb`, when given,
        makes the HxWx3 RGB pixels exactly as the planes' source would (the decoder's
        swscale); without it `mediagraph.colour` uses OpenCV's conversion."""
        if not isinstance(planes, np.ndarray):
            raise TypeError(f"I420 planes must be a numpy array, not {type(planes).__name__}")
        frame = cls.__new__(cls)
        frame._set_planar(planes, to_rgb)
        return frame

    def to_ndarray(self) -> np.ndarray:
        """The array this frame holds, read-only (no copy). `.copy()` it to draw on it."""
        return self._data

    @property
    def data(self) -> np.ndarray:
        return self._data

    @property
    def planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Views of the Y (HxW), U and V (H/2 x W/2) planes of a YCBCR420P frame."""
        if self.format != ImageFormat.YCBCR420P:
            raise ValueError(f"{self!r} is not planar; convert it with mediagraph.colour")
        return split_i420(self._data)

    @property
    def rgb_source(self) -> Callable[[], np.ndarray] | None:
        """The planes' own RGB conversion (`from_i420`'s `to_rgb`), or None."""
        return self._rgb_source

    def conversion(self, format: ImageFormat,
                   make: Callable[[ImageFrame], ImageFrame]) -> ImageFrame:
        """This image in `format`, `make(self)` on the first call and the same frame after,
        even when several threads ask at once (the colour module's cache)."""
        conversions = self._conversions
        if conversions is not None and format in conversions:
            return conversions[format]
        lock = self._lock
        if lock is None:
            with _LOCK_FOR_LOCKS:
                if self._lock is None:
                    self._lock = threading.Lock()
                lock = self._lock
        with lock:
            if self._conversions is None:
                self._conversions = {}
            converted = self._conversions.get(format)
            if converted is None:
                converted = self._conversions[format] = make(self)
            return converted

    @property
    def width(self) -> int:
        return self._size[1]

    @property
    def height(self) -> int:
        return self._size[0]

    @property
    def channels(self) -> int:
        return 3 if self.format == ImageFormat.YCBCR420P else self._data.shape[2]

    @property
    def shape(self) -> tuple[int, ...]:
        """(height, width, channels) of the image, whatever its memory layout."""
        return (*self._size, self.channels)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ImageFrame) and self.format == other.format
                and np.array_equal(self._data, other._data))

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # The planes' own RGB conversion (a decoder's) stays in this process.
        if self.format == ImageFormat.YCBCR420P:
            return (ImageFrame.from_i420, (self._data,))
        return (ImageFrame, (self._data, self.format))

    def __repr__(self) -> str:
        return f"ImageFrame({self.width}x{self.height} {self.format.name})"


_LOCK_FOR_LOCKS = threading.Lock()


def split_i420(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y (HxW), U and V (H/2 x W/2) planes of an (H*3/2)xW I420 array
    (copies only where the array's rows are not contiguous)."""
    rows, width = planes.shape
    height = rows * 2 // 3
    quarter = height * width // 4
    chroma = planes[height:].reshape(-1)
    return (planes[:height], chroma[:quarter].reshape(height // 2, width // 2),
            chroma[quarter:].reshape(height // 2, width // 2))


def _interleaved(data: np.ndarray, format: ImageFormat | None) -> tuple[np.ndarray, ImageFormat]:
    """`data` as HxWxC and its format, checked (or inferred when None)."""
    if data.ndim == 2:
        data = data[:, :, np.newaxis]
    if data.ndim != 3:
        raise ValueError(f"ImageFrame needs an HxW or HxWxC array, got shape {data.shape}")
    if format is None:
        inferred = _BY_SHAPE.get((data.shape[2], data.dtype))
        if inferred is None:
            raise ValueError(f"cannot infer an image format for {data.shape[2]} channels of "
                             f"{data.dtype}; pass format=")
        return data, inferred
    format = ImageFormat(format)
    if format in _CHANNELS and (data.shape[2] != format.channels
                                or data.dtype != format.dtype):
        raise ValueError(f"{format.name} needs {format.channels} channels of "
                         f"{format.dtype}, got {data.shape[2]} of {data.dtype}")
    return data, format


def _i420_size(planes: np.ndarray) -> tuple[int, int]:
    """(height, width) of an (H*3/2)xW I420 array, or a ValueError saying what is wrong."""
    if planes.dtype != np.uint8 or planes.ndim != 2:
        raise ValueError("I420 planes must be a 2-D uint8 array of (H*3/2) x W, got "
                         f"{planes.dtype} {planes.shape}")
    rows, width = planes.shape
    height = rows * 2 // 3
    if rows % 3 or height % 2 or width % 2 or not height or not width:
        raise ValueError(f"I420 planes of shape {planes.shape} are not (H*3/2) x W with "
                         "H and W even and positive")
    return height, width


class AudioFrame:
    """A block of audio: float32 samples x channels at `sample_rate` Hz (no copy)."""

    __slots__ = ("_data", "sample_rate")

    def __init__(self, data: np.ndarray, sample_rate: float) -> None:
        if not isinstance(data, np.ndarray):
            raise TypeError(f"AudioFrame needs a numpy array, not {type(data).__name__}")
        if data.ndim == 1:
            data = data[:, np.newaxis]
        if data.ndim != 2:
            raise ValueError(f"AudioFrame needs samples x channels, got shape {data.shape}")
        if data.dtype != np.float32:
            data = data.astype(np.float32)
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if data.flags.writeable:
            data.flags.writeable = False
        self._data = data
        self.sample_rate = float(sample_rate)

    @classmethod
    def from_ndarray(cls, data: np.ndarray, sample_rate: float) -> AudioFrame:
        return cls(data, sample_rate)

    def to_ndarray(self) -> np.ndarray:
        return self._data

    @property
    def data(self) -> np.ndarray:
        return self._data

    @property
    def num_samples(self) -> int:
        return self._data.shape[0]

    @property
    def num_channels(self) -> int:
        return self._data.shape[1]

    @property
    def duration(self) -> float:
        """Seconds of audio in this frame."""
        return self._data.shape[0] / self.sample_rate

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, AudioFrame) and self.sample_rate == other.sample_rate
                and np.array_equal(self._data, other._data))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"AudioFrame({self.num_samples} samples x {self.num_channels} ch "
                f"@ {self.sample_rate:g} Hz)")


@dataclass(frozen=True)
class VideoHeader:
    """What a decoder knows about a video before its first frame (MediaPipe's VideoHeader).

    `duration` is in seconds and `frame_count` a count; both are 0 when the container
    does not say. `audio_sample_rate`/`audio_channels` are 0 without an audio track.
    """

    width: int
    height: int
    frame_rate: float
    duration: float
    frame_count: int
    codec: str
    audio_sample_rate: int = 0
    audio_channels: int = 0


@dataclass(frozen=True)
class AudioHeader:
    """What a consumer needs before the first AudioFrame (MediaPipe's TimeSeriesHeader).

    `duration` is in seconds as the container reports it (0.0 when unknown);
    `frame_size` is the number of samples per AudioFrame (0: as decoded).
    """

    sample_rate: int
    num_channels: int
    duration: float
    frame_size: int


Matrix = np.ndarray
"""A float32 2-D array; the payload of time-series calculators (rows x columns)."""


# -- detection.proto / location_data.proto ----------------------------------------------


@dataclass(frozen=True)
class RelativeBoundingBox:
    """A box in [0, 1] image coordinates (MediaPipe's LocationData.RelativeBoundingBox)."""

    xmin: float
    ymin: float
    width: float
    height: float


@dataclass(frozen=True)
class RelativeKeypoint:
    x: float
    y: float
    keypoint_label: str = ""
    score: float | None = None

    @classmethod
    def many(cls, xy: Iterable[Iterable[float]]) -> tuple[RelativeKeypoint, ...]:
        """One unlabelled keypoint per (x, y): the objects calling the class makes, without
        its frozen __init__ (a face's detection has 468)."""
        return tuple(_frozen(cls, {"x": x, "y": y, "keypoint_label": "", "score": None})
                     for x, y in xy)

    def moved(self, x: float, y: float) -> RelativeKeypoint:
        """This keypoint at (x, y), label and score kept: `dataclasses.replace` without
        its per-field work (non-max suppression moves every keypoint of every face)."""
        return _frozen(type(self), {"x": x, "y": y, "keypoint_label": self.keypoint_label,
                                    "score": self.score})


class Keypoints(Sequence):
    """Unlabelled keypoints held as one Nx2 array of (x, y): the tuple of RelativeKeypoint
    they stand for, each object made only when read (a face's detection from its
    landmarks has 468, and what follows reads two of them, or the array).

    Equal to, and hashed as, the tuple of its keypoints; `xy()` gives the array.
    """

    __slots__ = ("_xy", "_items")

    def __init__(self, xy: Any) -> None:
        array = np.array(xy, dtype=np.float64).reshape(-1, 2)
        array.flags.writeable = False
        object.__setattr__(self, "_xy", array)
        object.__setattr__(self, "_items", None)

    def xy(self) -> np.ndarray:
        """The Nx2 float64 (x, y) array, read-only."""
        return self._xy

    def _objects(self) -> tuple[RelativeKeypoint, ...]:
        items = self._items
        if items is None:
            items = RelativeKeypoint.many(self._xy.tolist())
            object.__setattr__(self, "_items", items)
        return items

    def __len__(self) -> int:
        return len(self._xy)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice) or self._items is not None:
            return self._objects()[index]
        x, y = self._xy[index].tolist()
        return RelativeKeypoint(x, y)

    def __iter__(self) -> Iterator[RelativeKeypoint]:
        return iter(self._objects())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, Keypoints)):
            return self._objects() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._objects())

    def __repr__(self) -> str:
        return repr(self._objects())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Keypoints are immutable (packets are shared)")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Keypoints, (self._xy,))


def keypoint_array(keypoints: Sequence[RelativeKeypoint]) -> np.ndarray:
    """The Nx2 float64 (x, y) of any keypoint sequence, without objects for Keypoints."""
    if isinstance(keypoints, Keypoints):
        return keypoints.xy()
    return np.array([(k.x, k.y) for k in keypoints], np.float64).reshape(-1, 2)


def moved_keypoints(keypoints: Sequence[RelativeKeypoint], xy: np.ndarray
                    ) -> tuple[RelativeKeypoint, ...] | Keypoints:
    """`keypoints` moved to the Nx2 positions `xy`, labels and scores kept: unlabelled
    Keypoints stay one array (no object per point), any other sequence is moved point by
    point into a tuple."""
    if isinstance(keypoints, Keypoints):
        return Keypoints(xy)
    return tuple(p.moved(x, y) for p, (x, y) in zip(keypoints, np.asarray(xy).tolist()))


@dataclass(frozen=True)
class Detection:
    """One detected object (MediaPipe's `Detection` with `LocationData` in relative form)."""

    label: tuple[str, ...] = ()
    label_id: tuple[int, ...] = ()
    score: tuple[float, ...] = ()
    relative_bounding_box: RelativeBoundingBox | None = None
    relative_keypoints: tuple[RelativeKeypoint, ...] | Keypoints = ()
    feature_tag: str = ""
    track_id: str = ""
    detection_id: int | None = None

    @property
    def top_score(self) -> float:
        return max(self.score) if self.score else 0.0


def _frozen(cls: type, fields: dict[str, Any]) -> Any:
    """An instance of the frozen dataclass `cls` holding `fields` (all of them), made
    without its __init__, which sets each field through object.__setattr__: the same
    object for a fifth of the time, for the calculators that make hundreds a frame."""
    instance = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance


# -- landmark.proto / rect.proto --------------------------------------------------------


@dataclass(frozen=True)
class NormalizedLandmark:
    x: float
    y: float
    z: float = 0.0
    visibility: float | None = None
    presence: float | None = None


class _LandmarkList:
    """What both landmark lists are: an immutable sequence of landmarks, held either as
    landmark objects or as arrays (Nx3 float64 coordinates and per-landmark visibility and
    presence), each made from the other only when first asked for.

    Why: a face is 468 landmarks and holistic passes each list through a dozen
    calculators, almost all of which compute on the arrays (`from_arrays` / `arrays`);
    building 468 objects per calculator per frame was a tenth of a holistic frame's
    Python time. Code that reads `.landmark` sees the same objects as ever.
    """

    __slots__ = ("_landmark", "_xyz", "_visibility", "_presence")
    point: ClassVar[type]

    def __init__(self, landmark: Iterable[Any] = ()) -> None:
        points = tuple(landmark)
        for p in points:
            if not isinstance(p, self.point):
                raise TypeError(f"{type(self).__name__} holds {self.point.__name__} values, "
                                f"got {type(p).__name__}")
        _set = object.__setattr__
        _set(self, "_landmark", points)
        _set(self, "_xyz", None)
        _set(self, "_visibility", None)
        _set(self, "_presence", None)

    @classmethod
    def from_arrays(cls, xyz: np.ndarray, visibility: Iterable[float | None] | None = None,
                    presence: Iterable[float | None] | None = None) -> Any:
        """From Nx3 coordinates and optional per-landmark visibility/presence (None, or a
        sequence with None where a landmark has no value), without building objects."""
        coords = np.array(xyz, dtype=np.float64).reshape(-1, 3)
        coords.flags.writeable = False
        n = len(coords)
        vis = _per_landmark(visibility, n, "visibility")
        pres = _per_landmark(presence, n, "presence")
        self = cls.__new__(cls)
        _set = object.__setattr__
        _set(self, "_landmark", None)
        _set(self, "_xyz", coords)
        _set(self, "_visibility", vis)
        _set(self, "_presence", pres)
        return self

    @classmethod
    def from_array(cls, points: np.ndarray) -> Any:
        """From an Nx2 or Nx3 array of coordinates (float32 precision, as the proto's)."""
        points = np.asarray(points, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] not in (2, 3):
            raise ValueError(f"landmarks need an Nx2 or Nx3 array, got shape {points.shape}")
        xyz = np.zeros((len(points), 3), np.float64)
        xyz[:, :points.shape[1]] = points
        return cls.from_arrays(xyz)

    @property
    def landmark(self) -> tuple[Any, ...]:
        """The landmark objects (MediaPipe's repeated `landmark` field)."""
        points = self._landmark
        if points is None:
            vis, pres = self._visibility, self._presence
            n = len(self._xyz)
            point = self.point
            points = tuple(point(x, y, z, v, p) for (x, y, z), v, p in zip(
                self._xyz.tolist(), vis if vis is not None else [None] * n,
                pres if pres is not None else [None] * n))
            object.__setattr__(self, "_landmark", points)
        return points

    def arrays(self) -> tuple[np.ndarray, list[float | None], list[float | None]]:
        """(Nx3 float64 x/y/z, read-only; visibilities; presences), None where a landmark
        has no value."""
        if self._xyz is None:
            points = self._landmark
            xyz = np.array([(p.x, p.y, p.z) for p in points], np.float64).reshape(-1, 3)
            xyz.flags.writeable = False
            _set = object.__setattr__
            _set(self, "_xyz", xyz)
            _set(self, "_visibility", [p.visibility for p in points])
            _set(self, "_presence", [p.presence for p in points])
        n = len(self._xyz)
        return (self._xyz,
                self._visibility if self._visibility is not None else [None] * n,
                self._presence if self._presence is not None else [None] * n)

    def subset(self, indices: Iterable[int]) -> Any:
        """The landmarks at `indices`, in that order, as a list of the same type."""
        chosen = list(indices)
        if self._landmark is not None and self._xyz is None:
            points = self._landmark
            return type(self)(points[i] for i in chosen)
        xyz, vis, pres = self.arrays()
        return type(self).from_arrays(xyz[chosen], [vis[i] for i in chosen],
                                      [pres[i] for i in chosen])

    def item(self, index: int) -> Any:
        """One landmark object, without building the others."""
        if self._landmark is not None:
            return self._landmark[index]
        xyz, vis, pres = self.arrays()
        return self.point(*xyz[index].tolist(), vis[index], pres[index])

    @classmethod
    def concatenate(cls, lists: Iterable[Any]) -> Any:
        """The landmarks of `lists`, one after the other."""
        parts = [lst.arrays() for lst in lists]
        if not parts:
            return cls()
        return cls.from_arrays(np.concatenate([p[0] for p in parts]),
                               [v for p in parts for v in p[1]],
                               [v for p in parts for v in p[2]])

    def to_array(self) -> np.ndarray:
        """An Nx3 float32 array of (x, y, z)."""
        return self.arrays()[0].astype(np.float32)

    def __len__(self) -> int:
        return len(self._landmark) if self._landmark is not None else len(self._xyz)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (packets are shared)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (packets are shared)")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.landmark == other.landmark  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.landmark))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(landmark={self.landmark!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_landmarks, (type(self), *self.arrays()))


def _rebuild_landmarks(cls: type, xyz: np.ndarray, visibility: list, presence: list) -> Any:
    return cls.from_arrays(xyz, visibility, presence)


def _per_landmark(values: Iterable[float | None] | None, n: int, name: str
                  ) -> list[float | None] | None:
    if values is None:
        return None
    out = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if len(out) != n:
        raise ValueError(f"{n} landmarks need {n} {name} values, got {len(out)}")
    return out


class NormalizedLandmarkList(_LandmarkList):
    """MediaPipe's `NormalizedLandmarkList`: x and y in [0, 1] of the image."""

    __slots__ = ()
    point: ClassVar[type] = NormalizedLandmark


@dataclass(frozen=True)
class Landmark:
    """A landmark in real-world units (MediaPipe's `Landmark`): metres for pose world
    landmarks, origin between the hips."""

    x: float
    y: float
    z: float = 0.0
    visibility: float | None = None
    presence: float | None = None


class LandmarkList(_LandmarkList):
    """MediaPipe's `LandmarkList`: world landmarks, not normalized to the image."""

    __slots__ = ()
    point: ClassVar[type] = Landmark


@dataclass(frozen=True)
class NormalizedRect:
    """A rotated rectangle in [0, 1] image coordinates; rotation in radians, clockwise."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float = 0.0
    rect_id: int | None = None


# -- classification.proto -----------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """One class and its score (MediaPipe's `classification.proto` Classification)."""

    index: int
    score: float
    label: str = ""
    display_name: str = ""


@dataclass(frozen=True)
class ClassificationList:
    classification: tuple[Classification, ...] = ()

    def __len__(self) -> int:
        return len(self.classification)


# -- render_data.proto ------------------------------------------------------------------


@dataclass(frozen=True)
class Color:
    r: int = 0
    g: int = 0
    b: int = 0


@dataclass(frozen=True)
class RenderAnnotation:
    """One thing to draw. `kind` is rectangle, filled_rectangle, oval, point, line, text or
    mask; coordinates are normalized to [0, 1] when `normalized` (MediaPipe's default use).

    rectangle/oval: (left, top, right, bottom); point: (x, y); line: (x0, y0, x1, y1);
    text: (left, baseline) with `text`; mask: `mask` is an HxW float array in [0, 1].
    A rectangle's `rotation` (radians, clockwise in the image, about its centre in pixels)
    is MediaPipe's `Rectangle.rotation`.
    """

    kind: str
    coords: tuple[float, ...] = ()
    color: Color = field(default_factory=Color)
    thickness: float = 1.0
    normalized: bool = True
    text: str = ""
    font_height: float = 0.03
    mask: Any = None
    rotation: float = 0.0

    @classmethod
    def many(cls, kind: str, coords: Iterable[Iterable[float]], color: Color,
             thickness: float | Iterable[float], normalized: bool = True
             ) -> list[RenderAnnotation]:
        """One annotation per coordinate tuple, all of `kind` and `color`; `thickness` is
        one value or one per annotation. The same objects as calling the class each time,
        made without its frozen __init__ (a face's render data is ~600 annotations per
        frame)."""
        template = {"kind": kind, "coords": (), "color": color, "thickness": 1.0,
                    "normalized": normalized, "text": "", "font_height": 0.03, "mask": None,
                    "rotation": 0.0}
        coords = [tuple(c) for c in coords]
        if isinstance(thickness, (int, float)):
            sizes = [float(thickness)] * len(coords)
        else:
            sizes = [float(t) for t in thickness]
        return [_frozen(cls, {**template, "coords": c, "thickness": size})
                for c, size in zip(coords, sizes)]


@dataclass(frozen=True, eq=False)
class AnnotationRun:
    """Many lines or points of one colour, held as one array: what a landmark list draws.

    `coords` is Nx4 (line: x0, y0, x1, y1) or Nx2 (point: x, y); `thickness` is one value,
    or one per item (points drawn larger when nearer). It stands for the RenderAnnotations
    `annotations()` gives, in order, and a painter draws it in one call.
    """

    kind: str
    coords: np.ndarray
    color: Color
    thickness: float | tuple[float, ...] = 1.0
    normalized: bool = True

    def __post_init__(self) -> None:
        width = {"line": 4, "point": 2}.get(self.kind)
        if width is None:
            raise ValueError(f"an annotation run is of lines or points, not {self.kind!r}")
        coords = np.array(self.coords, dtype=np.float64).reshape(-1, width)
        coords.flags.writeable = False
        object.__setattr__(self, "coords", coords)
        if not isinstance(self.thickness, (int, float)):
            sizes = tuple(float(t) for t in self.thickness)
            if len(sizes) != len(coords):
                raise ValueError(f"{len(coords)} {self.kind}s need {len(coords)} thickness "
                                 f"values, got {len(sizes)}")
            object.__setattr__(self, "thickness", sizes)

    def __len__(self) -> int:
        return len(self.coords)

    def annotations(self) -> list[RenderAnnotation]:
        return RenderAnnotation.many(self.kind, self.coords.tolist(), self.color,
                                     self.thickness, self.normalized)


class RenderData:
    """MediaPipe's `RenderData`: the annotations to draw, and a scene class.

    Built from RenderAnnotations, or with `from_runs` from annotation runs (and single
    annotations) that stand for them: a face's 600 lines and points are then two arrays,
    and `render_annotation` makes the objects only for code that reads them.
    """

    __slots__ = ("_items", "_annotations", "scene_class")

    def __init__(self, render_annotation: Iterable[RenderAnnotation] = (),
                 scene_class: str = "") -> None:
        annotations = tuple(render_annotation)
        _set = object.__setattr__
        _set(self, "_items", annotations)
        _set(self, "_annotations", annotations)
        _set(self, "scene_class", scene_class)

    @classmethod
    def from_runs(cls, items: Iterable[AnnotationRun | RenderAnnotation],
                  scene_class: str = "") -> RenderData:
        self = cls.__new__(cls)
        _set = object.__setattr__
        _set(self, "_items", tuple(items))
        _set(self, "_annotations", None)
        _set(self, "scene_class", scene_class)
        return self

    @property
    def render_annotation(self) -> tuple[RenderAnnotation, ...]:
        annotations = self._annotations
        if annotations is None:
            flat: list[RenderAnnotation] = []
            for item in self._items:
                if isinstance(item, AnnotationRun):
                    flat.extend(item.annotations())
                else:
                    flat.append(item)
            annotations = tuple(flat)
            object.__setattr__(self, "_annotations", annotations)
        return annotations

    def items(self) -> tuple[AnnotationRun | RenderAnnotation, ...]:
        """What to draw, in order: runs and single annotations."""
        return self._items

    @classmethod
    def merge(cls, parts: Iterable[RenderData | None]) -> RenderData:
        return cls.from_runs(item for part in parts if part is not None
                             for item in part.items())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RenderData is immutable (packets are shared)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("RenderData is immutable (packets are shared)")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return (self.scene_class == other.scene_class  # type: ignore[attr-defined]
                and self.render_annotation == other.render_annotation)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.render_annotation, self.scene_class))

    def __repr__(self) -> str:
        return (f"RenderData(render_annotation={self.render_annotation!r}, "
                f"scene_class={self.scene_class!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_render_data, (self._items, self.scene_class))


def _rebuild_render_data(items: tuple[Any, ...], scene_class: str) -> RenderData:
    return RenderData.from_runs(items, scene_class)
