"""Model outputs -> predicted labels -> metrics and score. Pure numpy, no TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.errors import InvalidModelError
from grader.result import ClassScore, Confusion

PROBABILITY_ACTIVATIONS = frozenset({"sigmoid", "hard_sigmoid"})


def predicted_labels(outputs: np.ndarray, classes: int, last_activation: str | None) -> np.ndarray:
    """Turn raw model outputs into integer labels, or refuse them as invalid.

    (N, C) probabilities or logits -> argmax. On a 2-class task a single unit, (N, 1) or
    (N,), is read as a sigmoid probability (> 0.5) when the last activation is sigmoid,
    else as a logit (> 0). NaN or inf anywhere makes the model invalid.
    """
    if outputs.dtype.kind != "f":
        raise InvalidModelError(f"model returned {outputs.dtype} outputs; expected floats")
    if not np.isfinite(outputs).all():
        bad = int((~np.isfinite(outputs)).any(axis=tuple(range(1, outputs.ndim))).sum())
        raise InvalidModelError(
            f"model returned NaN or inf for {bad} of {len(outputs)} held-out images; "
            "check for exploding training or a division by zero in preprocessing"
        )
    single_unit = outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1)
    if single_unit and classes == 2:
        flat = outputs.reshape(-1)
        cut = 0.5 if last_activation in PROBABILITY_ACTIVATIONS else 0.0
        return np.asarray(flat > cut, dtype=np.int64)
    if outputs.ndim == 2 and outputs.shape[1] == classes:
        return np.asarray(np.argmax(outputs, axis=1), dtype=np.int64)
    got = outputs.shape[1] if outputs.ndim == 2 else f"shape {outputs.shape}"
    raise InvalidModelError(
        f"model outputs {got} values per image; this task needs {classes} "
        f"(a final Dense({classes}, activation='softmax'))"
    )


@dataclass(frozen=True)
class Metrics:
    """Everything the report needs from predicted vs true labels."""

    accuracy: float
    per_class: list[ClassScore]
    confusion: list[list[int]]
    top_confusions: list[Confusion]


def compute_metrics(
    labels: np.ndarray, predictions: np.ndarray, class_names: tuple[str, ...], top: int = 3
) -> Metrics:
    """Accuracy, per-class accuracy, confusion matrix and the most common mistakes."""
    n = len(class_names)
    if labels.shape != predictions.shape:
        raise InvalidModelError(
            f"model returned {len(predictions)} predictions for {len(labels)} held-out images"
        )
    matrix = np.bincount(labels.astype(np.int64) * n + predictions, minlength=n * n).reshape(n, n)
    support = matrix.sum(axis=1)
    correct = np.diag(matrix)
    per_class = [
        ClassScore(
            label=i,
            name=class_names[i],
            accuracy=float(correct[i] / support[i]) if support[i] else 0.0,
            support=int(support[i]),
        )
        for i in range(n)
    ]
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:top]
    top_confusions = [
        Confusion(true=class_names[i // n], predicted=class_names[i % n], count=int(off.flat[i]))
        for i in order
        if off.flat[i] > 0
    ]
    return Metrics(
        accuracy=float(correct.sum() / len(labels)) if len(labels) else 0.0,
        per_class=per_class,
        confusion=matrix.tolist(),
        top_confusions=top_confusions,
    )


def score_for(value: float, tiers: tuple[float, ...]) -> int:
    """0..5: how many score tiers the value reaches."""
    return sum(1 for mark in tiers if value >= mark)
