"""Corrupt media through the decode calculators, one graph run per file, in a child process.

`tests/reliability/test_corrupt_media.py` writes small real clips (`make_sources`), mutates
them with a fixed seed (`mutate_all`) and runs this module as a child process:

    python -m tests.reliability._corrupt_worker MANIFEST.json RESULTS.jsonl

A native crash in FFmpeg would kill the process that hosts it, so the graphs run here,
not inside pytest. For every file of the manifest the worker prints `START <path>` to
stderr, runs it through a graph (VideoDecoderCalculator for video containers,
AudioDecoderCalculator for audio files) and appends one JSON line to RESULTS:

    {"file", "kind", "mutation", "media", "frames", "audio_frames", "last_timestamp",
     "error_type", "error_message", "error_is_mediagraph", "seconds", "timed_out"}

`frames` counts the primary stream (video frames for a video, audio frames for an audio
file) and `last_timestamp` is its last packet's timestamp in µs.

Each run waits at most `RUN_TIMEOUT_S`; a run still going then is cancelled and recorded
with `timed_out: true`, so a hang is reported rather than waited on.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RUN_TIMEOUT_S = 10.0
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi")
AUDIO_RATE = 22_050
AUDIO_SECONDS = 1.5

# (name, probability weight): byte flips and truncations, in the header and in the payload
MUTATIONS = (("flip_header", 3), ("flip_payload", 3), ("flip_many", 2),
             ("truncate_header", 2), ("truncate_payload", 3))


# -- sources -------------------------------------------------------------------------------

def make_sources(folder: Path) -> list[Path]:
    """Small real clips: H.264+AAC in .mp4 and .mkv, MPEG-4 Part 2 video in .avi, and
    a tone as 16-bit .wav, AAC .m4a, .mp3 and .flac."""
    import av

    from mediagraph.testing import samples

    folder.mkdir(parents=True, exist_ok=True)
    small = {"frames": 24, "width": 96, "height": 64, "fps": 24}
    paths = [samples.make_video(folder / "clip.mp4", **small),
             samples.make_video(folder / "clip.mkv", **small),
             _make_avi(av, folder / "clip.avi", **small)]
    t = np.arange(int(AUDIO_RATE * AUDIO_SECONDS)) / AUDIO_RATE
    rng = np.random.default_rng(7)
    tone = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    stereo = np.stack([tone, 0.5 * tone], axis=1).astype(np.float32)
    for name, codec in (("tone.wav", "pcm_s16le"), ("tone.m4a", "aac"),
                        ("tone.mp3", "libmp3lame"), ("tone.flac", "flac")):
        paths.append(_write_audio(av, folder / name, stereo, codec))
    return paths


def _make_avi(av: Any, path: Path, *, frames: int, width: int, height: int, fps: int) -> Path:
    from fractions import Fraction

    from mediagraph.testing.samples import video_frame

    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(video_frame(i, frames, width, height),
                                               format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    return path


def _write_audio(av: Any, path: Path, data: np.ndarray, codec: str) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=AUDIO_RATE, layout="stereo")
        stream.codec_context.open()
        ctx = stream.codec_context
        resampler = av.AudioResampler(format=ctx.format, layout="stereo", rate=AUDIO_RATE,
                                      frame_size=ctx.frame_size or 1024)
        frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="flt", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        for block in resampler.resample(frame) + resampler.resample(None):
            container.mux(stream.encode(block))
        container.mux(stream.encode(None))
    return path


# -- mutations -----------------------------------------------------------------------------

def header_size(size: int) -> int:
    """The bytes counted as "header": container boxes, codec setup, the first packet's start."""
    return max(16, min(2048, size // 8))


def mutate(source: Path, target: Path, kind: str, rng: random.Random) -> str:
    """Write a mutated copy of `source` to `target`; return a description of the mutation."""
    data = bytearray(source.read_bytes())
    size, head = len(data), header_size(len(data))
    if kind.startswith("truncate"):
        cut = rng.randrange(1, head) if kind == "truncate_header" else rng.randrange(head, size)
        target.write_bytes(bytes(data[:cut]))
        return f"{kind}: kept {cut} of {size} bytes"
    if kind == "flip_header":
        lo, hi, count = 0, head, rng.randint(1, 16)
    elif kind == "flip_payload":
        lo, hi, count = head, size, rng.randint(1, 32)
    else:  # flip_many: up to 2% of the bytes, anywhere
        lo, hi, count = 0, size, rng.randint(size // 500 + 1, size // 50 + 2)
    offsets = sorted(rng.sample(range(lo, hi), min(count, hi - lo)))
    for offset in offsets:
        data[offset] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
    target.write_bytes(bytes(data))
    return f"{kind}: {len(offsets)} byte(s) at {offsets[0]}..{offsets[-1]} of {size}"


def mutate_all(sources: list[Path], folder: Path, count: int, seed: int) -> list[dict]:
    """`count` mutated files, spread round-robin over `sources`; the manifest entries."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names, weights = zip(*MUTATIONS)
    manifest = []
    for i in range(count):
        source = sources[i % len(sources)]
        kind = rng.choices(names, weights)[0]
        target = folder / f"{i:03d}_{kind}_{source.name}"
        description = mutate(source, target, kind, rng)
        manifest.append({"file": str(target), "kind": kind, "mutation": description,
                         "media": "video" if source.suffix in VIDEO_SUFFIXES else "audio"})
    return manifest


# -- one run -------------------------------------------------------------------------------

_VIDEO_GRAPH = """
input_side_packet: "input_video_path"
node {
  calculator: "VideoDecoderCalculator"
  input_side_packet: "INPUT_FILE_PATH:input_video_path"
  output_stream: "VIDEO:video"
  output_stream: "VIDEO_PRESTREAM:header"
  output_stream: "AUDIO:audio"
}
"""

_AUDIO_GRAPH = """
input_side_packet: "input_audio_path"
node {
  calculator: "AudioDecoderCalculator"
  input_side_packet: "INPUT_FILE_PATH:input_audio_path"
  output_stream: "AUDIO:audio"
  output_stream: "AUDIO_HEADER:header"
}
"""


def run_one(entry: dict, timeout: float = RUN_TIMEOUT_S) -> dict:
    """Decode one file in a fresh graph; count what came out and how the run ended."""
    import mediagraph.calculators  # noqa: F401  (registers the decoders)
    from mediagraph import Graph

    video = entry["media"] == "video"
    graph = Graph(_VIDEO_GRAPH if video else _AUDIO_GRAPH)
    counts = {"video": 0, "audio": 0}
    last = {"video": None, "audio": None}

    def counter(stream: str):
        def count(packet: Any) -> None:
            counts[stream] += 1
            last[stream] = int(packet.timestamp)
        return count

    if video:
        graph.observe_output_stream("video", counter("video"))
    graph.observe_output_stream("audio", counter("audio"))
    error: BaseException | None = None
    timed_out = False
    start = time.monotonic()
    try:
        graph.start_run({"input_video_path" if video else "input_audio_path": entry["file"]})
        graph.wait_until_done(timeout=timeout)
    except TimeoutError as exc:
        timed_out, error = True, exc
        graph.cancel(timeout=5.0)
    except BaseException as exc:  # noqa: BLE001  (recorded, judged by the test)
        error = exc
    seconds = time.monotonic() - start
    primary = "video" if video else "audio"
    return {"file": entry["file"], "mutation": entry["mutation"], "kind": entry["kind"],
            "media": entry["media"], "frames": counts[primary], "audio_frames": counts["audio"],
            "last_timestamp": last[primary],
            "error_type": None if error is None else _type_name(error),
            "error_message": None if error is None else str(error),
            "error_is_mediagraph": error is not None and _is_mediagraph_error(error),
            "seconds": round(seconds, 3), "timed_out": timed_out}


def _type_name(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}"


def _is_mediagraph_error(error: BaseException) -> bool:
    from mediagraph import MediaGraphError

    members = getattr(error, "exceptions", None)  # an ExceptionGroup: every member counts
    if isinstance(members, tuple):
        return bool(members) and all(_is_mediagraph_error(e) for e in members)
    return isinstance(error, MediaGraphError)


def main(argv: list[str]) -> int:
    manifest_path, results_path = argv
    manifest = json.loads(Path(manifest_path).read_text())
    with open(results_path, "w", encoding="utf-8") as results:
        for entry in manifest:
            print(f"START {entry['file']}", file=sys.stderr, flush=True)
            results.write(json.dumps(run_one(entry)) + "\n")
            results.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
