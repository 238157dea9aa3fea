"""Every registered dataset: the held-out split is deterministic and shares no image with train.

Datasets that must be downloaded are skipped (with the reason) where they are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader import datasets
from grader.errors import DatasetMissingError
from grader.tasks import load_catalogue

REPO_TASKS = Path(__file__).resolve().parents[1] / "tasks"
HELDOUT = sorted(
    {(spec.dataset.name, spec.dataset.heldout) for spec in load_catalogue(REPO_TASKS)}
    | {(name, "test") for name in datasets.DATASETS}
)


def _load(name: str, split: str) -> datasets.Dataset:
    try:
        return datasets.load(name, split)
    except DatasetMissingError as err:
        pytest.skip(f"{name} is not on this machine: {err}")


@pytest.mark.parametrize(("name", "split"), HELDOUT)
def test_heldout_fingerprint_is_the_same_twice(name: str, split: str) -> None:
    first = _load(name, split)
    again = _load(name, split)
    assert again.sha256 == first.sha256
    assert datasets.fingerprint(again.images, again.labels) == first.sha256


@pytest.mark.parametrize(("name", "split"), HELDOUT)
def test_heldout_shares_no_image_with_train(name: str, split: str) -> None:
    heldout = _load(name, split)
    train = _load(name, "train")
    seen = {image.tobytes() for image in np.ascontiguousarray(train.images)}
    shared = [i for i, image in enumerate(heldout.images) if image.tobytes() in seen]
    assert not shared, f"{len(shared)} held-out images also in train, first at index {shared[0]}"
