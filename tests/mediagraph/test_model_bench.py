"""`mediagraph models bench`: every installed backend, agreement with LiteRT, the files."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from mediagraph import model_bench, models
from mediagraph.cli import main
from mediagraph.errors import MissingDependencyError

pytestmark = pytest.mark.timeout(60)
MODEL = "face_detection_short_range.tflite"
# Loose: the raw box coordinates reach ~100; the bench's own table shows how close each is.
TOLERANCE = 5e-3


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    try:
        models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    out = tmp_path_factory.mktemp("bench")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(["models", "bench", "--models", MODEL, "--calls", "5", "--threads", "1",
                       "--out", str(out)])
    assert status == 0, stderr.getvalue()
    return out, stdout.getvalue(), stderr.getvalue()


def _installed() -> list[str]:
    return [b for b in model_bench.BACKENDS if model_bench.missing(b) is None]


def test_every_installed_backend_has_a_row_that_agrees_with_litert(bench_run):
    out, printed, _ = bench_run
    rows = list(csv.DictReader(open(out / "bench.csv")))
    assert [r["backend"] for r in rows if r["status"] == "ok"] == _installed()
    for row in rows:
        if row["status"] != "ok":
            assert row["status"] == "skipped", row
            continue
        diff = float(row["max_abs_diff"])
        assert diff == 0.0 if row["backend"] == "litert" else diff < TOLERANCE, row
        assert float(row["ms_median_t1"]) > 0 and float(row["ms_p95_t1"]) > 0
        assert float(row["load_s"]) >= 0 and float(row["peak_rss_mb"]) > 50
        if row["backend"] in model_bench.DELEGATES:  # decoded detections on the portrait
            assert row["detections"] == "1" and float(row["detection_iou"]) > 0.9, row
    assert "| face_detection_short_range | litert | 0 |" in printed


def test_the_json_holds_the_same_results(bench_run):
    out, _, _ = bench_run
    results = json.loads((out / "bench.json").read_text())
    assert [r["backend"] for r in results if r["status"] == "ok"] == _installed()
    assert all(r["latency_ms"]["1"]["median"] > 0 for r in results if r["status"] == "ok")


def test_the_chart_is_drawn_or_its_absence_names_the_extra(bench_run):
    out, _, errors = bench_run
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "pip install 'mediagraph[bench]'" in errors
        assert not (out / "bench.png").exists()
    else:
        assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_chart_without_matplotlib_is_skipped_naming_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not model_bench.draw([], 1, tmp_path / "bench.png")
    assert "pip install 'mediagraph[bench]'" in capsys.readouterr().err


def test_a_backend_that_does_not_import_is_a_skipped_row_naming_its_extra(monkeypatch):
    try:
        models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    monkeypatch.setitem(sys.modules, "ncnn", None)  # `import ncnn` fails
    results = model_bench.bench([MODEL], ["litert", "ncnn"], calls=2, threads=[1])
    assert [(r.backend, r.status) for r in results] == [("litert", "ok"), ("ncnn", "skipped")]
    assert "pip install 'mediagraph[ncnn]'" in results[1].reason


@pytest.mark.parametrize("error, status, operator, said", [
    (models.ModelConversionError("cannot convert: no DENSIFY", "DENSIFY"), "failed", "DENSIFY",
     "DENSIFY"),
    (MissingDependencyError("ncnn", "ncnn", "the ncnn backend"), "skipped", "",
     "pip install 'mediagraph[ncnn]'"),
])
def test_a_model_a_backend_cannot_convert_is_a_row_saying_why(monkeypatch, tmp_path, error,
                                                              status, operator, said):
    try:
        path = models.resolve(MODEL)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))

    def refuse(backend: str, source: Path) -> None:
        raise error

    monkeypatch.setattr(model_bench, "_convert", refuse)
    inputs = tmp_path / "in.npz"
    np.savez(inputs, np.zeros((1, 128, 128, 3), np.float32))
    row = model_bench.measure({"path": str(path), "backend": "ncnn", "inputs": str(inputs),
                               "image": "", "outputs": str(tmp_path / "out.npz"), "calls": 1,
                               "threads": [1]})
    assert (row["status"], row["operator"]) == (status, operator)
    result = model_bench.Result(**{k: v for k, v in row.items() if k != "boxes"})
    assert said in model_bench.table([result], [1])


def test_an_unknown_backend_is_refused(capsys):
    assert main(["models", "bench", "--backends", "litert,tensorrt"]) == 1
    assert "unknown backend(s) tensorrt" in capsys.readouterr().err


@pytest.mark.parametrize("a, b, expected", [
    ((0, 0, 1, 1), (0, 0, 1, 1), 1.0), ((0, 0, 1, 1), (1, 1, 1, 1), 0.0),
    ((0, 0, 2, 1), (1, 0, 2, 1), 1 / 3)])
def test_iou(a, b, expected):
    assert model_bench.iou(a, b) == pytest.approx(expected)
