"""Feedback that says why: hints keyed to mistakes found in the model itself.

Computed in the parent from the static inspection summary, the task contract and the scores.
Overfitting is judged from a fixed sample of the TRAINING split predicted in the same child
run as the held-out images (the child sees only inputs, never labels). Any image a report
shows comes from that training sample, never from held-out data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    import numpy as np

    from grader.inspect import ModelSummary
    from grader.tasks import TaskSpec

TRAIN_SAMPLE = 1000
"""Training images predicted alongside the held-out set to measure overfitting."""
TRAIN_SEED = 20240501
"""Fixed seed: the same images every grading, so reports can show them again."""
MAX_MISTAKES = 24
"""Misclassified training images kept (by index) for the visual report."""
OVERFIT_GAP = 0.10
"""Training accuracy this far above held-out accuracy is called overfitting."""
PARAMS_SHARE = 0.5
"""A model using this share of ``max_params`` or more is far larger than the task needs."""
_PROBABILITIES = ("softmax", "sigmoid")


@dataclass(frozen=True)
class TrainSample:
    """A fixed sample of the training split, prepared like the held-out inputs."""

    indices: np.ndarray
    """Positions in the training split, sorted."""
    inputs: np.ndarray
    labels: np.ndarray


def train_split(task: TaskSpec) -> str | None:
    """The dataset split the learner trains on: ``train`` unless that is the held-out one."""
    from grader import datasets

    splits = datasets.get_source(task.dataset.name).splits
    others = [s for s in splits if s != task.dataset.heldout]
    return "train" if "train" in others else (others[0] if others else None)


def train_sample(task: TaskSpec, size: int = TRAIN_SAMPLE) -> TrainSample | None:
    """The seeded training sample for ``task``; None when the dataset has no training split."""
    import numpy as np

    from grader import datasets
    from grader.errors import DatasetError
    from grader.grading import prepare_inputs

    try:
        split = train_split(task)
        if split is None:
            return None
        data = datasets.load(task.dataset.name, split)
    except DatasetError:
        return None  # no training data here: grade without the overfitting check
    rng = np.random.default_rng(TRAIN_SEED)
    indices = np.sort(rng.choice(len(data), size=min(size, len(data)), replace=False))
    return TrainSample(
        indices, prepare_inputs(data.images[indices], task.model), data.labels[indices]
    )


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
    if task.model.input_scale == "0-1" and summary.has_rescaling and short:
        found.append(
            "The task already feeds 0..1 floats and the model has a Rescaling/Normalization "
            "layer: if it divides by 255 again, every input is nearly black."
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
    return found


def joined(inputs: np.ndarray, sample: TrainSample | None) -> np.ndarray:
    """Held-out inputs followed by the training sample: one child run predicts both."""
    import numpy as np

    return inputs if sample is None else np.concatenate([inputs, sample.inputs])


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
    from grader.errors import InvalidModelError
    from grader.scoring import predicted_labels

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


def gallery(task: TaskSpec, mistakes: list[list[int]]) -> list[tuple[np.ndarray, str, str]]:
    """Images of ``mistakes`` ([training index, true, predicted]) from the TRAINING split."""
    from grader import datasets

    split = train_split(task)
    if split is None or not mistakes:
        return []
    data = datasets.load(task.dataset.name, split)
    names = data.class_names
    return [(data.images[i], names[t], names[p]) for i, t, p in mistakes if i < len(data)]
