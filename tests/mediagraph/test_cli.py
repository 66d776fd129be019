"""The command line: validate, show, run, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mediagraph.cli import main, parse_side

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]

CHAIN = """
node { calculator: "CountingSourceCalculator" output_stream: "n"
       node_options { [type.googleapis.com/mediagraph.CountingSourceCalculatorOptions] {
         count: 3 } } }
node { calculator: "PassThroughCalculator" input_stream: "n" output_stream: "out" }
"""


def test_parse_side_converts_numbers_and_bools():
    assert parse_side("count=3") == ("count", 3)
    assert parse_side("rate=0.5") == ("rate", 0.5)
    assert parse_side("on=true") == ("on", True)
    assert parse_side("path=a=b.mp4") == ("path", "a=b.mp4")


def test_validate_reports_ok_and_failures(tmp_path, capsys):
    good = tmp_path / "good.pbtxt"
    good.write_text(CHAIN)
    bad = tmp_path / "bad.pbtxt"
    bad.write_text('node {\n  calculator: "NoSuchCalculator"\n}\n')
    assert main(["validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "ok   " in out and "2 nodes" in out
    assert "FAIL" in out and "bad.pbtxt:1" in out and "NoSuchCalculator" in out


def test_validate_fails_a_graph_that_would_fail_at_run_time(tmp_path, capsys):
    path = tmp_path / "two_images.pbtxt"
    path.write_text('input_stream: "a"\ninput_stream: "b"\nnode {\n  name: "to_image"\n'
                    '  calculator: "ToImageCalculator"\n  input_stream: "IMAGE:a"\n'
                    '  input_stream: "IMAGE_CPU:b"\n  output_stream: "IMAGE:c"\n}\n')
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "two_images.pbtxt:3" in out and "'to_image'" in out
    assert "connect exactly one of IMAGE and IMAGE_CPU" in out


def test_run_prints_outputs_and_profile(tmp_path, capsys):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    assert main(["run", str(path), "--print-outputs"]) == 0
    out = capsys.readouterr().out
    assert "out @ 0: 0" in out and "out @ 2: 2" in out
    assert "PassThroughCalculator" in out and "calls" in out


def test_run_profile_shows_the_framework_apart_from_the_calculators(tmp_path, capsys):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    assert main(["run", str(path), "--profile", "-q"]) == 0
    out = capsys.readouterr().out
    assert "PassThroughCalculator" in out  # the table, though -q hides the rest
    assert "calculators" in out and "framework" in out and "calls fused" in out
    assert "before a call" in out and "wake-ups" in out


def test_run_refuses_graphs_with_inputs(tmp_path, capsys):
    path = tmp_path / "inputs.pbtxt"
    path.write_text('input_stream: "a" node { calculator: "PassThroughCalculator" '
                    'input_stream: "a" output_stream: "b" }')
    assert main(["run", str(path)]) == 2
    assert "graph input streams" in capsys.readouterr().err


def test_viz_prints_dot_and_writes_a_file(tmp_path, capsys):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    assert main(["viz", str(path)]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph") and '-> "PassThroughCalculator"' in dot
    assert main(["viz", str(path), "-o", str(tmp_path / "g.dot")]) == 0
    assert (tmp_path / "g.dot").read_text() == dot


def test_show_binary_round_trips(tmp_path, capsysbinary):
    import mediagraph as mg

    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    assert main(["show", str(path), "--format", "binary"]) == 0
    data = capsysbinary.readouterr().out
    assert mg.parse_config(data) == mg.load_config(path)


def test_input_and_output_map_onto_declared_side_packets(tmp_path, capsys):
    path = tmp_path / "sides.pbtxt"
    path.write_text('input_side_packet: "input_count" input_side_packet: "output_unused"\n'
                    + CHAIN.replace('output_stream: "n"',
                                    'output_stream: "n" input_side_packet: "COUNT:input_count"'))
    assert main(["run", str(path), "--input", "5", "--print-outputs", "-q"]) == 0
    out = capsys.readouterr().out
    assert "out @ 4: 4" in out and "out @ 5" not in out


def test_input_without_a_declared_side_packet_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    assert main(["run", str(path), "--input", "x.mp4"]) == 1
    assert "input_side_packet named input_" in capsys.readouterr().err


def test_output_into_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "sides.pbtxt"
    path.write_text('input_side_packet: "output_path"\n' + CHAIN)
    assert main(["run", str(path), "--output", str(tmp_path / "nope" / "out.mp4")]) == 1
    assert "nope" in capsys.readouterr().err


def test_calculators_lists_ports_and_version(capsys):
    assert main(["calculators"]) == 0
    out = capsys.readouterr().out
    assert "FlowLimiterCalculator:" in out and "FINISHED" in out
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("mediagraph ")


def test_ctrl_c_stops_a_run_cleanly(tmp_path):
    path = tmp_path / "endless.pbtxt"
    path.write_text(CHAIN.replace("count: 3", "count: 1000000000"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "mediagraph", "run", str(path),
                             "--print-outputs"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the graph is running once output appears
        assert first.startswith("out @")
        proc.send_signal(signal.SIGINT)
        start = time.monotonic()
        proc.wait(timeout=20)
        assert time.monotonic() - start < 10
        assert proc.returncode == 130
        assert "interrupted" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_demo_graph_runs():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "mediagraph", "run",
                          str(ROOT / "graphs" / "core_demo.pbtxt"), "--side", "count=6",
                          "--print-outputs"],
                         capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "pairs @" in out.stdout


def test_latency_flag_adds_the_latency_table(tmp_path, capsys):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    assert main(["run", str(path), "--latency"]) == 0
    out = capsys.readouterr().out
    assert "latency (enter -> sink" in out and "CountingSourceCalculator -> " in out


def test_process_timeout_flag_reports_a_hung_node(tmp_path):
    (tmp_path / "hangs_here.py").write_text(
        "import time\n"
        "from mediagraph import Calculator, Input\n"
        "class Hang(Calculator, register=False):\n"
        "    value = Input(tag='')\n"
        "    def process(self, cc):\n"
        "        time.sleep(60)\n")
    path = tmp_path / "hang.pbtxt"
    path.write_text(CHAIN.replace('"PassThroughCalculator" input_stream: "n" output_stream: "out"',
                                  '"hangs_here.Hang" input_stream: "n"'))
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}")
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "mediagraph", "run", str(path), "--quiet",
                          "--allow-import", "hangs_here", "--process-timeout", "0.3"],
                         capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert out.returncode == 1, out.stderr
    assert time.monotonic() - start < 20
    assert "hangs_here.Hang" in out.stderr and "process_timeout" in out.stderr
    assert "time.sleep(60)" in out.stderr  # the hung thread's stack


def test_a_library_graph_runs_by_name_from_any_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "core_demo", "--side", "count=4", "--print-outputs", "--quiet"]) == 0
    assert "pairs @ 3" in capsys.readouterr().out


def test_an_unknown_graph_name_suggests_close_ones(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "face_detection_vidoe"]) == 1
    out = capsys.readouterr().out
    assert "no graph file 'face_detection_vidoe'" in out and "face_detection_video" in out


def test_graphs_lists_the_library_with_descriptions(capsys):
    assert main(["graphs"]) == 0
    out = capsys.readouterr().out
    assert "face_detection_video" in out and "Face detection on a video file" in out
    assert "FaceDetectionShortRangeCpu" not in out  # subgraphs only with --all
    assert main(["graphs", "--all"]) == 0
    assert "FaceDetectionShortRangeCpu" in capsys.readouterr().out


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from mediagraph.testing import samples

    return samples.make_video(tmp_path_factory.mktemp("clip") / "a.mp4", frames=30, width=160,
                              height=120, audio=False)


@pytest.mark.parametrize("how", ["same path", "another path", "symlink", "hard link"])
def test_an_output_that_is_the_input_file_is_refused(clip, tmp_path, capsys, how):
    source = tmp_path / "in.mp4"
    source.write_bytes(clip.read_bytes())
    before = _sha(source)
    target = {"same path": source, "another path": tmp_path / "." / "in.mp4",
              "symlink": tmp_path / "link.mp4", "hard link": tmp_path / "hard.mp4"}[how]
    if how == "symlink":
        target.symlink_to(source)
    elif how == "hard link":
        os.link(source, target)
    assert main(["run", "video_passthrough", "-i", str(source), "-o", str(target), "-q"]) == 1
    assert "is the same file as input" in capsys.readouterr().err
    assert _sha(source) == before


def test_a_timeout_cancels_the_run_and_finalizes_the_output(tmp_path, capsys):
    from mediagraph.testing import samples

    import av

    source = samples.make_video(tmp_path / "long.mp4", frames=900, width=320, height=240,
                                audio=False)
    out = tmp_path / "out.mp4"
    assert main(["run", "edge_detection", "-i", str(source), "-o", str(out), "-q",
                 "--timeout", "0.5"]) == 1
    assert "did not finish within 0.5 s" in capsys.readouterr().err
    with av.open(str(out)) as container:  # playable: the encoder wrote its trailer
        decoded = sum(1 for _ in container.decode(video=0))
    assert 0 < decoded < 900


def test_trace_into_a_missing_folder_fails_before_the_run(tmp_path, capsys):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    assert main(["run", str(path), "-q", "--trace", str(tmp_path / "nope" / "t.json")]) == 1
    assert "nope" in capsys.readouterr().err


def test_trace_into_a_folder_writes_a_file_inside_it(tmp_path):
    path = tmp_path / "chain.pbtxt"
    path.write_text(CHAIN)
    (tmp_path / "traces").mkdir()
    assert main(["run", str(path), "-q", "--trace", str(tmp_path / "traces") + "/"]) == 0
    assert (tmp_path / "traces" / "mediagraph_trace.json").is_file()


def test_an_input_named_like_a_number_stays_a_file_name(tmp_path, monkeypatch):
    from mediagraph.file_run import convert_value, input_value

    monkeypatch.chdir(tmp_path)
    assert input_value("2024") == 2024  # no such file: a camera index
    (tmp_path / "2024").write_bytes(b"")
    assert input_value("2024") == "2024"
    assert convert_value("nan") == "nan" and convert_value("inf") == "inf"
    assert convert_value("1e3") == 1000.0


def test_an_error_is_printed_once(tmp_path, capsys):
    assert main(["run", "video_passthrough", "-i", str(tmp_path / "none.mp4"),
                 "-o", str(tmp_path / "o.mp4"), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("none.mp4") == 1, err


ESCAPE = "\x1b[2J\x1b]0;owned\x07"


@pytest.mark.parametrize("command", ["validate", "show", "viz", "run"])
def test_terminal_escapes_from_a_config_are_never_printed_raw(tmp_path, capsys, command):
    path = tmp_path / f"evil{ESCAPE}.pbtxt"
    path.write_text(f'node {{ name: "n{ESCAPE}" calculator: "Nope{ESCAPE}" }}\n'
                    if command in ("validate", "run") else
                    f'input_stream: "in" node {{ name: "n{ESCAPE}" calculator: '
                    f'"PassThroughCalculator" input_stream: "in" output_stream: "out" }}\n')
    main([command, str(path)])
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b" in captured.out + captured.err or "\\033" in captured.out  # show: octal


def test_frames_are_counted_where_the_output_is_written():
    from mediagraph.file_run import load_graph, progress_stream

    # the encoder's input (frames handed to the writer), not the decoder's output
    assert progress_stream(load_graph("face_detection_video", ())) == "output_video"
    assert progress_stream(load_graph("core_demo", ())) == "pairs"


def test_output_into_a_closed_pipe_ends_quietly():
    # `mediagraph graphs | head`: the reader is gone before the listing is written.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "mediagraph", "graphs"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 128 + signal.SIGPIPE
