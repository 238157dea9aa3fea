"""Output interpretation and metrics: pure numpy, no TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from grader.errors import InvalidModelError
from grader.grading.scoring import compute_metrics, predicted_labels, score_for

NAMES = ("a", "b", "c")


def test_probabilities_and_logits_use_argmax() -> None:
    probs = np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]], dtype=np.float32)
    assert predicted_labels(probs, 3, "softmax").tolist() == [1, 0]
    logits = np.array([[-3.0, 2.0, 5.0], [9.0, -1.0, 0.0]], dtype=np.float32)
    assert predicted_labels(logits, 3, "linear").tolist() == [2, 0]


@pytest.mark.parametrize("shape", [(4, 1), (4,)])
def test_single_sigmoid_unit_cuts_at_one_half(shape: tuple[int, ...]) -> None:
    probs = np.array([0.2, 0.6, 0.5, 0.99], dtype=np.float32).reshape(shape)
    assert predicted_labels(probs, 2, "sigmoid").tolist() == [0, 1, 0, 1]


def test_single_logit_unit_cuts_at_zero() -> None:
    logits = np.array([[-0.1], [0.3], [0.2]], dtype=np.float32)
    assert predicted_labels(logits, 2, "linear").tolist() == [0, 1, 1]
    assert predicted_labels(logits, 2, None).tolist() == [0, 1, 1]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_outputs_are_invalid(bad: float) -> None:
    out = np.ones((5, 3), dtype=np.float32)
    out[2, 1] = bad
    with pytest.raises(InvalidModelError, match="NaN or inf for 1 of 5"):
        predicted_labels(out, 3, "softmax")


def test_wrong_number_of_classes_says_expected_and_got() -> None:
    with pytest.raises(InvalidModelError, match="outputs 5 values per image; this task needs 3"):
        predicted_labels(np.zeros((2, 5), dtype=np.float32), 3, "softmax")


def test_single_unit_on_a_multiclass_task_is_invalid() -> None:
    with pytest.raises(InvalidModelError, match="needs 3"):
        predicted_labels(np.zeros((2, 1), dtype=np.float32), 3, "sigmoid")


def test_integer_outputs_are_invalid() -> None:
    with pytest.raises(InvalidModelError, match="expected floats"):
        predicted_labels(np.zeros((2, 3), dtype=np.int32), 3, None)


def test_metrics_per_class_confusion_and_top_mistakes() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2], dtype=np.uint8)
    preds = np.array([0, 1, 1, 1, 1, 2, 0, 2])
    m = compute_metrics(labels, preds, NAMES)
    assert m.accuracy == 5 / 8
    assert [c.accuracy for c in m.per_class] == [1 / 3, 1.0, 2 / 3]
    assert [c.support for c in m.per_class] == [3, 2, 3]
    assert m.confusion == [[1, 2, 0], [0, 2, 0], [1, 0, 2]]
    assert [(c.true, c.predicted, c.count) for c in m.top_confusions] == [
        ("a", "b", 2),
        ("c", "a", 1),
    ]


def test_prediction_count_must_match_heldout() -> None:
    with pytest.raises(InvalidModelError, match="3 predictions for 4"):
        compute_metrics(np.zeros(4, np.uint8), np.zeros(3, np.int64), NAMES)


@pytest.mark.parametrize(
    ("value", "score"), [(0.5, 0), (0.80, 1), (0.8899, 3), (0.89, 4), (0.95, 5)]
)
def test_score_counts_tiers_reached(value: float, score: int) -> None:
    assert score_for(value, (0.80, 0.84, 0.87, 0.89, 0.91)) == score


def test_accuracy_at_exactly_the_mark_reaches_it() -> None:
    labels = np.zeros(10000, np.uint8)
    preds = np.concatenate([np.zeros(8900, np.int64), np.ones(1100, np.int64)])
    value = compute_metrics(labels, preds, ("x", "y")).accuracy
    assert value >= 0.89
    assert score_for(value, (0.80, 0.84, 0.87, 0.89, 0.91)) == 4
