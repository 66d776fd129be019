"""`mediagraph.batch`: one graph run per file, local process pool and Ray, resumable manifest."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mediagraph as mg
from mediagraph import batch, models
from mediagraph.testing import samples

ROOT = Path(__file__).resolve().parents[2]
PASSTHROUGH = str(ROOT / "graphs" / "video_passthrough.pbtxt")
FACES = str(ROOT / "graphs" / "face_detection_video.pbtxt")
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """Five 10-frame clips and one corrupt one (the first 2% of a clip)."""
    folder = tmp_path_factory.mktemp("videos")
    for i in range(5):
        samples.make_video(folder / f"clip{i}.mp4", frames=10, width=160, height=120,
                           audio=False)
    samples.truncate(folder / "clip0.mp4", 0.02).rename(folder / "bad.mp4")
    return folder


def manifest_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / batch.MANIFEST).read_text().splitlines()]


def by_name(results) -> dict[str, batch.FileResult]:
    return {Path(r.input).name: r for r in results}


def check_first_run(results, out: Path) -> None:
    got = by_name(results)
    assert sorted(got) == ["bad.mp4"] + [f"clip{i}.mp4" for i in range(5)]
    assert [n for n, r in got.items() if r.status == "ok"] == [f"clip{i}.mp4" for i in range(5)]
    assert all(r.frames == 10 and Path(r.outputs[0]).is_file()
               for n, r in got.items() if n != "bad.mp4")
    lines = {Path(e["input"]).name: e for e in manifest_lines(out)}
    assert lines["bad.mp4"]["status"] == "failed" and "bad.mp4" in lines["bad.mp4"]["error"]
    assert lines["clip3.mp4"]["outputs"] == [str(out / "clip3_annotated.mp4")]
    assert {k for k in lines["clip3.mp4"]} >= {"input", "outputs", "status", "frames", "wall_s",
                                               "fps", "backend", "error"}


def check_rerun_skips_done_files(engine: str, videos: Path, out: Path, **kw) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    ran: list[str] = []
    results = batch.run(PASSTHROUGH, [str(videos / "*.mp4")], out, engine=engine,
                        progress=False, on_result=lambda r: ran.append(Path(r.input).name), **kw)
    assert ran == ["bad.mp4"]
    assert sorted(r.status for r in results) == ["failed"] + ["skipped"] * 5
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")
            if p.name != "bad_annotated.mp4"} == \
        {k: v for k, v in before.items() if k != "bad_annotated.mp4"}
    assert len(manifest_lines(out)) == 7


def test_local_engine_records_each_file_and_one_failure_does_not_stop_the_batch(videos, tmp_path):
    out = tmp_path / "out"
    results = batch.run(PASSTHROUGH, [str(videos / "*.mp4")], out, workers=2, progress=False)
    check_first_run(results, out)
    check_rerun_skips_done_files("local", videos, out, workers=2)


def test_a_missing_output_runs_its_file_again(videos, tmp_path):
    out = tmp_path / "out"
    batch.run(PASSTHROUGH, [str(videos / "clip[12].mp4")], out, workers=1, progress=False)
    (out / "clip1_annotated.mp4").unlink()
    ran: list[str] = []
    batch.run(PASSTHROUGH, [str(videos / "clip[12].mp4")], out, workers=1, progress=False,
              on_result=lambda r: ran.append(Path(r.input).name))
    assert ran == ["clip1.mp4"]


def test_retry_runs_a_failed_file_again(videos, tmp_path):
    results = batch.run(PASSTHROUGH, [str(videos / "bad.mp4")], tmp_path, retry=2,
                        progress=False)
    assert [(r.status, r.attempts) for r in results] == [("failed", 3)]
    assert len(manifest_lines(tmp_path)) == 1


@pytest.mark.parametrize("template, message", [
    ("{stem}{missing}.mp4", "unknown field"),
    ("same.mp4", "maps both"),
])
def test_bad_output_template_raises_before_running(videos, tmp_path, template, message):
    with pytest.raises(ValueError, match=message):
        batch.run(PASSTHROUGH, [str(videos / "clip*.mp4")], tmp_path,
                  output_template=template, progress=False)
    assert not (tmp_path / batch.MANIFEST).exists()


def test_cli_batch_writes_the_manifest_and_a_summary(videos, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "mediagraph", "batch", PASSTHROUGH, "--inputs",
         str(videos / "clip[34].mp4"), str(videos / "bad.mp4"), "--output-dir", str(tmp_path),
         "--workers", "2", "--output-template", "{stem}.out.mp4"],
        check=False, capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert result.returncode == 1, result.stderr  # one file failed
    assert "3 files: 2 ok, 0 skipped, 1 failed; 20 frames" in result.stdout
    assert (tmp_path / "clip3.out.mp4").is_file() and len(manifest_lines(tmp_path)) == 3


# -- Ray ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.ray
def test_ray_engine_matches_the_local_engine(local_ray, videos, tmp_path):
    local = batch.run(PASSTHROUGH, [str(videos / "*.mp4")], tmp_path / "local", workers=2,
                      progress=False)
    out = tmp_path / "ray"
    results = batch.run(PASSTHROUGH, [str(videos / "*.mp4")], out, engine="ray", progress=False)
    check_first_run(results, out)
    assert [(Path(r.input).name, r.status, r.frames) for r in results] == \
        [(Path(r.input).name, r.status, r.frames) for r in local]
    check_rerun_skips_done_files("ray", videos, out)
    assert local_ray.is_initialized()  # a Ray the caller started is left running


@pytest.mark.ray
def test_ray_engine_retries_failures(local_ray, videos, tmp_path):
    results = batch.run(PASSTHROUGH, [str(videos / "bad.mp4")], tmp_path, engine="ray",
                        retry=1, progress=False)
    assert [(r.status, r.attempts) for r in results] == [("failed", 2)]


def _model_graph(model_path: str) -> bytes:
    from mediagraph.config.loader import to_binary

    return to_binary(mg.parse_config(
        'input_stream: "t" node { calculator: "InferenceCalculator" input_stream: "TENSORS:t" '
        'output_stream: "TENSORS:o" node_options { [type.googleapis.com/'
        f'mediapipe.InferenceCalculatorOptions] {{ model_path: "{model_path}" }} }} }}'))


def test_shipped_models_are_content_addressed_on_the_worker(tmp_path, monkeypatch):
    from mediagraph import _batch_ray
    from mediagraph.config import pool

    driver, worker = tmp_path / "driver", tmp_path / "worker"
    driver.mkdir()
    (driver / "custom.tflite").write_bytes(b"model bytes")
    (driver / "custom.onnx").write_bytes(b"onnx twin")
    monkeypatch.setenv(models.ENV_VAR, str(driver))
    config, blobs = _batch_ray.ship_models(_model_graph("mediapipe/modules/x/custom.tflite"))
    digest = hashlib.sha256(b"model bytes").hexdigest()
    assert blobs == {digest: {"custom.tflite": b"model bytes", "custom.onnx": b"onnx twin"}}
    shipped = pool.CalculatorGraphConfig.FromString(config)
    assert f"sha256:{digest}/custom.tflite" in str(shipped)
    monkeypatch.setenv(models.ENV_VAR, str(worker))
    _batch_ray.install_models(blobs)
    _batch_ray.install_models(blobs)  # present: kept
    path = models.resolve(f"sha256:{digest}/custom.tflite")
    assert path == worker / "sha256" / digest / "custom.tflite"
    assert path.with_suffix(".onnx").read_bytes() == b"onnx twin"
    path.write_bytes(b"tampered")
    with pytest.raises(mg.ModelIntegrityError):
        models.resolve(f"sha256:{digest}/custom.tflite")


@pytest.mark.parametrize("files", [
    {"../../etc/evil": b"x"}, {".hidden": b"x"}, {"a/b.tflite": b"x"}])
def test_a_shipped_file_name_is_never_a_path(tmp_path, monkeypatch, files):
    from mediagraph import _batch_ray

    monkeypatch.setenv(models.ENV_VAR, str(tmp_path / "cache"))
    digest = hashlib.sha256(b"x").hexdigest()
    with pytest.raises(ValueError, match="bare file name"):
        _batch_ray.install_models({digest: files})
    with pytest.raises(ValueError, match="sha256"):
        _batch_ray.install_models({"../x": {"m.tflite": b"x"}})
    assert not (tmp_path / "etc").exists()


def test_a_model_outside_the_cache_is_shipped_only_when_named(tmp_path, monkeypatch):
    from mediagraph import _batch_ray

    monkeypatch.setenv(models.ENV_VAR, str(tmp_path / "cache"))
    secret = tmp_path / "secret.tflite"
    secret.write_bytes(b"not for workers")
    with pytest.raises(mg.GraphConfigError, match="outside the model cache"):
        _batch_ray.ship_models(_model_graph(str(secret)))
    monkeypatch.chdir(tmp_path)  # a file planted under a model's name beside the config
    with pytest.raises(mg.GraphConfigError, match="outside the model cache"):
        _batch_ray.ship_models(_model_graph("secret.tflite"))
    _, blobs = _batch_ray.ship_models(_model_graph(str(secret)), allowed=[secret])
    assert [list(files) for files in blobs.values()] == [["secret.tflite"]]


@pytest.mark.ray
def test_face_detection_counts_agree_across_engines(local_ray, tmp_path):
    try:
        models.resolve("face_detection_short_range.tflite")
    except FileNotFoundError:
        pytest.skip("face detection model not cached (mediagraph models fetch)")
    folder = tmp_path / "faces"
    folder.mkdir()
    for i, frames in enumerate((6, 9)):
        samples.make_face_video(folder / f"face{i}.mp4", frames=frames, width=320, height=240)
    runs = {engine: batch.run(FACES, [str(folder / "*.mp4")], tmp_path / engine, engine=engine,
                              workers=2, progress=False) for engine in ("local", "ray")}
    summary = {engine: [(Path(r.input).name, r.status, r.frames, r.backend) for r in results]
               for engine, results in runs.items()}
    assert summary["local"] == summary["ray"]
    assert [s[:3] for s in summary["local"]] == [("face0.mp4", "ok", 6), ("face1.mp4", "ok", 9)]
    assert all(s[3] for s in summary["local"])  # the inference backend is recorded


def interrupt(_result) -> None:
    raise KeyboardInterrupt  # what Ctrl-C does to the driver


@pytest.mark.parametrize("engine", ["local", pytest.param("ray", marks=pytest.mark.ray)])
def test_interrupt_cancels_the_remaining_files_and_a_rerun_resumes(engine, request, videos,
                                                                   tmp_path):
    if engine == "ray":
        request.getfixturevalue("local_ray")
    clips = [str(videos / "clip*.mp4")]
    with pytest.raises(KeyboardInterrupt):
        batch.run(PASSTHROUGH, clips, tmp_path, engine=engine, workers=1, progress=False,
                  on_result=interrupt)
    assert len(manifest_lines(tmp_path)) == 1
    ran: list[str] = []
    results = batch.run(PASSTHROUGH, clips, tmp_path, engine=engine, workers=1, progress=False,
                        on_result=lambda r: ran.append(r.input))
    assert len(ran) == 4 and [r.status for r in results].count("skipped") == 1


# -- planning that must never lose data or work ---------------------------------------------

@pytest.fixture()
def three(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4", "clip[1].mp4"):
        samples.make_video(folder / name, frames=4, width=64, height=48, audio=False)
    return folder


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_output_template_onto_the_inputs_is_refused(three):
    before = {p.name: _sha(p) for p in three.iterdir()}
    with pytest.raises(ValueError, match="is the same file as input"):
        batch.run(PASSTHROUGH, [str(three / "*.mp4")], three, output_template="{name}",
                  progress=False)
    assert {p.name: _sha(p) for p in three.iterdir()} == before


def test_a_literal_name_with_glob_characters_is_taken_as_it_is(three, tmp_path):
    results = batch.run(PASSTHROUGH, [str(three / "clip[1].mp4")], tmp_path / "out",
                        progress=False)
    assert [(Path(r.input).name, r.status) for r in results] == [("clip[1].mp4", "ok")]


def test_a_pattern_matching_nothing_is_an_error(three, tmp_path, capsys):
    with pytest.raises(ValueError, match="matches no file"):
        batch.run(PASSTHROUGH, [str(three / "*.mkv")], tmp_path / "out", progress=False)
    from mediagraph.cli import main

    assert main(["batch", PASSTHROUGH, "--inputs", str(three / "*.mkv"), "--output-dir",
                 str(tmp_path / "out"), "-q"]) == 2
    assert "matches no file" in capsys.readouterr().err


def test_an_output_dir_that_is_the_input_dir_never_takes_its_own_outputs(three):
    first = batch.run(PASSTHROUGH, [str(three / "*.mp4")], three, progress=False)
    assert sorted(Path(r.input).name for r in first) == ["a.mp4", "b.mp4", "clip[1].mp4"]
    again = batch.run(PASSTHROUGH, [str(three / "*.mp4")], three, progress=False)
    assert sorted((Path(r.input).name, r.status) for r in again) == [
        ("a.mp4", "skipped"), ("b.mp4", "skipped"), ("clip[1].mp4", "skipped")]
    assert not list(three.glob("*_annotated_annotated.mp4"))


def test_another_graph_or_template_into_the_same_folder_does_its_own_work(three, tmp_path):
    out = tmp_path / "out"
    batch.run(PASSTHROUGH, [str(three / "a.mp4")], out, progress=False)
    resized = str(ROOT / "graphs" / "video_resize.pbtxt")
    other_graph = batch.run(resized, [str(three / "a.mp4")], out,
                            output_template="{stem}_small.mp4", progress=False)
    assert [r.status for r in other_graph] == ["ok"] and (out / "a_small.mp4").is_file()
    other_template = batch.run(PASSTHROUGH, [str(three / "a.mp4")], out,
                               output_template="{stem}_copy.mp4", progress=False)
    assert [r.status for r in other_template] == ["ok"] and (out / "a_copy.mp4").is_file()
    same = batch.run(PASSTHROUGH, [str(three / "a.mp4")], out, progress=False)
    assert [r.status for r in same] == ["skipped"]


@pytest.mark.parametrize("line", [b'{"status": "ok"}', b'[1, 2]', b'"text"', b'\xff\xfe{}',
                                  b'{"input": 3}', b'{"input": "x", "outputs": "nope"}'])
def test_malformed_manifest_lines_are_left_out(tmp_path, line):
    (tmp_path / batch.MANIFEST).write_bytes(line + b"\n" + json.dumps(
        {"input": "/v/a.mp4", "status": "ok", "outputs": []}).encode() + b"\n")
    assert list(batch.read_manifest(tmp_path)) in (["/v/a.mp4"], ["x", "/v/a.mp4"])


@pytest.mark.timeout(30)
def test_symlink_loops_do_not_hang_the_input_glob(three, tmp_path):
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "clip.mp4").write_bytes((three / "a.mp4").read_bytes())
    for depth, folder in enumerate([tree, tree / "a", tree / "a" / "b"]):
        (folder / f"up{depth}").symlink_to(tree, target_is_directory=True)
        (folder / f"self{depth}").symlink_to(folder, target_is_directory=True)
    found = batch.expand_inputs([str(tree / "**" / "*.mp4")])
    assert found == [(tree / "a" / "b" / "clip.mp4").resolve()]
