"""Voice activity speed: graphs/voice_activity.pbtxt vs a plain loop over the same model.

Builds --minutes of audio (espeak-ng phrases between 1 s silences, repeated; pure
silence where espeak-ng is missing) as a 16 kHz wav, then measures the real-time
factor (audio seconds per wall second, median of --repeats) of

  graph: the whole graph from the file: decode + resample to 16 kHz mono 512-sample
         frames, SileroVadCalculator, SpeechSegmentsCalculator, SRT sink;
  loop:  a plain Python loop calling the same ONNX session with the same streaming
         protocol (SileroVad) over samples already in memory, in this process.

Both use one ORT intra-op thread with spinning off. The model session is loaded (and
cached) before timing.

    python benchmarks/bench_audio.py [--minutes 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import mediagraph.calculators  # noqa: F401
import mediagraph as mg
from mediagraph.calculators.audio.silero_vad import SileroVad
from mediagraph.testing.speech import (
    SpeechSynthesisUnavailable,
    make_speech,
    read_wav,
    write_wav,
)

ROOT = Path(__file__).resolve().parents[1]
GRAPH = ROOT / "graphs" / "voice_activity.pbtxt"
PHRASES = ["hello there, how are you today", "the quick brown fox jumps over the lazy dog",
           "one two three four five six", "see you tomorrow morning at nine"]
RATE = 16000


def make_audio(folder: Path, minutes: float) -> tuple[Path, np.ndarray, str]:
    try:
        path, _ = make_speech(folder / "block.wav", PHRASES, silence_s=1.0, rate=RATE)
        block, _ = read_wav(path)
        what = "espeak-ng speech with 1 s silences"
    except SpeechSynthesisUnavailable:
        block, what = np.zeros(RATE * 10, np.float32), "silence (espeak-ng missing)"
    total = int(minutes * 60 * RATE)
    samples = np.tile(block, total // len(block) + 1)[:total]
    return write_wav(folder / "audio.wav", samples, RATE), samples, what


def time_graph(audio: Path, out: Path) -> float:
    graph = mg.Graph(GRAPH)
    t0 = time.perf_counter()
    graph.run(side_packets={"input_audio_path": str(audio), "output_path": str(out)},
              timeout=600)
    return time.perf_counter() - t0


def time_loop(samples: np.ndarray) -> float:
    vad = SileroVad()
    t0 = time.perf_counter()
    for i in range(0, len(samples), 512):
        vad(samples[i:i + 512])
    return time.perf_counter() - t0


def time_loop_from_file(audio: Path) -> float:
    """The like-for-like loop: decode the same file with PyAV, frame it, run the model."""
    import av

    vad = SileroVad()
    t0 = time.perf_counter()
    pending = np.zeros(0, np.float32)
    with av.open(str(audio)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pending = np.concatenate([pending, out.to_ndarray().reshape(-1)])
                usable = len(pending) - len(pending) % 512
                for i in range(0, usable, 512):
                    vad(pending[i:i + 512])
                pending = pending[usable:]
    if len(pending):
        vad(np.pad(pending, (0, 512 - len(pending))))
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        audio, samples, what = make_audio(folder, args.minutes)
        seconds = len(samples) / RATE
        SileroVad()  # load and cache the session outside the timings
        graph_s = statistics.median(time_graph(audio, folder / "segments.srt")
                                    for _ in range(args.repeats))
        loop_s = statistics.median(time_loop(samples) for _ in range(args.repeats))
        file_loop_s = statistics.median(time_loop_from_file(audio) for _ in range(args.repeats))
        segments = (folder / "segments.srt").read_text().count(" --> ")
    graph_rtf, loop_rtf = seconds / graph_s, seconds / loop_s
    print(f"audio: {seconds / 60:.1f} min of {what}, {len(samples) // 512 + 1} frames; "
          f"{segments} segments; median of {args.repeats}")
    print(f"graph (decode + VAD + segments + SRT): {graph_s:6.2f} s  {graph_rtf:7.1f}x real time")
    print(f"plain loop (same ONNX session):        {loop_s:6.2f} s  {loop_rtf:7.1f}x real time")
    file_rtf = seconds / file_loop_s
    print(f"plain loop (decode file + same model): {file_loop_s:6.2f} s  {file_rtf:7.1f}x real time")
    print(f"graph / loop speed: {graph_rtf / loop_rtf:.2f} (audio in memory), "
          f"{graph_rtf / file_rtf:.2f} (both decode the file)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
