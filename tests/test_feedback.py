"""Hints keyed to mistakes in the model itself, and the training-sample overfitting check."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from grader import datasets
from grader.datasets.base import Dataset, fingerprint
from grader.grading import feedback, inputs
from grader.grading.pipeline import grade_file
from grader.sandbox.static_check import ModelSummary
from grader.tasks.spec import TaskSpec
from tests.conftest import NAMES, ModelFactory, TinySource


def _summary(**fields: Any) -> ModelSummary:
    base = {
        "format": "keras",
        "class_names": ("Sequential", "Flatten", "Dense"),
        "n_params": 3_000,
        "last_activation": "softmax",
        "has_rescaling": False,
    }
    return ModelSummary(**{**base, **fields})


def _raw_pixels(task: TaskSpec) -> TaskSpec:
    return dataclasses.replace(task, model=dataclasses.replace(task.model, input_scale="0-255"))


def test_a_sound_model_gets_no_hints(tiny_task: TaskSpec) -> None:
    assert feedback.hints(tiny_task, _summary(), accuracy=0.95, train_accuracy=0.97) == []


def test_raw_pixels_without_rescaling(tiny_task: TaskSpec) -> None:
    (hint,) = feedback.hints(_raw_pixels(tiny_task), _summary(), accuracy=0.3)
    assert "Rescaling" in hint and "0..255" in hint
    assert feedback.hints(_raw_pixels(tiny_task), _summary(has_rescaling=True), accuracy=0.3) == []


def test_dividing_zero_one_inputs_by_255_again_is_hinted_with_the_scale(
    tiny_task: TaskSpec,
) -> None:
    again = _summary(has_rescaling=True, rescaling=((1 / 255, 0.0),))
    (hint,) = feedback.hints(tiny_task, again, accuracy=0.3)
    assert "multiplies them by 0.00392" in hint and "divides by 255 again" in hint
    pm1 = _summary(has_rescaling=True, rescaling=((1 / 127.5, -1.0),))  # meant for 0..255
    assert "divides by 255 again" in feedback.hints(tiny_task, pm1, accuracy=0.3)[0]
    assert feedback.hints(tiny_task, again, accuracy=0.95) == []  # passing: nothing to say


@pytest.mark.parametrize(
    "rescaling",
    [((2.0, -1.0),), ((1 / 255, 0.0), (255.0, 0.0)), ()],
    ids=["to-minus-one-one", "undone", "normalization-only"],
)
def test_rescaling_that_keeps_zero_one_inputs_readable_gets_no_255_hint(
    tiny_task: TaskSpec, rescaling: tuple[tuple[float, float], ...]
) -> None:
    summary = _summary(has_rescaling=True, rescaling=rescaling)
    assert feedback.hints(tiny_task, summary, accuracy=0.3) == []


def test_linear_multiclass_head_mentions_from_logits(tiny_task: TaskSpec) -> None:
    (hint,) = feedback.hints(tiny_task, _summary(last_activation="linear"), accuracy=0.95)
    assert "from_logits=True" in hint


def test_sigmoid_head_on_a_multiclass_task(tiny_task: TaskSpec) -> None:
    (hint,) = feedback.hints(tiny_task, _summary(last_activation="sigmoid"), accuracy=0.5)
    assert "sigmoid on a 4-class task" in hint and "softmax" in hint


def test_far_more_parameters_than_needed(tiny_task: TaskSpec) -> None:
    (hint,) = feedback.hints(tiny_task, _summary(n_params=90_000), accuracy=0.95)
    assert "90,000 parameters" in hint and "90%" in hint


def test_overfitting_names_both_accuracies(tiny_task: TaskSpec) -> None:
    (hint,) = feedback.hints(tiny_task, _summary(), accuracy=0.70, train_accuracy=0.99)
    assert "99.0% on training images" in hint and "70.0% held out" in hint
    assert feedback.hints(tiny_task, _summary(), accuracy=0.90, train_accuracy=0.95) == []


def test_train_sample_is_fixed_and_from_the_training_split(tiny_task: TaskSpec) -> None:
    first = inputs.train_sample(tiny_task, size=10)
    again = inputs.train_sample(tiny_task, size=10)
    assert first is not None and again is not None
    assert first.indices.tolist() == again.indices.tolist() and len(first.indices) == 10
    assert first.inputs.shape == (10, 28, 28, 1) and first.inputs.max() <= 1.0


class _ShiftedTest(TinySource):
    """Train split as tiny; the held-out split labels each pixel column one class later."""

    def load(self, split: str, *, on_progress: Any = None) -> Dataset:
        data = super().load(split)
        if split == "train":
            return data
        labels = ((data.labels + 1) % 4).astype(np.uint8)
        return Dataset(data.images, labels, NAMES, fingerprint(data.images, labels), "memory")


@pytest.mark.slow
def test_grading_reports_train_vs_heldout_and_flags_overfitting(
    tiny_task: TaskSpec, pixel_model: ModelFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(datasets.DATASETS, "tiny", _ShiftedTest())
    result = grade_file(tiny_task, pixel_model())
    assert result.value == 0.0 and result.train_value == 1.0
    assert result.train_mistakes == []
    assert any(h.startswith("Overfitting: 100.0% on training images") for h in result.hints)


@pytest.mark.slow
def test_grading_keeps_training_mistakes_and_logit_hint(
    tiny_task: TaskSpec, pixel_model: ModelFactory
) -> None:
    result = grade_file(tiny_task, pixel_model(activation="linear", permute=(0, 1, 3, 2)))
    assert result.train_value == pytest.approx(0.5) and result.value == pytest.approx(0.5)
    index, true, predicted = result.train_mistakes[0]
    assert (true, predicted) in {(2, 3), (3, 2)}
    train = datasets.load("tiny", "train")
    assert train.labels[index] == true  # an index into the training split
    assert any("from_logits=True" in h for h in result.hints)


def test_underfitting_when_training_and_held_out_are_both_far_below(tiny_task: TaskSpec) -> None:
    (hint,) = feedback.hints(tiny_task, _summary(), accuracy=0.601, train_accuracy=0.62)
    assert hint.startswith("Underfitting: 62.0% on training images and 60.1% held out")
    assert "90% pass mark" in hint and "epochs" in hint and "EarlyStopping's patience" in hint
    assert "learning rate" in hint


def test_no_underfitting_hint_near_the_pass_mark_or_without_a_training_sample(
    tiny_task: TaskSpec,
) -> None:
    assert feedback.hints(tiny_task, _summary(), accuracy=0.85, train_accuracy=0.86) == []
    assert feedback.hints(tiny_task, _summary(), accuracy=0.5) == []
    # A small training sample scoring low while held out passes is noise, not underfitting.
    assert feedback.hints(tiny_task, _summary(), accuracy=0.95, train_accuracy=0.7) == []


def _colour(task: TaskSpec, shape: tuple[int, int, int] = (64, 64, 3)) -> TaskSpec:
    return dataclasses.replace(task, model=dataclasses.replace(task.model, input_shape=shape))


def test_colour_input_size_mismatch_names_the_image_size_to_pass(tiny_task: TaskSpec) -> None:
    (hint,) = feedback.input_size_hint(_colour(tiny_task), [None, 150, 150, 3])
    assert hint == (
        "The model reads 150x150 images; the task feeds 64x64. If you load the class folders "
        "with image_dataset_from_directory, pass image_size=(64, 64) "
        "(and keras.Input((64, 64, 3)))."
    )


def test_no_image_size_hint_for_other_mismatches(tiny_task: TaskSpec) -> None:
    assert feedback.input_size_hint(_colour(tiny_task), [None, 64, 64, 3]) == []
    assert feedback.input_size_hint(_colour(tiny_task), [None, 64, 64, 1]) == []
    assert feedback.input_size_hint(tiny_task, [None, 32, 32, 1]) == []
    assert feedback.input_size_hint(_colour(tiny_task), None) == []


@pytest.mark.parametrize(
    ("accuracy", "hinted"),
    [(0.895, True), (0.89, True), (0.9, False), (0.8899, False), (0.5, False)],
)
def test_a_near_miss_within_a_point_of_the_mark_gets_a_hint(
    tiny_task: TaskSpec, accuracy: float, hinted: bool
) -> None:
    found = feedback.hints(tiny_task, _summary(), accuracy=accuracy)
    near = [h for h in found if h.startswith("Near miss")]
    assert bool(near) == hinted
    if hinted:
        gap = f"{(0.9 - accuracy) * 100:.2f}"
        assert near == [
            f"Near miss: {gap} points below the pass mark. Gaps this small usually close with "
            "a few more epochs, or a learning rate that decays for the last ones "
            "(ReduceLROnPlateau)."
        ]


def test_a_near_miss_on_colour_photos_also_suggests_augmentation(tiny_task: TaskSpec) -> None:
    colour = dataclasses.replace(
        tiny_task, model=dataclasses.replace(tiny_task.model, input_shape=(28, 28, 3))
    )
    (hint,) = feedback.hints(colour, _summary(), accuracy=0.895)
    assert hint.startswith("Near miss: 0.50 points below")
    assert hint.endswith(
        "or data augmentation (RandomFlip, RandomRotation, RandomZoom layers) "
        "for these colour photos."
    )
