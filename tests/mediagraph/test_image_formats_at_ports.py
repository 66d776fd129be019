"""Ports declare the image formats they take; planar frames are converted at the read."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import mediagraph as mg
from mediagraph import colour
from mediagraph.formats import ImageFormat, ImageFrame
from mediagraph.testing import CalculatorRunner, values

pytestmark = pytest.mark.timeout(60)


class FmtSrgbOnly(mg.Calculator):
    """Declares SRGB only: sends what it read."""

    image = mg.Input(ImageFrame, formats=(ImageFormat.SRGB,))
    out = mg.Output(ImageFrame)

    def process(self, cc: mg.CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.image))


class FmtUndeclared(mg.Calculator):
    """A calculator written before planar frames: typed ImageFrame, no formats."""

    image = mg.Input(ImageFrame)
    out = mg.Output(ImageFrame)

    def process(self, cc: mg.CalculatorContext) -> None:
        cc.send(self.out, cc.packet(self.image)[0])


class FmtPlanar(mg.Calculator):
    image = mg.Input(ImageFrame, formats=(ImageFormat.SRGB, ImageFormat.YCBCR420P))
    out = mg.Output(ImageFrame)

    def process(self, cc: mg.CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.image))


class FmtAnything(mg.Calculator):
    """Typed Any: frames pass as they are (pass-through, flow limiting)."""

    value = mg.Input()
    out = mg.Output()

    def process(self, cc: mg.CalculatorContext) -> None:
        cc.send(self.out, cc.get(self.value))


class FmtMany(mg.Calculator):
    images = mg.Inputs(ImageFrame, tag="")
    out = mg.Output(list, tag="")

    def process(self, cc: mg.CalculatorContext) -> None:
        assert cc.has(self.images[0])
        cc.send(self.out, cc.get(self.images) + [p[0] for p in cc.packet(self.images)])


def i420(height: int = 4, width: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(16, 236, (height * 3 // 2, width), dtype=np.uint8)


def never_rgb() -> np.ndarray:
    raise AssertionError("the planar frame was converted")


def run_one(calculator: type, frame: ImageFrame, tag: str = "IMAGE") -> object:
    out = CalculatorRunner(calculator, outputs=["OUT"]).run({tag: [(frame, 0)]})
    return values(out["OUT"])[0]


@pytest.mark.parametrize("calculator", [FmtSrgbOnly, FmtUndeclared])
def test_a_decoded_frame_reaches_an_srgb_port_as_swscales_rgb(tmp_path, calculator):
    av = pytest.importorskip("av")
    from mediagraph.testing import samples

    clip = samples.make_video(tmp_path / "clip.mp4", frames=3, width=64, height=48, audio=False)
    decoded = CalculatorRunner("VideoDecoderCalculator", outputs=["VIDEO"]).run(
        {}, {"INPUT_FILE_PATH": str(clip)}, timeout=30)["VIDEO"]
    with av.open(str(clip)) as container:
        expected = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    frames = values(decoded)
    assert all(f.format == ImageFormat.YCBCR420P for f in frames)
    for frame, want in zip(frames, expected):
        got = run_one(calculator, frame)
        assert got.format == ImageFormat.SRGB and np.array_equal(got.data, want)


def test_a_port_declaring_planar_gets_the_planes_unconverted():
    frame = ImageFrame.from_i420(i420(), never_rgb)
    assert run_one(FmtPlanar, frame) is frame


def test_a_port_typed_any_passes_planar_frames_as_they_are():
    frame = ImageFrame.from_i420(i420(), never_rgb)
    assert run_one(FmtAnything, frame, tag="VALUE") is frame


def test_interleaved_frames_reach_an_undeclared_port_unchanged():
    frame = ImageFrame(np.zeros((4, 6, 3), np.uint8))
    assert run_one(FmtUndeclared, frame) is frame


def test_multiple_ports_convert_each_index_and_has_does_not_convert():
    calls: list[int] = []

    def to_rgb() -> np.ndarray:
        calls.append(1)
        return np.full((4, 6, 3), 9, np.uint8)

    frame = ImageFrame.from_i420(i420(), to_rgb)
    other = ImageFrame(np.ones((4, 6, 3), np.uint8))
    got = values(CalculatorRunner(FmtMany, outputs=[""]).run(
        {"": [(frame, 0)], ":1": [(other, 0)]})[""])[0]
    assert [f.format for f in got] == [ImageFormat.SRGB] * 4
    assert got[0] is got[2] and got[1] is other and got[3] is other
    assert int(got[0].data[0, 0, 0]) == 9 and calls == [1]


def test_two_consumers_convert_once():
    calls: list[int] = []
    lock = threading.Lock()

    def to_rgb() -> np.ndarray:
        with lock:
            calls.append(1)
        return np.full((4, 6, 3), 5, np.uint8)

    graph = mg.Graph("""
        input_stream: "frames"
        output_stream: "a"
        output_stream: "b"
        output_stream: "planes"
        node { calculator: "FmtSrgbOnly" input_stream: "IMAGE:frames" output_stream: "OUT:a" }
        node { calculator: "FmtUndeclared" input_stream: "IMAGE:frames" output_stream: "OUT:b" }
        node { calculator: "FmtPlanar" input_stream: "IMAGE:frames" output_stream: "OUT:planes" }
    """)
    frames = [ImageFrame.from_i420(i420(seed=i), to_rgb) for i in range(5)]
    out = graph.run({"frames": [(f, i) for i, f in enumerate(frames)]}, timeout=30)
    assert len(calls) == len(frames)
    for a, b, planes, sent in zip(values(out["a"]), values(out["b"]), values(out["planes"]),
                                  frames):
        assert a is b and a.format == ImageFormat.SRGB and int(a.data[0, 0, 0]) == 5
        assert planes is sent


def test_concurrent_conversions_of_one_frame_run_once():
    calls: list[int] = []
    gate = threading.Barrier(4)

    def to_rgb() -> np.ndarray:
        calls.append(1)
        return np.zeros((4, 6, 3), np.uint8)

    frame = ImageFrame.from_i420(i420(), to_rgb)
    results: list[ImageFrame] = []

    def consume() -> None:
        gate.wait(timeout=10)
        results.append(colour.convert(frame, ImageFormat.SRGB))

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert calls == [1] and len(results) == 4 and all(r is results[0] for r in results)


def test_rgb_converts_to_planes_and_back_within_rounding():
    rgb = ImageFrame(np.random.default_rng(1).integers(0, 256, (8, 10, 3), dtype=np.uint8))
    planar = colour.convert(rgb, ImageFormat.YCBCR420P)
    assert planar.format == ImageFormat.YCBCR420P and planar.shape == (8, 10, 3)
    assert colour.convert(planar, ImageFormat.SRGB).data.shape == (8, 10, 3)
    assert colour.convert(rgb, ImageFormat.SRGB) is rgb


def test_an_unknown_conversion_names_both_formats():
    gray = ImageFrame(np.zeros((4, 6), np.uint8))
    with pytest.raises(ValueError, match="GRAY8 to YCBCR420P"):
        colour.convert(gray, ImageFormat.YCBCR420P)


def test_a_planar_frame_says_so():
    frame = ImageFrame.from_i420(i420())
    assert frame.format == ImageFormat.YCBCR420P and "YCBCR420P" in repr(frame)
    y, u, v = frame.planes
    assert y.shape == (4, 6) and u.shape == v.shape == (2, 3)
    assert ImageFrame(frame.data, ImageFormat.YCBCR420P) == frame
    with pytest.raises(ValueError, match="not planar"):
        _ = ImageFrame(np.zeros((4, 6, 3), np.uint8)).planes
