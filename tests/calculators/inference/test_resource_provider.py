"""ResourceProviderCalculator: a resource id resolves to a file, as given or in the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph import MediaGraphError, models
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)


def provide(resource_id):
    runner = CalculatorRunner("ResourceProviderCalculator", side_outputs=["RESOURCE"])
    runner.run({}, {"RESOURCE_ID": resource_id})
    return runner.output_side_packets["RESOURCE"]


def test_an_existing_file_is_provided_as_its_path(tmp_path):
    model = tmp_path / "tiny.tflite"
    model.write_bytes(b"model")
    assert provide(str(model)) == model


def test_a_mediapipe_path_resolves_in_the_model_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIAGRAPH_MODELS", str(tmp_path))
    (tmp_path / "my_segmenter.tflite").write_bytes(b"model")  # not a pinned name
    found = provide("mediapipe/modules/selfie_segmentation/my_segmenter.tflite")
    assert isinstance(found, Path) and found == models.resolve("my_segmenter.tflite")


@pytest.mark.parametrize("resource_id, match", [
    ("nowhere/missing_model.tflite", "not found"), ("", "needs a path"), (3, "RESOURCE_ID")])
def test_bad_resource_id_raises(resource_id, match, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIAGRAPH_MODELS", str(tmp_path))
    with pytest.raises(MediaGraphError) as info:
        provide(resource_id)
    error: BaseException = info.value
    while error.__cause__ is not None:
        error = error.__cause__
    assert match in str(error)
