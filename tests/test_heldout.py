"""Every registered dataset: the held-out split is deterministic and shares no image with train.

Nothing here downloads: $GRADER_DATASET_MIRROR points at a closed port, so a dataset that is
not on this machine is skipped (with the reason) instead of fetched. The determinism test
parses each split twice into two fresh, empty caches, so it compares two real parses, never a
cache entry with itself. Private held-out splits (generated from the workspace's secret) are
made in a throwaway workspace with a pinned secret, never in this checkout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from grader import datasets
from grader.datasets.base import PrivateSource
from grader.errors import DatasetMissingError
from grader.tasks.spec import load_catalogue
from tests.conftest import closed_port_url

REPO_TASKS = Path(__file__).resolve().parents[1] / "tasks"
HELDOUT = sorted(
    {(spec.dataset.name, spec.dataset.heldout) for spec in load_catalogue(REPO_TASKS)}
    | {(name, "test") for name in datasets.DATASETS}
)


def _private(name: str, split: str) -> bool:
    return split in datasets.private_splits(datasets.get_source(name))


PUBLIC_HELDOUT = [(name, split) for name, split in HELDOUT if not _private(name, split)]
"""Generated private splits are regenerated twice (seconds each) by
test_shapes.py::test_real_heldout_regenerates_to_the_same_fingerprint: not again here."""


@pytest.fixture(scope="module", autouse=True)
def offline_private_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No download can start, and private splits come from a throwaway workspace."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_DATASET_MIRROR", closed_port_url())
        patch.setenv("GRADER_HOME", str(tmp_path_factory.mktemp("workspace")))
        patch.setenv("GRADER_HELDOUT_SECRET", "test_heldout: a pinned secret")
        patch.delenv("GRADER_HELDOUT_SECRET_FILE", raising=False)
        yield


def _load(name: str, split: str) -> datasets.Dataset:
    source = datasets.get_source(name)
    try:
        if _private(name, split):
            assert isinstance(source, PrivateSource)
            return source.load_private(split)
        return datasets.load(name, split, on_progress=lambda done, total: None)
    except DatasetMissingError as err:
        pytest.skip(f"{name} is not on this machine: {err}")


@pytest.mark.parametrize(("name", "split"), PUBLIC_HELDOUT)
def test_heldout_fingerprint_is_the_same_twice(
    name: str, split: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "first-cache"))
    first = _load(name, split)
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "second-cache"))
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
