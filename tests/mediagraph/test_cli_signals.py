"""`mediagraph run` and signals: SIGINT/SIGTERM cancel gracefully, a second one exits now.

Each test runs the CLI in a subprocess, waits until the run is visibly under way (a calculator
leaves a marker file), sends the signal and times the exit: the bound is 2 s from the signal
to the exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mediagraph.cli import main

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]
EXIT_BOUND_S = 2.0
FRAMES = 300

# Calculators for the subprocess, loaded with --allow-import. The pacer holds each frame for
# 10 ms so a 300-frame transcode lasts seconds on any machine, and marks frame 60; the slow
# sink marks its first packet and its close(), which takes 30 s: only a forced exit ends
# that run in time.
CALCS = '''
import time
from pathlib import Path

import mediagraph as mg

MARKS = Path(__file__).resolve().parent


class PacedPassThrough(mg.Calculator):
    frame = mg.Input(object, tag="VIDEO")
    out = mg.Output(object, tag="VIDEO")

    def open(self, cc):
        self.frames = 0

    def process(self, cc):
        time.sleep(0.01)
        cc.send(self.out, cc.get(self.frame))
        self.frames += 1
        if self.frames == 60:  # well past x264's lookahead: frames have been encoded
            (MARKS / "started").touch()


class SlowCloseSink(mg.Calculator):
    value = mg.Input(int, tag="")

    def process(self, cc):
        if cc.input_timestamp == 0:
            (MARKS / "started").touch()

    def close(self, cc):
        (MARKS / "closing").touch()
        time.sleep(30)
'''

TRANSCODE = """
input_side_packet: "input_video_path"
input_side_packet: "output_video_path"
node { calculator: "VideoDecoderCalculator"
       input_side_packet: "INPUT_FILE_PATH:input_video_path"
       output_stream: "VIDEO:decoded" output_stream: "VIDEO_PRESTREAM:header"
       output_stream: "AUDIO:audio" }
node { calculator: "sig_calcs.PacedPassThrough"
       input_stream: "VIDEO:decoded" output_stream: "VIDEO:paced" }
node { calculator: "VideoEncoderCalculator"
       input_stream: "VIDEO:paced" input_stream: "VIDEO_PRESTREAM:header"
       input_stream: "AUDIO:audio" input_side_packet: "OUTPUT_FILE_PATH:output_video_path" }
"""

SLOW_CLOSE = """
node { calculator: "CountingSourceCalculator" output_stream: "n"
       node_options { [type.googleapis.com/mediagraph.CountingSourceCalculatorOptions] {
         count: 1000000000 } } }
node { calculator: "sig_calcs.SlowCloseSink" input_stream: "n" }
"""


def _start(tmp_path: Path, graph: str, *args: str) -> subprocess.Popen[str]:
    (tmp_path / "sig_calcs.py").write_text(CALCS)
    config = tmp_path / "graph.pbtxt"
    config.write_text(graph)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    return subprocess.Popen([sys.executable, "-m", "mediagraph", "run", str(config),
                             "--allow-import", "sig_calcs", "--quiet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)


def _wait_for(condition, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early ({proc.returncode}): "
                                 f"{proc.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError("the run never got under way")
        time.sleep(0.02)


def _signal_and_time(proc: subprocess.Popen[str], signum: int) -> float:
    """Send `signum`, wait for the exit, return seconds from the signal to the exit."""
    proc.send_signal(signum)
    start = time.monotonic()
    proc.wait(timeout=30)
    return time.monotonic() - start


def _decoded_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.fixture
def source_video(tmp_path):
    from mediagraph.testing.samples import make_video

    return make_video(tmp_path / "in.mp4", frames=FRAMES, width=160, height=120)


@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                      (signal.SIGTERM, 143, "terminated")])
def test_signal_mid_file_finalizes_a_playable_partial_output(tmp_path, source_video, signum,
                                                             code, word):
    output = tmp_path / "out.mp4"
    proc = _start(tmp_path, TRANSCODE, "--input", str(source_video), "--output", str(output))
    try:
        # The .mp4 muxer writes little before its trailer, so the pacer marks the progress.
        _wait_for((tmp_path / "started").exists, proc)
        elapsed = _signal_and_time(proc, signum)
        stderr = proc.stderr.read()
        frames = _decoded_frames(output) if output.exists() else 0
        print(f"{signal.Signals(signum).name}: exit {elapsed:.2f} s after the signal, "
              f"{frames} of {FRAMES} frames in the output")
        assert proc.returncode == code, stderr
        assert elapsed < EXIT_BOUND_S, stderr
        assert f"{word}: the run was cancelled" in stderr
        assert 0 < frames < FRAMES
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_second_signal_exits_while_closing(tmp_path, signum, code):
    proc = _start(tmp_path, SLOW_CLOSE)
    try:
        _wait_for((tmp_path / "started").exists, proc)
        proc.send_signal(signum)
        _wait_for((tmp_path / "closing").exists, proc)  # the first signal's cancel is closing
        elapsed = _signal_and_time(proc, signum)
        stderr = proc.stderr.read()
        print(f"second {signal.Signals(signum).name}: exit {elapsed:.2f} s after the signal")
        assert proc.returncode == code, stderr
        assert elapsed < EXIT_BOUND_S, stderr
        assert f"{signal.Signals(signum).name} again: exiting now" in stderr
    finally:
        if proc.poll() is None:
            proc.kill()


CHAIN = """
node { calculator: "CountingSourceCalculator" output_stream: "n"
       node_options { [type.googleapis.com/mediagraph.CountingSourceCalculatorOptions] {
         count: 3 } } }
node { calculator: "PassThroughCalculator" input_stream: "n" output_stream: "out" }
"""


def test_run_restores_the_previous_signal_handlers(tmp_path):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    assert main(["run", str(path), "--quiet"]) == 0
    assert {s: signal.getsignal(s) for s in before} == before


def test_run_outside_the_main_thread_installs_no_handlers(tmp_path):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    codes = []
    thread = threading.Thread(target=lambda: codes.append(main(["run", str(path), "--quiet"])))
    thread.start()
    thread.join(timeout=30)
    assert codes == [0]
    assert {s: signal.getsignal(s) for s in before} == before
