"""The dataset registry: a name -> source dict, and :func:`load`, the one way to read a split.

Sources are registered here by name; a miss suggests the closest names. ``load`` reads the
splits a sandboxed child was given first (:mod:`grader.datasets.exported`), and refuses a
private held-out split (only :func:`grader.datasets.heldout.load_heldout` makes one).
"""

from __future__ import annotations

import difflib

from grader.datasets import cifar10, exported, image_sets, mnist
from grader.datasets.base import Dataset, DatasetSource, ProgressCallback, private_splits
from grader.datasets.fashion_mnist import FashionMnist
from grader.datasets.shapes import SHAPES, SHAPES_BINARY
from grader.errors import DatasetError

DATASETS: dict[str, DatasetSource] = {
    "fashion_mnist": FashionMnist(),
    "mnist": mnist.SOURCE,
    "cifar10": cifar10.SOURCE,
    "shapes": SHAPES,
    "shapes_binary": SHAPES_BINARY,
    **{source.name: source for source in image_sets.ALL},
}
"""Dataset name -> source."""


def get_source(name: str) -> DatasetSource:
    """Return the registered source, or raise DatasetError suggesting close names."""
    try:
        return DATASETS[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(name, DATASETS, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise DatasetError(
        f"Unknown dataset '{name}'.{hint} Known datasets: {', '.join(sorted(DATASETS))}."
    )


def load(name: str, split: str, *, on_progress: ProgressCallback | None = None) -> Dataset:
    """Load ``split`` ("train" or "test") of dataset ``name``, downloading it if needed.

    Inside a sandboxed child, the splits the grader exported for it are read instead
    (:mod:`grader.datasets.exported`). A private held-out split is refused. A download
    reports its bytes to ``on_progress`` (the CLI passes a progress bar); nothing is shown
    without one.
    """
    source = get_source(name)
    if split not in source.splits:
        raise DatasetError(
            f"Dataset '{name}' has no split '{split}'; use one of: {', '.join(source.splits)}."
        )
    given = exported.find(name, split)
    if given is not None:
        return given
    return source.load(split, on_progress=on_progress)


def public_splits(name: str) -> tuple[str, ...]:
    """The splits of ``name`` a learner's code may load: all but its private held-out ones."""
    source = get_source(name)
    hidden = private_splits(source)
    return tuple(s for s in source.splits if s not in hidden)
