"""The command line as hostile input: random argv over every subcommand, random files.

Every run is a real `python -m mediagraph` process with a time limit, over a sandbox of
files a user might point it at by mistake or on purpose: a video, configs good and bad,
garbage, an empty file, a FIFO, a device, symlinks (one looping), a folder, a config with
a huge comment header, names holding terminal escapes. None may print a traceback, hang
or change a byte of a file that was there before it ran.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediagraph.testing import samples

pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parents[2]
PER_RUN_S = 60
GOOD = ('node { calculator: "CountingSourceCalculator" output_stream: "n" '
        'node_options { [type.googleapis.com/mediagraph.CountingSourceCalculatorOptions] '
        '{ count: 3 } } }\n'
        'node { calculator: "PassThroughCalculator" input_stream: "n" output_stream: "out" }\n')


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    box = tmp_path_factory.mktemp("fuzz")
    samples.make_video(box / "clip.mp4", frames=6, width=64, height=48, audio=False)
    (box / "good.pbtxt").write_text(GOOD)
    (box / "bad.pbtxt").write_text('node { calculator: "Nope" input_stream: "x" }')
    (box / "garbage.binarypb").write_bytes(os.urandom(4096))
    (box / "empty.pbtxt").write_bytes(b"")
    (box / "huge_header.pbtxt").write_text("#" * 200 + "\n" * 1 + ("# x\n" * 200_000) + GOOD)
    (box / "evil\x1b[2J.pbtxt").write_text(f'node {{ name: "\x1b]0;t\x07" {GOOD[6:]}')
    os.mkfifo(box / "fifo.pbtxt")
    (box / "link.mp4").symlink_to(box / "clip.mp4")
    (box / "loop").symlink_to(box / "loop")
    (box / "folder").mkdir()
    (box / "folder" / "up").symlink_to(box, target_is_directory=True)
    return box


def _fingerprint(box: Path) -> dict[str, str]:
    """sha256 of every regular file there now (FIFOs and loops are not read)."""
    found = {}
    for path in sorted(box.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _argv(draw: st.DrawFn, box: Path) -> list[str]:
    files = [str(box / n) for n in ("clip.mp4", "good.pbtxt", "bad.pbtxt", "garbage.binarypb",
                                     "empty.pbtxt", "huge_header.pbtxt", "evil\x1b[2J.pbtxt",
                                     "fifo.pbtxt", "link.mp4", "loop", "folder", "missing.mp4")]
    files += ["/dev/zero", "/dev/null", "video_passthrough", "core_demo", "edge_detection",
              "face_detction_video", "", "-", "0", "2024", "nan"]
    path = st.sampled_from(files)
    out = st.sampled_from([str(box / "out" / "o.mp4"), str(box / "clip.mp4"), str(box / "o.srt"),
                           str(box / "link.mp4"), str(box / "nowhere" / "o.mp4"), str(box)])
    number = st.sampled_from(["1", "0", "-3", "2", "100000", "1e300", "nan", "x"])
    flag = st.one_of(
        st.tuples(st.just("--input"), path), st.tuples(st.just("--output"), out),
        st.tuples(st.just("--side"), st.sampled_from(["count=2", "x=", "=1", "count=nan",
                                                      "input_video_path=" + files[0]])),
        st.tuples(st.just("--threads"), number), st.tuples(st.just("--timeout"), number),
        st.tuples(st.just("--process-timeout"), number),
        st.tuples(st.just("--trace"), st.sampled_from([str(box / "t.json"), str(box) + "/",
                                                       str(box / "nope" / "t.json")])),
        st.tuples(st.just("--delegate"), st.sampled_from(["cpu", "gpu", "warp", ""])),
        st.tuples(st.sampled_from(["--quiet", "--latency", "--print-outputs", "--expanded",
                                   "--all", "--bogus"])),
        st.tuples(st.just("--format"), st.sampled_from(["pbtxt", "binary", "xml"])))
    command = draw(st.sampled_from(["run", "validate", "show", "viz", "graphs", "calculators",
                                    "version", "batch", "models", "nonsense"]))
    argv = [command]
    if command == "models":
        argv.append(draw(st.sampled_from(["list", "verify", "convert", "frobnicate"])))
    if command in ("run", "validate", "show", "viz", "batch") or draw(st.booleans()):
        argv.append(draw(path))
    if command == "batch":
        argv += ["--inputs", draw(st.sampled_from([str(box / "*.mp4"), str(box / "*.none"),
                                                   str(box / "**" / "*.mp4"), files[0]])),
                 "--output-dir", draw(st.sampled_from([str(box / "out"), str(box)])),
                 "--workers", "1", "-q"]
    for item in draw(st.lists(flag, max_size=4)):
        argv += list(item)
    return argv


@st.composite
def argvs(draw: st.DrawFn, box: Path) -> list[str]:
    return _argv(draw, box)


def _run(argv: list[str], box: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MEDIAGRAPH_EXPAND_TIMEOUT_S": "10"}
    return subprocess.run([sys.executable, "-m", "mediagraph", *argv], cwd=box, env=env,
                          capture_output=True, text=True, timeout=PER_RUN_S,
                          stdin=subprocess.DEVNULL)


def test_random_command_lines_never_traceback_hang_or_touch_an_input(sandbox):
    (sandbox / "out").mkdir(exist_ok=True)
    before = _fingerprint(sandbox)

    @settings(max_examples=int(os.environ.get("MEDIAGRAPH_FUZZ_EXAMPLES", "25")), deadline=None,
              database=None, suppress_health_check=list(HealthCheck))
    @given(argv=argvs(sandbox))
    def check(argv: list[str]) -> None:
        result = _run(argv, sandbox)  # subprocess.TimeoutExpired fails the test: a hang
        assert "Traceback" not in result.stderr, (argv, result.stderr[-3000:])
        assert result.returncode in (0, 1, 2), (argv, result.returncode, result.stderr[-2000:])
        after = {k: v for k, v in _fingerprint(sandbox).items() if k in before}
        assert after == before, argv
        for text in (result.stdout, result.stderr):
            assert "\x1b" not in text, (argv, text[-500:])

    check()
