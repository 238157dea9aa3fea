"""Feedback that says why: hints keyed to mistakes found in the model itself.

Pure functions of the static inspection summary, the task contract, the scores and the
predictions: nothing here loads data. Overfitting is judged from a fixed sample of the
TRAINING split (:class:`grader.grading.inputs.TrainSample`) predicted in the same child run as the
held-out images (the child sees only inputs, never labels). Any image a report shows comes
from that training sample, never from held-out data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from grader.errors import InvalidModelError
from grader.grading.scoring import predicted_labels

if TYPE_CHECKING:
    import numpy as np

    from grader.grading.inputs import TrainSample
    from grader.sandbox.static_check import ModelSummary
    from grader.tasks.spec import TaskSpec

MAX_MISTAKES = 24
"""Misclassified training images kept (by index) for the visual report."""
OVERFIT_GAP = 0.10
"""Training accuracy this far above held-out accuracy is called overfitting."""
UNDERFIT_GAP = 0.10
"""Training and held-out accuracy both this far below the pass mark is called underfitting."""
NEAR_MISS = 0.01
"""Held-out accuracy this close below the pass mark (1 point) gets the near-miss hint."""
PARAMS_SHARE = 0.5
"""A model using this share of ``max_params`` or more is far larger than the task needs."""
DARKENS = 1 / 100
"""Rescaling layers that shrink 0..1 inputs to this span or less divide by 255 again."""
_PROBABILITIES = ("softmax", "sigmoid")


def train_check(sample: TrainSample, predicted: np.ndarray) -> tuple[float, list[list[int]]]:
    """Accuracy on the training sample and its first mistakes as [index, true, predicted]."""
    wrong = predicted != sample.labels
    mistakes = [
        [int(sample.indices[i]), int(sample.labels[i]), int(predicted[i])]
        for i in wrong.nonzero()[0][:MAX_MISTAKES]
    ]
    return float(1.0 - wrong.mean()), mistakes


def hints(
    task: TaskSpec,
    summary: ModelSummary,
    accuracy: float,
    train_accuracy: float | None = None,
    output_units: int | None = None,
) -> list[str]:
    """Advice keyed to what the model is, most likely cause first; empty when nothing stands out."""
    found: list[str] = []
    classes, act = task.model.classes, summary.last_activation
    short = accuracy < task.grading.threshold
    if task.model.input_scale == "0-255" and not summary.has_rescaling:
        found.append(
            "The task feeds raw 0..255 pixels and the model has no Rescaling layer: add "
            "keras.layers.Rescaling(1/255) as its first layer so training and grading agree."
        )
    scale = _overall_scale(summary)
    if task.model.input_scale == "0-1" and scale is not None and scale <= DARKENS and short:
        found.append(
            f"The task already feeds 0..1 floats and the model's Rescaling multiplies them by "
            f"{scale:.3g}: it divides by 255 again, so every input is nearly black. Remove "
            "that Rescaling layer (the task's pixels are already scaled)."
        )
    multi_unit = output_units is None or output_units > 1
    if classes > 2 and act == "sigmoid":
        found.append(
            f"The output layer uses sigmoid on a {classes}-class task: use "
            f"Dense({classes}, activation='softmax') with sparse_categorical_crossentropy."
        )
    elif multi_unit and act not in _PROBABILITIES and act is not None:
        found.append(
            f"The last activation is {act}, so the model outputs logits: fine for grading "
            "(argmax), but check your loss uses from_logits=True, or add softmax."
        )
    if summary.n_params >= PARAMS_SHARE * task.model.max_params:
        found.append(
            f"The model has {summary.n_params:,} parameters, "
            f"{summary.n_params / task.model.max_params:.0%} of the task's limit: far more "
            "than it needs. Fewer/smaller Dense layers, or pooling before Flatten, train "
            "faster and often generalize better."
        )
    if train_accuracy is not None and train_accuracy - accuracy > OVERFIT_GAP:
        found.append(
            f"Overfitting: {train_accuracy:.1%} on training images but {accuracy:.1%} held out "
            f"({(train_accuracy - accuracy) * 100:.1f} points apart). Add Dropout or data "
            "augmentation, or stop earlier (EarlyStopping on a validation split)."
        )
    threshold = task.grading.threshold
    if (
        train_accuracy is not None
        and train_accuracy < threshold - UNDERFIT_GAP
        and accuracy < threshold - UNDERFIT_GAP
    ):
        found.append(
            f"Underfitting: {train_accuracy:.1%} on training images and {accuracy:.1%} held out, "
            f"both far below the {threshold:.0%} pass mark: the model has not learned the "
            "training data yet. Train for more epochs, loosen EarlyStopping's patience (or "
            "drop it), and check the learning rate (too high diverges, too low barely moves)."
        )
    if threshold - NEAR_MISS <= accuracy < threshold:
        found.append(near_miss(task, accuracy))
    return found


def _overall_scale(summary: ModelSummary) -> float | None:
    """How much the model's Rescaling layers together stretch the input's span (the product
    of their scales; offsets only shift it); None when it has none."""
    if not summary.rescaling:
        return None
    span = 1.0
    for scale, _offset in summary.rescaling:
        span *= abs(scale)
    return span


def near_miss(task: TaskSpec, accuracy: float) -> str:
    """What usually closes a gap of under a point: training longer and more gently, and for
    colour photos, augmentation."""
    colour = task.model.input_shape[-1] == 3
    extra = (
        ", or data augmentation (RandomFlip, RandomRotation, RandomZoom layers) for these "
        "colour photos"
        if colour
        else ""
    )
    return (
        f"Near miss: {(task.grading.threshold - accuracy) * 100:.2f} points below the pass "
        "mark. Gaps this small usually close with a few more epochs, or a learning rate that "
        f"decays for the last ones (ReduceLROnPlateau){extra}."
    )


def input_size_hint(task: TaskSpec, model_input: object) -> list[str]:
    """For a colour-image task whose model wants another height and width: which
    ``image_size`` to read the folders at (empty when that is not the mismatch)."""
    want = tuple(task.model.input_shape)
    got = model_input[1:] if isinstance(model_input, list) else None
    if len(want) != 3 or want[2] != 3 or got is None or len(got) != 3 or got[2] != 3:
        return []
    if all(g is None or g == w for g, w in zip(got[:2], want[:2], strict=True)):
        return []
    height, width = want[:2]
    return [
        f"The model reads {got[0]}x{got[1]} images; the task feeds {height}x{width}. If you load "
        "the class folders with image_dataset_from_directory, pass "
        f"image_size=({height}, {width}) (and keras.Input(({height}, {width}, 3)))."
    ]


class Extras(TypedDict):
    """The Result fields feedback fills in."""

    hints: list[str]
    train_value: float | None
    train_mistakes: list[list[int]]


def extras(
    task: TaskSpec,
    summary: ModelSummary,
    accuracy: float,
    sample: TrainSample | None,
    train_outputs: np.ndarray,
    output_shape: object,
) -> Extras:
    """Result fields from feedback: ``hints``, ``train_value``, ``train_mistakes``."""
    train_value: float | None = None
    mistakes: list[list[int]] = []
    if sample is not None and len(train_outputs) == len(sample.labels):
        try:
            predicted = predicted_labels(train_outputs, task.model.classes, summary.last_activation)
        except InvalidModelError:
            predicted = None
        if predicted is not None:
            train_value, mistakes = train_check(sample, predicted)
    last = output_shape[-1] if isinstance(output_shape, list) and output_shape else None
    units = last if isinstance(last, int) else None
    return {
        "hints": hints(task, summary, accuracy, train_value, units),
        "train_value": train_value,
        "train_mistakes": mistakes,
    }
