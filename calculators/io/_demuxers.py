"""What FFmpeg may open when a decoder reads a file: media containers, never playlists.

A playlist (`.m3u8`, DASH, `ffconcat`), an image-sequence pattern, a filter graph
(`lavfi`) or an SDP file makes FFmpeg open other files, or URLs, named inside the input
itself: a media path given to a graph would reach past what it names. So decoders open
with FFmpeg's own `format_whitelist` of single-file containers and, for a local path,
`protocol_whitelist: file`. A graph that really means to read a playlist lists its
demuxers in the decoder's `demuxers` option.
"""

from __future__ import annotations

import re

MEDIA_DEMUXERS = ",".join((
    "mov", "mp4", "matroska", "webm", "avi", "flv", "mpegts", "mpeg", "mpegvideo", "m4v",
    "ogg", "asf", "nut", "ivf", "mxf", "dv", "h264", "hevc", "mjpeg", "gif",
    "yuv4mpegpipe", "wav", "w64", "aiff", "caf", "mp3", "aac", "flac", "amr", "au", "wv",
    "ape", "tta", "loas", "ac3", "eac3", "dts", "truehd",
))

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path: str) -> bool:
    return bool(_URL.match(path))


def open_options(path: str, demuxers: str = "") -> dict[str, str]:
    """The options that keep FFmpeg to `path` itself (`demuxers`: "" for MEDIA_DEMUXERS)."""
    options = {"format_whitelist": demuxers or MEDIA_DEMUXERS}
    if not is_url(path):
        options["protocol_whitelist"] = "file"
    return options


def refused_message(path: str, exc: BaseException) -> str | None:
    """Why FFmpeg refused `path`, when it was the whitelist (a playlist or the like)."""
    text = str(exc)
    if "Invalid argument" in text or "format not on whitelist" in text.lower():
        return (f"'{path}' is not a single media file FFmpeg may open here (a playlist, "
                "image sequence or filter graph would open files it names itself); "
                "list its demuxer in the decoder's `demuxers` option to allow it")
    return None
