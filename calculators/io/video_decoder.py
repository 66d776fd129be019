"""VideoDecoderCalculator: frames (and audio) from a video file or URL, decoded with PyAV."""

from __future__ import annotations

import functools
import logging
import os
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mediagraph import (Calculator, CalculatorContext, Options, Output,
                        SideInput, Stop, Timestamp, option)
from mediagraph import colour
from mediagraph.formats import AudioFrame, ImageFormat, ImageFrame, VideoHeader
from mediagraph.calculators.io._demuxers import is_url, open_options, refused_message
from mediagraph.calculators.io._skipping import DamageSkipper
from mediagraph.optional import require

logger = logging.getLogger(__name__)

_MAX_AHEAD = 32  # decoded frames held back to interleave video and audio by timestamp
_THREAD_TYPES = ("AUTO", "FRAME", "SLICE", "NONE")
_ON_ERROR = ("FAIL", "WARN", "SKIP")


class VideoDecoderCalculatorOptions(Options):
    start_time_s: float = option(1, default=0.0, proto="double",
                                 doc="seek here first; earlier frames are not sent")
    end_time_s: float = option(2, default=0.0, proto="double",
                               doc="stop before this time; 0: decode to the end")
    thread_type: str = option(3, default="AUTO", doc="decoder threads: AUTO, FRAME, SLICE, NONE")
    on_error: str = option(4, default="FAIL",
                           doc="damaged input: FAIL raises after the last good frame, "
                               "WARN logs and ends the streams normally, SKIP leaves out "
                               "each damaged packet and goes on")
    demuxers: str = option(5, default="",
                           doc="FFmpeg demuxers this may open; '': single-file media, never "
                               "playlists (calculators/io/_demuxers.py)")

    def check(self) -> None:
        if self.on_error.upper() not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {_ON_ERROR}, not {self.on_error!r}")
        if self.thread_type.upper() not in _THREAD_TYPES:
            raise ValueError(f"thread_type must be one of {_THREAD_TYPES}, "
                             f"not {self.thread_type!r}")
        if self.end_time_s and self.end_time_s <= self.start_time_s:
            raise ValueError(f"end_time_s ({self.end_time_s}) must be after start_time_s "
                             f"({self.start_time_s})")


class VideoDecoderCalculator(Calculator):
    """Decode a video file or URL into frames, in presentation order, one per `process`.

    Timestamps are the frames' presentation times in microseconds, converted exactly
    from the stream's time base. The container stays open for the whole run. With
    AUDIO connected, video and audio frames go out merged by timestamp and each
    output's bound moves to the other's next timestamp, so a downstream node that
    takes both never waits on the file's interleaving.

    A damaged or truncated file keeps every frame decoded before the damage; then
    `on_error: "FAIL"` (the default) raises an error naming the file and the last good
    timestamp, and `"WARN"` logs it and ends the streams normally; `"SKIP"` leaves out each
    packet FFmpeg cannot demux or decode and goes on with the next, so the frames after
    the damage are kept too: it warns once per run and the profile counts the packets
    skipped ("damaged packets skipped"). Each of these applies as well to a file from which not one
    frame could be read, and one that ends well before the duration its container (or a
    Matroska track's DURATION tag) declares. A missing, empty or unreadable file,
    or one without a video stream, fails in `open()` with its path in the message.

    Inputs:  none (a source)
    Frames of ordinary video (yuv420p, BT.601, limited range, even size) go out as their
    YUV planes (YCBCR420P, `ImageFrame.from_i420`): the calculators whose input takes
    that format (ImageToTensor, AnnotationOverlay, BackgroundBlur, VideoEncoder) use
    them directly, and any other gets them as SRGB, converted once by swscale, the same
    pixels as converting here. Other videos are converted to SRGB here.

    Outputs: VIDEO (ImageFrame, YCBCR420P or SRGB);
             VIDEO_PRESTREAM (VideoHeader at PRE_STREAM, optional);
             AUDIO (AudioFrame, float32 samples x channels, optional)
    Side inputs: INPUT_FILE_PATH (str: a path or a URL FFmpeg can open)
    Options: start_time_s, end_time_s, thread_type ("AUTO"),
             on_error ("FAIL" | "WARN" | "SKIP")

    Example config:
        node { calculator: "VideoDecoderCalculator"
               input_side_packet: "INPUT_FILE_PATH:input_video_path"
               output_stream: "VIDEO:input_video"
               output_stream: "VIDEO_PRESTREAM:input_video_header" }
    """

    Options = VideoDecoderCalculatorOptions
    timestamp_offset = None

    input_file_path = SideInput(str, tag="INPUT_FILE_PATH")
    video = Output(ImageFrame, tag="VIDEO")
    header = Output(VideoHeader, tag="VIDEO_PRESTREAM", optional=True)
    audio = Output(AudioFrame, tag="AUDIO", optional=True)

    def open(self, cc: CalculatorContext) -> None:
        self._av = av = require("av", purpose="VideoDecoderCalculator")
        self._path = path = os.fspath(cc.side(self.input_file_path))
        _check_local_file(path)
        try:
            # Tags are often Latin-1 (or damaged); a strict decode would refuse the whole file.
            self._container = av.open(path, "r", metadata_errors="replace",
                                      options=open_options(path, self.options.demuxers))
        except av.error.FFmpegError as exc:
            refused = refused_message(path, exc)
            raise ValueError(refused or f"cannot open video '{path}': not a media file "
                             f"FFmpeg can read ({exc.strerror or exc})") from exc
        try:
            self._setup(cc)
        except BaseException:
            self._container.close()
            raise

    def _setup(self, cc: CalculatorContext) -> None:
        container, path = self._container, self._path
        if not container.streams.video:
            raise ValueError(f"no video stream in '{path}'")
        vstream = container.streams.video[0]
        vctx = vstream.codec_context
        if vctx is None or vctx.codec is None:
            raise ValueError(f"'{path}': no decoder for its video codec")
        vstream.thread_type = self.options.thread_type.upper()
        astream = None
        if cc.connected(self.audio) and container.streams.audio:
            astream = container.streams.audio[0]
            if astream.codec_context is None:
                astream = None  # no decoder for it: the AUDIO stream just ends
        self._vstream, self._astream = vstream, astream

        self._start = Timestamp.from_seconds(self.options.start_time_s)
        self._end = (Timestamp.from_seconds(self.options.end_time_s) if self.options.end_time_s
                     else None)
        if self._start > 0:
            container.seek(int(self._start), backward=True, any_frame=False)
        streams = [vstream] + ([astream] if astream is not None else [])
        self._streams = streams
        self._packets = container.demux(*streams)
        self._pending: dict[str, deque[tuple[int, Any]]] = {"video": deque(), "audio": deque()}
        self._last = {"video": int(Timestamp.UNSET), "audio": int(Timestamp.UNSET)}
        self._done = {"video": False, "audio": astream is None}
        self._eof = False
        self._damage: BaseException | None = None
        self._skipper = DamageSkipper(f"video '{self._path}'")
        self._video_count = 0
        self._last_duration: int | None = None
        self._first_call = True
        file_audio = container.streams.audio[0] if container.streams.audio else None
        self._header = _header(vstream, file_audio, container)

    def process(self, cc: CalculatorContext) -> Any:
        if self._first_call:
            self._first_call = False
            cc.send(self.header, self._header, timestamp=Timestamp.PRE_STREAM)
            if self._done["audio"]:
                cc.close_output(self.audio)
        item = self._next()
        if item is None:
            cc.close_output(self.audio)
            self._finish()
            return Stop
        kind, ts, payload = item
        if kind == "video":
            cc.send(self.video, payload, timestamp=ts)
            other, other_port = "audio", self.audio
        else:
            cc.send(self.audio, payload, timestamp=ts)
            other, other_port = "video", self.video
        queue = self._pending[other]
        if queue:
            cc.set_next_timestamp_bound(other_port, queue[0][0])
        elif self._done[other] or self._eof:
            cc.close_output(other_port)
        return None

    def close(self, cc: CalculatorContext) -> None:
        packets = getattr(self, "_packets", None)
        if packets is not None:
            packets.close()
        # Let go of the demuxer, the decoders and the frames read ahead now, rather than
        # whenever this instance is collected (a finished graph keeps its calculators).
        container, self._container = self._container, None
        self._packets = self._vstream = self._astream = None
        self._streams = []
        self._pending = {"video": deque(), "audio": deque()}
        container.close()

    # -- decoding ---------------------------------------------------------------------

    def _next(self) -> tuple[str, int, Any] | None:
        """The earliest decoded frame, reading ahead until both outputs have one."""
        pending = self._pending
        while (not self._eof
               and (not pending["video"] and not self._done["video"]
                    or not pending["audio"] and not self._done["audio"])
               and len(pending["video"]) + len(pending["audio"]) < _MAX_AHEAD):
            self._pull()
        heads = [(queue[0][0], kind) for kind, queue in pending.items() if queue]
        if not heads:
            return None
        _, kind = min(heads)
        ts, payload = pending[kind].popleft()
        return kind, ts, payload

    def _pull(self) -> None:
        """Demux and decode one packet into the pending queues."""
        av = self._av
        damaged = (av.error.FFmpegError, EOFError)
        try:
            packet = next(self._packets)
        except StopIteration:
            self._eof = True
            return
        except damaged as exc:
            if self._skip(exc):
                # The demuxer's generator ended with the error; a new one reads on from
                # where the container stands, past the damaged packet.
                self._packets = self._container.demux(*self._streams)
                return
            self._broken(exc)
            return
        try:
            frames = packet.decode()
        except damaged as exc:
            if not self._skip(exc):
                self._broken(exc)
            return
        self._skipper.good()
        self._add(frames)

    def _skip(self, exc: BaseException) -> bool:
        """With on_error SKIP, count a damaged packet and say whether to go on."""
        if self.options.on_error.upper() != "SKIP":
            return False
        if not self._skipper.skip(exc, f"after {self._video_count} frame(s)"):
            return False
        self.profile_info = self._skipper.profile_info
        return True

    def _broken(self, exc: BaseException) -> None:
        """The input broke here: keep what the decoders still hold, then end."""
        self._damage = exc
        self._eof = True
        self._add(self._flush_after_error())

    def _add(self, frames: list[Any]) -> None:
        for frame in frames:
            if isinstance(frame, self._av.VideoFrame):
                self._add_video(frame)
            else:
                self._add_audio(frame)

    def _flush_after_error(self) -> list[Any]:
        """Frames still held in the decoders (B-frame reordering) when the input broke."""
        frames: list[Any] = []
        for stream in (self._vstream, self._astream):
            if stream is None:
                continue
            try:
                frames.extend(stream.codec_context.decode(None))
            except (self._av.error.FFmpegError, EOFError):
                pass
        return frames

    def _add_video(self, frame: Any) -> None:
        if self._done["video"]:
            return
        ts = _micros(frame.pts, frame.time_base or self._vstream.time_base)
        if ts is None:  # no pts: one frame period after the last one
            rate = self._vstream.average_rate or Fraction(30)
            last = self._last["video"]
            ts = 0 if last == int(Timestamp.UNSET) else last + round(1_000_000 / rate)
        if ts < self._start:
            return
        if self._end is not None and ts >= self._end:
            self._done["video"] = True
            return
        ts = max(ts, self._last["video"] + 1)
        self._last["video"] = ts
        self._last_duration = _micros(getattr(frame, "duration", None),
                                      frame.time_base or self._vstream.time_base)
        self._video_count += 1
        if _is_plain_i420(frame):
            # Kept as YUV planes; RGB is made only if a consumer needs it, by the same
            # swscale conversion as below.
            planes = frame.to_ndarray()
            image = ImageFrame.from_i420(
                planes, functools.partial(colour.swscale_i420_to_rgb, planes))
        else:
            rgb = colour.reformatter().reformat(frame, format="rgb24").to_ndarray()
            image = ImageFrame(rgb, ImageFormat.SRGB)
        self._pending["video"].append((ts, image))

    def _add_audio(self, frame: Any) -> None:
        if self._done["audio"]:
            return
        rate = frame.sample_rate
        samples = _audio_samples(frame)
        ts = _micros(frame.pts, frame.time_base or self._astream.time_base)
        if ts is None:
            ts = 0 if self._last["audio"] == int(Timestamp.UNSET) else self._last["audio"] + 1
        if ts < self._start:  # drop the samples before the seek point
            skip = -(-(int(self._start) - ts) * rate // 1_000_000)
            if skip >= len(samples):
                return
            samples = samples[skip:]
            ts += skip * 1_000_000 // rate
        if self._end is not None:
            if ts >= self._end:
                self._done["audio"] = True
                return
            keep = -(-(int(self._end) - ts) * rate // 1_000_000)
            samples = samples[:keep]
        ts = max(ts, self._last["audio"] + 1)
        self._last["audio"] = ts
        self._pending["audio"].append((ts, AudioFrame(samples, rate)))

    def _finish(self) -> None:
        """At the end of the input: report damage, if any, per `on_error`."""
        reason = self._damage_reason()
        if reason is None:
            return
        last = self._last["video"]
        where = ("before the first frame" if last == int(Timestamp.UNSET)
                 else f"after {self._video_count} frame(s); last good timestamp {last} µs")
        message = f"video '{self._path}' is damaged or truncated {where}: {reason}"
        if self.options.on_error.upper() in ("WARN", "SKIP"):
            logger.warning("%s", message)
            return
        error = ValueError(message)
        error.__cause__ = self._damage
        raise Stop from error  # downstream still gets every good frame, then the run fails

    def _damage_reason(self) -> str | None:
        if self._damage is not None:
            return f"{type(self._damage).__name__}: {self._damage}"
        if self._end is not None:
            return None
        stream = self._vstream
        last = self._last["video"]
        if last == int(Timestamp.UNSET) and not self._start:
            listed = f" (the container lists {stream.frames})" if stream.frames else ""
            return f"not one frame could be read{listed}"
        # A clean EOF well before the duration the container declared is a cut file.
        expected_end = _declared_end(stream)
        if expected_end is None:
            return None
        rate = stream.average_rate or stream.guessed_rate or Fraction(30)
        period = round(1_000_000 / rate)
        # The last frame lasts its own duration (a still at the end of a variable-rate
        # video can last seconds), else one nominal period.
        reached = (int(self._start) if last == int(Timestamp.UNSET)
                   else last + max(period, self._last_duration or 0))
        if reached < expected_end - period - period // 2:
            return (f"the input ended at {reached} µs but the container says the video "
                    f"lasts until {expected_end} µs")
        return None


# FFmpeg's colorspace tags that swscale converts with BT.601 (unspecified, BT.470BG,
# SMPTE 170M) and the limited-range tags (unspecified, MPEG): what YCBCR420P means.
_BT601_COLORSPACES = (2, 5, 6)
_LIMITED_RANGES = (0, 1)


def _is_plain_i420(frame: Any) -> bool:
    """A yuv420p frame, even-sized, BT.601 limited range: one ImageFrame.from_i420 takes."""
    return (frame.format.name == "yuv420p" and not frame.width % 2 and not frame.height % 2
            and int(frame.colorspace) in _BT601_COLORSPACES
            and int(frame.color_range) in _LIMITED_RANGES)




def _check_local_file(path: str) -> None:
    if is_url(path):
        return
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"video file not found: '{path}'")
    if p.is_dir():
        raise IsADirectoryError(f"video path is a folder, not a file: '{path}'")
    if p.stat().st_size == 0:
        raise ValueError(f"video file is empty (0 bytes): '{path}'")


def _declared_end(stream: Any) -> int | None:
    """Where the container says the stream ends, in µs, if it says."""
    if stream.time_base is None:
        return None
    start = stream.start_time or 0
    if stream.duration is not None:
        return _micros(start + stream.duration, stream.time_base)
    # Matroska keeps a track's length only in its DURATION tag, "HH:MM:SS.nnnnnnnnn".
    tag = stream.metadata.get("DURATION")
    try:
        hours, minutes, seconds = tag.split(":")
        length = (int(hours) * 3600 + int(minutes) * 60 + Fraction(seconds)) * 1_000_000
    except (AttributeError, ValueError, ZeroDivisionError):
        return None
    return _micros(start, stream.time_base) + int(length)


def _micros(pts: int | None, time_base: Fraction | None) -> int | None:
    """`pts × time_base` in microseconds, rounded half-up, with exact integer math."""
    if pts is None or time_base is None:
        return None
    value = Fraction(pts) * Fraction(time_base) * 1_000_000
    return int((value + Fraction(1, 2)) // 1)


_AUDIO_SCALE = {"u8": (128.0, 128.0), "s16": (0.0, 32768.0), "s32": (0.0, 2147483648.0),
                "s64": (0.0, 9223372036854775808.0), "flt": (0.0, 1.0), "dbl": (0.0, 1.0)}


def _audio_samples(frame: Any) -> np.ndarray:
    """An audio frame as float32 samples x channels in [-1, 1]."""
    data = frame.to_ndarray()
    channels = frame.layout.nb_channels
    name = frame.format.name.rstrip("p")
    if frame.format.is_planar:
        data = data.T
    else:
        data = data.reshape(-1, channels)
    offset, scale = _AUDIO_SCALE.get(name, (0.0, 1.0))
    if data.dtype == np.float32 and not offset and scale == 1.0:
        return np.ascontiguousarray(data)
    return ((data.astype(np.float64) - offset) / scale).astype(np.float32)


def _header(vstream: Any, astream: Any, container: Any) -> VideoHeader:
    ctx = vstream.codec_context
    rate = vstream.average_rate or vstream.guessed_rate or 0
    duration = 0.0
    if vstream.duration is not None and vstream.time_base is not None:
        duration = float(vstream.duration * vstream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    frame_count = vstream.frames or (round(duration * rate) if rate else 0)
    # An audio track FFmpeg has no decoder for has no codec context: no rate, no channels.
    actx = astream.codec_context if astream is not None else None
    return VideoHeader(width=ctx.width, height=ctx.height, frame_rate=float(rate),
                       duration=duration, frame_count=int(frame_count), codec=ctx.name,
                       audio_sample_rate=actx.sample_rate if actx is not None else 0,
                       audio_channels=actx.layout.nb_channels if actx is not None else 0)
