"""VideoEncoderCalculator: frames (and audio) into a video file, encoded with PyAV."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from typing import Any

import numpy as np

from mediagraph import (Calculator, CalculatorContext, Input, Options,
                        SideInput, Timestamp, option)
from mediagraph import colour
from mediagraph.formats import AudioFrame, ImageFormat, ImageFrame
from mediagraph.optional import require
from mediagraph.staged_file import StagedFile

logger = logging.getLogger(__name__)

# MPEG's 90 kHz clock, else 1/30000 for codecs that cap the time base (MPEG-4 part 2):
# both are exact for 24, 25, 30, 50, 60 and the NTSC x/1.001 rates.
_VIDEO_TIME_BASES = (Fraction(1, 90_000), Fraction(1, 30_000))
_PIXEL_FORMATS = {ImageFormat.SRGB: "rgb24", ImageFormat.SRGBA: "rgba", ImageFormat.GRAY8: "gray",
                  ImageFormat.SBGRA: "bgra", ImageFormat.SRGB48: "rgb48le",
                  ImageFormat.GRAY16: "gray16le"}
_LAYOUTS = {1: "mono", 2: "stereo"}
_ENCODABLE = (*_PIXEL_FORMATS, ImageFormat.YCBCR420P)


_MIN_X264_FRAME_THREADS = 6


def _x264_frame_threads() -> int:
    """x264's own choice (1.5 frame threads per core), but at least 6.

    In a graph, decoding and inference share the cores with the encoder; more frames in
    flight let x264 fill the gaps they leave (3% more frames/s on 2 cores with 6 than
    with x264's 3). Frame threads do not change the output: x264 gives the same bytes.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(_MIN_X264_FRAME_THREADS, cores * 3 // 2)


class VideoEncoderCalculatorOptions(Options):
    codec: str = option(1, default="libx264", doc="FFmpeg encoder name")
    crf: int = option(2, default=-1, doc="constant rate factor (x264/x265/vpx); -1: codec default")
    bitrate: int = option(3, default=0, doc="bits per second; 0: codec default")
    pix_fmt: str = option(4, default="yuv420p")
    fps: float = option(5, default=0.0, proto="double",
                        doc="nominal frame rate; 0: the VIDEO_PRESTREAM header's, else 30")
    audio_codec: str = option(6, default="aac")
    audio_sample_rate: int = option(7, default=0, doc="0: the first audio frame's rate")
    audio_bitrate: int = option(8, default=0, doc="bits per second; 0: codec default")
    preset: str = option(9, default="", doc="encoder speed preset (x264/x265: ultrafast .. "
                         "placebo); empty: the codec's default (x264: medium)")
    threads: int = option(10, default=0, doc="encoder threads; 0: FFmpeg's automatic choice")
    codec_options: tuple[str, ...] = option(
        11, default=(), doc='more encoder options as "key=value" (FFmpeg AVOptions), e.g. '
        '"tune=zerolatency" or "x264-params=keyint=60"')
    thread_type: str = option(12, default="", doc='"frame" (throughput; x264/x265 output as '
                              'with one thread), "slice" (lower latency) or "auto"; empty: '
                              'frame for libx264/libx265, slice with tune=zerolatency')

    def check(self) -> None:
        for entry in self.codec_options:
            key, sep, _ = entry.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"codec_options entry {entry!r}: "
                                 'write "key=value", e.g. "tune=zerolatency"')
        if self.thread_type.lower() not in ("", "frame", "slice", "auto"):
            raise ValueError(f"thread_type {self.thread_type!r}: use frame, slice or auto")


class VideoEncoderCalculator(Calculator):
    """Encode frames (and audio) into a video file; the file is finished in `close()`.

    Frame presentation times come from the packet timestamps (microseconds, converted
    exactly to a 1/90000 time base), so variable frame rates survive; a timestamp that
    would not move the clock forward is nudged up by one tick. `close()` flushes the
    encoders and writes the container trailer, and the framework calls it even when
    the run fails or is cancelled, so a partial output still plays. Frames whose width
    or height is odd are cropped by one pixel for 4:2:0 pixel formats. Audio before
    timestamp 0 is dropped (the output starts at 0). A YCBCR420P frame (a decoded video
    frame, perhaps drawn on) goes to a yuv420p encoder as its planes, with no
    conversion; SRGB frames are converted by `mediagraph.colour.rgb_to_i420`.

    Inputs:  VIDEO (ImageFrame: SRGB, SRGBA, SBGRA, GRAY8, SRGB48, GRAY16 or YCBCR420P);
             AUDIO (AudioFrame, optional);
             VIDEO_PRESTREAM (VideoHeader, optional: its frame_rate sets the nominal fps)
    Outputs: none (a sink)
    Side inputs: OUTPUT_FILE_PATH (str; the suffix picks the container, e.g. .mp4)
    Options: codec ("libx264"), crf, preset, threads, thread_type (frame threads for x264 by
             default), codec_options ("key=value" AVOptions),
             bitrate, pix_fmt ("yuv420p"), fps, audio_codec ("aac"), audio_sample_rate,
             audio_bitrate. An option the encoder does not know fails at the first frame.

    Example config:
        node { calculator: "VideoEncoderCalculator"
               input_stream: "VIDEO:output_video"
               input_stream: "VIDEO_PRESTREAM:input_video_header"
               input_side_packet: "OUTPUT_FILE_PATH:output_video_path" }
    """

    Options = VideoEncoderCalculatorOptions
    timestamp_offset = None

    video = Input(ImageFrame, tag="VIDEO", formats=_ENCODABLE)
    audio = Input(AudioFrame, tag="AUDIO", optional=True)
    header = Input(Any, tag="VIDEO_PRESTREAM", optional=True)
    output_file_path = SideInput(str, tag="OUTPUT_FILE_PATH")

    def open(self, cc: CalculatorContext) -> None:
        self._av = require("av", purpose="VideoEncoderCalculator")
        self._path = path = os.fspath(cc.side(self.output_file_path))
        # Written beside the target and renamed over it when finalized: an existing file
        # is never truncated first, and a crash leaves no half file under its name.
        self._staged = StagedFile(path)
        try:
            self._container = self._av.open(os.fspath(self._staged.path), "w")
        except (self._av.error.FFmpegError, ValueError) as exc:
            self._staged.discard()
            raise ValueError(f"cannot write video '{path}': {exc}") from exc
        self._vstream: Any = None
        self._astream: Any = None
        self._fps: Fraction | None = None
        self._last_vpts: int | None = None
        self._next_apts = 0
        self.frames_written = 0
        self._time_base = _VIDEO_TIME_BASES[0]
        self._hold = False
        self._held: list[Any] = []
        self._started = False  # the container header is written: no more streams

    def process(self, cc: CalculatorContext) -> None:
        header = cc.get(self.header) if cc.connected(self.header) else None
        if header is not None and self._fps is None:
            rate = getattr(header, "frame_rate", 0)
            if rate:
                self._fps = Fraction(rate).limit_denominator(1001)
        sound = cc.packet(self.audio) if cc.connected(self.audio) else None
        image = cc.packet(self.video)
        # Muxing writes the container header, after which no stream can be added: hold
        # packets until each connected input has its stream or has ended.
        self._hold = (
            (self._vstream is None and image is None and cc.bound(self.video) < Timestamp.DONE)
            or (self._astream is None and sound is None and cc.connected(self.audio)
                and cc.bound(self.audio) < Timestamp.DONE))
        if sound is not None and self._astream is None:
            self._astream = self._add_audio_stream(sound[0])
        if image is not None:
            self._write_video(image[0], int(image[1]))
        if sound is not None:
            self._write_audio(sound[0], int(sound[1]))

    def close(self, cc: CalculatorContext) -> None:
        container = getattr(self, "_container", None)
        if container is None:
            return
        try:
            self._hold = False
            # Flush only encoders that took data: one that failed to start has nothing.
            if self.frames_written:
                self._mux(self._vstream.encode(None))
            if self._astream is not None and self._next_apts:
                self._mux(self._astream.encode(None))
        except BaseException:
            container.close()
            self._staged.discard()
            raise
        finally:
            self._release()
        container.close()
        if self.frames_written or self._next_apts:
            self._staged.commit()  # finalized: the run succeeded, stopped or was cancelled
        else:
            self._staged.discard()  # nothing was written: no empty file appears

    def _release(self) -> None:
        """Let go of the streams, so their encoders free their buffers and threads now
        (x264's lookahead and frame threads hold tens of MiB) rather than whenever this
        instance is collected: a finished graph keeps its calculators until it runs again."""
        self._vstream = self._astream = self._container = None
        self._held = []

    # -- encoding ---------------------------------------------------------------------

    def _mux(self, packets: list[Any]) -> None:
        if self._hold:
            self._held.extend(packets)
            return
        if self._held:
            packets = self._held + list(packets)
            self._held = []
        if packets:
            self._started = True
        self._container.mux(packets)

    def _write_video(self, image: ImageFrame, ts: int) -> None:
        av = self._av
        if not isinstance(image, ImageFrame):
            raise TypeError(f"VIDEO needs ImageFrame packets, not {type(image).__name__}")
        planar = image.format == ImageFormat.YCBCR420P
        if planar and self.options.pix_fmt != "yuv420p":
            image, planar = colour.convert(image, ImageFormat.SRGB), False
        pixel_format = "yuv420p" if planar else _PIXEL_FORMATS.get(image.format)
        if pixel_format is None:
            raise ValueError(f"cannot encode {image.format.name} images; convert to SRGB first")
        if self._vstream is None:
            self._vstream = self._add_video_stream(image)
        if (image.width, image.height) != (self._in_width, self._in_height):
            raise ValueError(f"frame at {ts} µs is {image.width}x{image.height}, but the "
                             f"video '{self._path}' started at {self._in_width}x{self._in_height}")
        if planar:
            # YUV planes from the decoder (or drawn on by the overlay): as they are, not
            # even copied (the array is read-only, and the frame keeps it alive).
            planes = image.data
            frame = (av.VideoFrame.from_numpy_buffer(planes, format="yuv420p")
                     if planes.flags.c_contiguous
                     else av.VideoFrame.from_ndarray(planes, format="yuv420p"))
            self._encode(frame, ts)
            return
        data = image.to_ndarray()[:self._height, :self._width]
        if pixel_format == "rgb24" and self.options.pix_fmt == "yuv420p":
            frame = av.VideoFrame.from_ndarray(colour.rgb_to_i420(data), format="yuv420p")
        else:
            if data.shape[2] == 1:
                data = data[:, :, 0]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(data), format=pixel_format)
        self._encode(frame, ts)

    def _encode(self, frame: Any, ts: int) -> None:
        pts = _scaled(ts, self._time_base)
        if self._last_vpts is not None and pts <= self._last_vpts:
            pts = self._last_vpts + 1
        self._last_vpts = pts
        frame.pts = pts
        frame.time_base = self._time_base
        self._mux(self._vstream.encode(frame))
        self.frames_written += 1

    def _codec_options(self) -> dict[str, str]:
        """crf, preset and codec_options as FFmpeg AVOptions (their form checked at validation)."""
        opts = self.options
        chosen = {}
        if opts.crf >= 0:
            chosen["crf"] = str(opts.crf)
        if opts.preset:
            chosen["preset"] = opts.preset
        for entry in opts.codec_options:
            key, _, value = entry.partition("=")
            chosen[key.strip()] = value.strip()
        return chosen

    def _thread_type(self) -> str:
        """FFmpeg's thread type for the encoder, or "" to leave PyAV's (slice) default.

        PyAV asks for slice threads, which makes x264 cut each frame into slices: about 15%
        slower on 2 cores than its frame threads, whose output is the same as one
        thread's. Frame threads delay output by a few frames, so zerolatency keeps slices.
        """
        opts = self.options
        kind = opts.thread_type.lower()
        if not kind:
            if opts.codec not in ("libx264", "libx265"):
                return ""
            live = any(e.replace(" ", "").lower() in ("tune=zerolatency",)
                       for e in opts.codec_options)
            kind = "slice" if live else "frame"
        return kind.upper()

    def _add_video_stream(self, image: ImageFrame) -> Any:
        opts = self.options
        if self._started:  # FFmpeg cannot add a stream once the header is out
            raise ValueError(f"video arrived after audio was written to '{self._path}'")
        fps = Fraction(opts.fps).limit_denominator(1001) if opts.fps else self._fps or Fraction(30)
        try:
            stream = self._container.add_stream(opts.codec, rate=fps)
        except (self._av.error.FFmpegError, ValueError) as exc:
            raise ValueError(f"cannot encode video '{self._path}' with codec "
                             f"{opts.codec!r}: {exc}") from exc
        self._in_width, self._in_height = image.width, image.height
        width, height = image.width, image.height
        if opts.pix_fmt.endswith(("420p", "422p", "420p10le", "nv12")):
            width, height = width // 2 * 2, height // 2 * 2
        if width == 0 or height == 0:
            raise ValueError(f"cannot encode a {image.width}x{image.height} image")
        self._width, self._height = width, height
        stream.width, stream.height, stream.pix_fmt = width, height, opts.pix_fmt
        if opts.bitrate:
            stream.bit_rate = opts.bitrate
        stream.codec_context.options = {**stream.codec_context.options,
                                        **self._codec_options()}
        thread_type = self._thread_type()
        if thread_type:
            stream.codec_context.thread_type = thread_type
        if opts.threads:
            stream.codec_context.thread_count = opts.threads
        elif thread_type == "FRAME" and opts.codec == "libx264":
            stream.codec_context.thread_count = _x264_frame_threads()
        for time_base in _VIDEO_TIME_BASES:
            stream.time_base = stream.codec_context.time_base = time_base
            try:
                stream.codec_context.open()
            except self._av.error.FFmpegError as exc:
                error = exc
                continue
            self._time_base = time_base
            # FFmpeg hands back the options no part of the encoder took: typos, or options
            # of another codec. Say so rather than encode with something else than asked.
            if unused := sorted(stream.codec_context.options):
                raise ValueError(f"codec {opts.codec!r} for '{self._path}' does not take "
                                 f"option {', '.join(unused)} (from crf, preset or "
                                 "codec_options)")
            return stream
        raise ValueError(f"cannot encode video '{self._path}' with codec {opts.codec!r} "
                         f"({width}x{height} {opts.pix_fmt}): {error}") from error

    def _write_audio(self, sound: AudioFrame, ts: int) -> None:
        av = self._av
        if not isinstance(sound, AudioFrame):
            raise TypeError(f"AUDIO needs AudioFrame packets, not {type(sound).__name__}")
        if self._astream is None:
            self._astream = self._add_audio_stream(sound)
        stream = self._astream
        samples = sound.to_ndarray()
        rate = int(sound.sample_rate)
        if rate != self._in_rate or sound.num_channels != self._in_channels:
            raise ValueError(f"audio at {ts} µs is {sound.num_channels} ch @ {rate} Hz, but the "
                             f"track started as {self._in_channels} ch @ {self._in_rate} Hz")
        pts = ts * rate // 1_000_000 if ts >= 0 else -((-ts * rate) // 1_000_000)
        if pts < self._next_apts:  # overlap (or before 0): drop what was already written
            samples = samples[self._next_apts - pts:]
            pts = self._next_apts
        if not len(samples):
            return
        self._next_apts = pts + len(samples)
        layout = _LAYOUTS.get(samples.shape[1])
        if layout is None:
            samples, layout = samples[:, :2], "stereo"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples).reshape(1, -1),
                                           format="flt", layout=layout)
        frame.sample_rate = rate
        frame.pts = pts
        frame.time_base = Fraction(1, rate)
        self._mux(stream.encode(frame))

    def _add_audio_stream(self, sound: AudioFrame) -> Any:
        opts = self.options
        if not isinstance(sound, AudioFrame):
            raise TypeError(f"AUDIO needs AudioFrame packets, not {type(sound).__name__}")
        if self._started:  # FFmpeg cannot add a stream once the header is out
            raise ValueError(f"audio arrived after video was written to '{self._path}'")
        self._in_rate = int(sound.sample_rate)
        self._in_channels = sound.num_channels
        rate = opts.audio_sample_rate or self._in_rate
        layout = _LAYOUTS.get(min(sound.num_channels, 2))
        try:
            stream = self._container.add_stream(opts.audio_codec, rate=rate, layout=layout)
        except (self._av.error.FFmpegError, ValueError) as exc:
            raise ValueError(f"cannot encode audio in '{self._path}' with codec "
                             f"{opts.audio_codec!r}: {exc}") from exc
        stream.time_base = Fraction(1, rate)
        if opts.audio_bitrate:
            stream.bit_rate = opts.audio_bitrate
        return stream


def _scaled(micros: int, time_base: Fraction) -> int:
    """`micros` µs in `time_base` ticks, rounded half-up, exactly."""
    value = Fraction(micros, 1_000_000) / time_base
    return int((value + Fraction(1, 2)) // 1)


