"""What a grading needs from the datasets, loaded once: :class:`GradingData`.

The held-out images prepared exactly as the task contract says (shape, scale, float32),
their labels and fingerprint, and a fixed sample of the TRAINING split that is predicted
in the same child run to judge overfitting. ``grade`` takes this, it never loads data
itself, so a batch or a Ray cluster loads it once for every submission.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader import datasets
from grader.datasets import ProgressCallback, exported
from grader.errors import DatasetError, SpecError
from grader.tasks.spec import ModelContract, TaskSpec

TRAIN_SAMPLE = 1000
"""Training images predicted alongside the held-out set to measure overfitting."""
TRAIN_SEED = 20240501
"""Fixed seed: the same images every grading, so reports can show them again."""


@dataclass(frozen=True)
class TrainSample:
    """A fixed sample of the training split, prepared like the held-out inputs."""

    indices: np.ndarray
    """Positions in the training split, sorted."""
    inputs: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class GradingData:
    """A task's held-out set and training sample, ready to predict and score."""

    inputs: np.ndarray
    """Held-out images as the model is fed them."""
    labels: np.ndarray
    """Held-out labels: these never leave the grader's own process."""
    class_names: tuple[str, ...]
    sha256: str
    """Fingerprint of the held-out images and labels."""
    sample: TrainSample | None
    """The training sample, None when the dataset has no training split here."""

    @classmethod
    def load(cls, task: TaskSpec, *, on_progress: ProgressCallback | None = None) -> GradingData:
        """Load ``task``'s held-out split and training sample; a broken spec raises SpecError."""
        try:
            datasets.get_source(task.dataset.name)
        except DatasetError as err:  # a typo in task.toml: name the file and key
            raise SpecError(task.folder / "task.toml", "dataset.name", str(err)) from None
        heldout = datasets.load_heldout(task, on_progress=on_progress)
        if len(heldout.class_names) != task.model.classes:
            raise SpecError(
                task.folder / "task.toml",
                "model.classes",
                f"{task.model.classes} but dataset '{task.dataset.name}' has "
                f"{len(heldout.class_names)} classes",
            )
        return cls(
            inputs=prepare_inputs(heldout.images, task.model),
            labels=heldout.labels,
            class_names=heldout.class_names,
            sha256=heldout.sha256,
            sample=train_sample(task, on_progress=on_progress),
        )

    @property
    def joined(self) -> np.ndarray:
        """Held-out inputs followed by the training sample: one child run predicts both."""
        if self.sample is None:
            return self.inputs
        return np.concatenate([self.inputs, self.sample.inputs])


def prepare_inputs(images: np.ndarray, contract: ModelContract) -> np.ndarray:
    """Reshape and scale images exactly as the task contract says, as float32."""
    shape = (len(images), *contract.input_shape)
    if images[0].size != int(np.prod(contract.input_shape)):
        raise SpecError(
            "task.toml",
            "model.input_shape",
            f"{contract.input_shape} does not fit dataset images of shape {images.shape[1:]}",
        )
    inputs = images.reshape(shape).astype(np.float32)
    if contract.input_scale == "0-1":
        inputs /= np.float32(255.0)
    return inputs


def train_split(task: TaskSpec) -> str | None:
    """The dataset split the learner trains on: ``train`` unless that is the held-out one."""
    splits = datasets.get_source(task.dataset.name).splits
    others = [s for s in splits if s != task.dataset.heldout]
    return "train" if "train" in others else (others[0] if others else None)


def train_sample(
    task: TaskSpec, size: int = TRAIN_SAMPLE, *, on_progress: ProgressCallback | None = None
) -> TrainSample | None:
    """The seeded training sample for ``task``; None when the dataset has no training split.

    Where only the sampled rows were shipped (a Gradescope autograder's
    :func:`grader.datasets.exported.export_sample`), they are used when they are exactly
    the rows this seed and size pick from the whole split.
    """
    try:
        split = train_split(task)
        if split is None:
            return None
        shipped = exported.find_sample(task.dataset.name, split)
        if shipped is not None and np.array_equal(
            shipped.indices, sample_indices(shipped.total, size)
        ):
            rows = shipped.data
            return TrainSample(
                shipped.indices, prepare_inputs(rows.images, task.model), rows.labels
            )
        data = datasets.load(task.dataset.name, split, on_progress=on_progress)
    except DatasetError:
        return None  # no training data here: grade without the overfitting check
    indices = sample_indices(len(data), size)
    return TrainSample(
        indices, prepare_inputs(data.images[indices], task.model), data.labels[indices]
    )


def sample_indices(total: int, size: int = TRAIN_SAMPLE) -> np.ndarray:
    """The sorted positions of the seeded training sample in a split of ``total`` rows."""
    rng = np.random.default_rng(TRAIN_SEED)
    return np.sort(rng.choice(total, size=min(size, total), replace=False))


def mistake_images(task: TaskSpec, mistakes: list[list[int]]) -> list[tuple[np.ndarray, str, str]]:
    """Images of ``mistakes`` ([training index, true, predicted]) from the TRAINING split."""
    split = train_split(task)
    if split is None or not mistakes:
        return []
    data = datasets.load(task.dataset.name, split)
    names = data.class_names
    return [(data.images[i], names[t], names[p]) for i, t, p in mistakes if i < len(data)]
