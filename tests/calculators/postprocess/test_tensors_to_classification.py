"""TensorsToClassificationCalculator: binary handedness, top_k, filters, label maps."""

from __future__ import annotations

import numpy as np
import pytest

import mediagraph.calculators  # noqa: F401
from mediagraph.calculators.postprocess.tensors_to_classification import LabelMap, LabelMapEntry
from mediagraph.testing import CalculatorRunner

pytestmark = pytest.mark.timeout(60)
HANDEDNESS = {"top_k": 1, "binary_classification": True,
              "label_map": LabelMap(entries=(LabelMapEntry(id=0, label="Left"),
                                             LabelMapEntry(id=1, label="Right")))}


def classify(scores, options):
    out = CalculatorRunner("TensorsToClassificationCalculator", options=options).run(
        {"TENSORS": [([np.asarray(scores, np.float32)], 0)]})
    return [(c.index, round(c.score, 5), c.label)
            for c in out["CLASSIFICATIONS"][0].value.classification]


@pytest.mark.parametrize("score, expected", [(0.9, [(0, 0.9, "Left")]),
                                             (0.2, [(1, 0.8, "Right")])])
def test_binary_handedness_keeps_the_likelier_side(score, expected):
    assert classify([[score]], HANDEDNESS) == expected


def test_binary_without_top_k_gives_both_classes_in_order():
    assert classify([[0.3]], {"binary_classification": True}) == [(0, 0.3, ""), (1, 0.7, "")]


def test_top_k_sorts_by_score():
    assert classify([0.1, 0.7, 0.2, 0.5], {"top_k": 2}) == [(1, 0.7, ""), (3, 0.5, "")]


def test_threshold_and_ignore_classes_filter_before_sorting():
    options = {"min_score_threshold": 0.2, "ignore_classes": [1],
               "sort_by_descending_score": True}
    assert classify([0.1, 0.7, 0.2, 0.5], options) == [(3, 0.5, ""), (2, 0.2, "")]


def test_allow_classes_keeps_only_those():
    assert classify([0.1, 0.7, 0.2], {"allow_classes": [0, 2]}) == [(0, 0.1, ""), (2, 0.2, "")]


def test_label_map_path_reads_one_label_per_line(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    assert classify([0.4, 0.6], {"label_map_path": str(labels), "top_k": 1}) == \
        [(1, 0.6, "dog")]
