"""Soak: long runs keep resident memory flat and every input queue within its limit.

Two runs, both marked `slow` (`pytest -m slow tests/reliability/test_soak.py -s`):

- 200,000 packets, each carrying a small numpy array, through a 20-node graph with
  pass-through chains, a three-way fan-out, a branch that drops every other packet,
  and a join, on the default handler (no FlowLimiter: back-pressure alone paces it).
- Ten minutes of 640x480 video at 30 fps (18,000 frames) through the real
  decode -> face detection -> encode graph (graphs/face_detection_video.pbtxt). A
  one-minute clip of a real face is generated once and decoded ten times in a row
  through FFmpeg's concat demuxer: the unchanged VideoDecoderCalculator reads one
  continuous 10-minute stream, at a tenth of the cost of generating the full file.

RSS is sampled from an output observer every 1% of the packets. The first 10% are
warm-up (allocator arenas, model buffers, profiler windows fill); the largest of the
last samples may exceed the sample taken at the end of warm-up by less than 5%.

Each sample first hands glibc's free pages back to the OS (`malloc_trim(0)`): 640x480
frames are 900 KB allocations made and freed on several threads, and glibc keeps
freed ones in per-thread arenas, so raw RSS wanders by several percent in steps with
no object alive behind them (tracemalloc shows the Python heap flat over a run). A
leak is memory still in use, which trimming never returns. Raw RSS is reported too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import mediagraph as mg
from mediagraph import models
from mediagraph.testing import samples
from mediagraph.profiler import GraphProfile

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[2]
FACE_GRAPH = ROOT / "graphs" / "face_detection_video.pbtxt"
FACE_MODEL = "face_detection_short_range.tflite"

SOAK_PACKETS = 200_000
PAYLOAD = 64  # float32 values per packet: small, but a leak of them shows within 200k
WARM_UP = 0.10  # fraction of the packets before the baseline sample
TAIL = 10  # samples at the end of a run whose largest is compared with the baseline
MAX_GROWTH = 0.05
MB = 1 << 20


def _malloc_trim():  # type: ignore[no-untyped-def]
    """glibc's malloc_trim, or a no-op where the C library has none (musl, macOS)."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


class RssSampler:
    """Resident memory, read every `step` packets seen by an output observer."""

    def __init__(self, total: int, samples_per_run: int = 100) -> None:
        self.total = total
        self.step = max(1, total // samples_per_run)
        self.count = 0
        self.last_timestamp: int | None = None
        self.samples: list[tuple[int, int, int]] = []  # (packets so far, raw rss, trimmed rss)
        self._process = psutil.Process()
        self._trim = _malloc_trim()
        self._lock = threading.Lock()

    def __call__(self, packet: mg.Packet) -> None:
        with self._lock:
            self.count += 1
            self.last_timestamp = int(packet.timestamp)
            if self.count % self.step == 0 or self.count == self.total:
                raw = self._process.memory_info().rss
                self._trim()
                self.samples.append((self.count, raw, self._process.memory_info().rss))

    def baseline(self, column: int = 2) -> int:
        """RSS at the end of warm-up: the first sample at or after WARM_UP of the packets."""
        warm = int(self.total * WARM_UP)
        return next(sample[column] for sample in self.samples if sample[0] >= warm)

    def final(self, column: int = 2) -> int:
        return max(sample[column] for sample in self.samples[-TAIL:])

    def growth(self, column: int = 2) -> float:
        return self.final(column) / self.baseline(column) - 1

    def report(self, label: str, profile: GraphProfile) -> str:
        peaks = ", ".join(f"{row.name.rsplit('__', 1)[-1]} {row.queue_text()}"
                          for row in profile.nodes if row.inputs)
        return (f"\n[soak] {label}: {self.count} packets in {profile.wall_s:.1f} s; RSS "
                f"(trimmed) warm-up {self.baseline() / MB:.1f} MB, end {self.final() / MB:.1f} "
                f"MB, growth {self.growth():+.2%}; raw RSS {self.baseline(1) / MB:.1f} -> "
                f"{self.final(1) / MB:.1f} MB ({self.growth(1):+.2%}); queue peaks: {peaks}")


def assert_queues_within_limits(profile: GraphProfile) -> None:
    over = [f"{row.name}: peak {row.queue_peak} > limit {row.queue_limit}"
            for row in profile.nodes if row.queue_limit and row.queue_peak > row.queue_limit]
    assert not over, "queues grew past max_queue_size: " + "; ".join(over)
    assert all(row.queue_limit for row in profile.nodes if row.inputs), \
        "every input queue should be bounded"


# -- 200,000 packets through 20 nodes -------------------------------------------------------


class SoakSourceCalculator(mg.Calculator):
    """Emit `count` packets; packet i is a frozen float32 array of PAYLOAD copies of i."""

    class Options(mg.Options):
        count: int = 10

    out = mg.Output(np.ndarray, tag="")

    def open(self, cc):
        self.next = 0

    def process(self, cc):
        if self.next >= self.options.count:
            return mg.Stop
        value = np.full(PAYLOAD, self.next, np.float32)
        value.flags.writeable = False
        cc.send(self.out, value, timestamp=self.next)
        self.next += 1
        return None


class SoakScaleCalculator(mg.Calculator):
    """A new array: the input times `factor` (allocates on every packet)."""

    class Options(mg.Options):
        factor: float = 1.0

    value = mg.Input(np.ndarray, tag="")
    out = mg.Output(np.ndarray, tag="")

    def process(self, cc):
        result = cc.get(self.value) * np.float32(self.options.factor)
        result.flags.writeable = False
        cc.send(self.out, result)


class SoakEvenOnlyCalculator(mg.Calculator):
    """Forward even timestamps only; odd ones leave a gap the join must not wait on."""

    value = mg.Input(np.ndarray, tag="")
    out = mg.Output(np.ndarray, tag="")

    def process(self, cc):
        if int(cc.input_timestamp) % 2 == 0:
            cc.send(self.out, cc.get(self.value))


class SoakJoinCalculator(mg.Calculator):
    """Sum the arrays present at a timestamp (absent inputs count as zero)."""

    inputs = mg.Inputs(np.ndarray, tag="")
    out = mg.Output(np.ndarray, tag="")

    def process(self, cc):
        present = [cc.get(self.inputs[i]) for i in range(cc.count(self.inputs))]
        total = sum(v for v in present if v is not None)
        cc.send(self.out, total)


class SoakCheckCalculator(mg.Calculator):
    """Fail unless the array at timestamp t is what the branches make of t."""

    value = mg.Input(np.ndarray, tag="")
    out = mg.Output(int, tag="")

    def process(self, cc):
        t = int(cc.input_timestamp)
        expected = 2 * t + 3 * t + (t if t % 2 == 0 else 0)
        value = cc.get(self.value)
        if value.shape != (PAYLOAD,) or value[0] != expected or value[-1] != expected:
            raise ValueError(f"at {t}: expected {expected}, got {value[:4]}...")
        cc.send(self.out, t)


def soak_config(count: int, max_queue_size: int = 16) -> str:
    """20 nodes, each named after its output stream:

        s0 -> a1..a4 -+-> b1 (x2) -> b2 -> b3 ------+
                      +-> c1 -> c2 (x3) -> c3 ------+-> j0 (sum) -> j1..j4 -> out (check)
                      +-> d1 (even only) -> d2 -> d3 +
    """
    def node(calculator: str, inputs: list[str], output: str, options: str = "") -> str:
        ins = "".join(f'input_stream: "{s}" ' for s in inputs)
        opts = (f" node_options {{ [type.googleapis.com/mediagraph.{calculator}.Options] "
                f"{{ {options} }} }}" if options else "")
        return (f'node {{ name: "{output}" calculator: "{calculator}" {ins}'
                f'output_stream: "{output}"{opts} }}')

    def chain(first: str, names: list[str]) -> list[str]:
        return [node("PassThroughCalculator", [previous], name)
                for previous, name in zip([first] + names, names)]

    nodes = [node("SoakSourceCalculator", [], "s0", f"count: {count}")]
    nodes += chain("s0", ["a1", "a2", "a3", "a4"])
    nodes += [node("SoakScaleCalculator", ["a4"], "b1", "factor: 2")] + chain("b1", ["b2", "b3"])
    nodes += chain("a4", ["c1"]) + [node("SoakScaleCalculator", ["c1"], "c2", "factor: 3")]
    nodes += chain("c2", ["c3"])
    nodes += [node("SoakEvenOnlyCalculator", ["a4"], "d1")] + chain("d1", ["d2", "d3"])
    nodes += [node("SoakJoinCalculator", ["b3", "c3", "d3"], "j0")]
    nodes += chain("j0", ["j1", "j2", "j3", "j4"])
    nodes += [node("SoakCheckCalculator", ["j4"], "out")]
    assert len(nodes) == 20
    return f"max_queue_size: {max_queue_size}\n" + "\n".join(nodes)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_200k_packets_through_20_nodes_keep_memory_flat_and_queues_bounded():
    graph = mg.Graph(soak_config(SOAK_PACKETS))
    sampler = RssSampler(SOAK_PACKETS)
    graph.observe_output_stream("out", sampler)
    graph.start_run()
    graph.wait_until_done(timeout=540)
    profile = graph.profile()
    print(sampler.report("200k packets x 20 nodes", profile))

    assert sampler.count == SOAK_PACKETS, "every packet reaches the end of the graph"
    assert sampler.last_timestamp == SOAK_PACKETS - 1
    assert len(profile.nodes) == 20
    calls = {row.name: row.calls for row in profile.nodes}
    assert calls["out"] == calls["d1"] == SOAK_PACKETS
    assert calls["d3"] == SOAK_PACKETS // 2  # the odd timestamps were dropped on branch d
    assert profile.total_dropped == 0
    assert_queues_within_limits(profile)
    assert sampler.growth() < MAX_GROWTH, sampler.report("RSS grew", profile)


# -- ten minutes of 640x480 video through decode -> face detection -> encode ---------------

VIDEO_FPS = 30
CLIP_FRAMES = 60 * VIDEO_FPS  # one minute, generated once
LOOPS = 10  # decoded back to back: 10 minutes, 18,000 frames


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_ten_minutes_of_video_through_face_detection_keep_memory_flat(tmp_path):
    try:
        models.resolve(FACE_MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    clip = samples.make_face_video(tmp_path / "face.mp4", frames=CLIP_FRAMES, width=640,
                                   height=480, fps=VIDEO_FPS)
    playlist = tmp_path / "ten_minutes.ffconcat"
    playlist.write_text("ffconcat version 1.0\n" + f"file '{clip.name}'\n" * LOOPS)
    total = CLIP_FRAMES * LOOPS
    output = tmp_path / "faces.mp4"

    graph = mg.Graph(FACE_GRAPH)
    sampler = RssSampler(total)
    found: Counter[bool] = Counter()  # frames with and without a face; two keys, no growth
    graph.observe_output_stream("output_video", sampler)
    graph.observe_output_stream("face_detections",
                                lambda packet: found.update((bool(packet.value),)))
    graph.start_run({"input_video_path": str(playlist), "output_video_path": str(output)})
    graph.wait_until_done(timeout=1000)
    profile = graph.profile()
    print(sampler.report(f"{total} frames 640x480 ({total // VIDEO_FPS} s of video)", profile))

    assert sampler.count == total
    assert found[True] >= 0.9 * total, f"a face found in only {found[True]} of {total} frames"
    assert profile.total_dropped == 0
    assert_queues_within_limits(profile)
    assert sampler.growth() < MAX_GROWTH, sampler.report("RSS grew", profile)

    import av

    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        assert (stream.width, stream.height) == (640, 480)
        decoded = sum(1 for _ in container.decode(stream))
        duration = float(stream.duration * stream.time_base)
    assert decoded == total, f"the output plays {decoded} frames, not {total}"
    assert duration == pytest.approx(total / VIDEO_FPS, abs=0.1)
