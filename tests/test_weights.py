"""Weights fingerprints, read statically: a re-save or renamed layers do not change them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.errors import InvalidModelError
from grader.sandbox.weights import fingerprint

CAPS = {"max_bytes": 5 * 2**20, "max_params": 100_000}


def _model(keras: Any, names: tuple[str, str], seed: int) -> Any:
    model = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(4, activation="relu", name=names[0]),
            keras.layers.Dense(3, activation="softmax", name=names[1]),
        ]
    )
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


@pytest.fixture
def models(keras_module: Any, tmp_path: Path) -> dict[str, Path]:
    """original.keras; the same weights under other layer names, as .keras and as .h5; and a
    model with other weights."""
    keras = keras_module
    original = _model(keras, ("hidden", "out"), seed=1)
    renamed = _model(keras, ("zz_hidden", "aa_out"), seed=99)  # the other way round
    renamed.set_weights(original.get_weights())
    paths = {
        "original": tmp_path / "original.keras",
        "renamed": tmp_path / "renamed.keras",
        "renamed_h5": tmp_path / "renamed.h5",
        "other": tmp_path / "other.keras",
    }
    original.save(paths["original"])
    renamed.save(paths["renamed"])
    renamed.save(paths["renamed_h5"])
    _model(keras, ("hidden", "out"), seed=2).save(paths["other"])
    return paths


@pytest.mark.slow
def test_same_weights_under_other_names_or_format_give_the_same_fingerprint(
    models: dict[str, Path],
) -> None:
    prints = {k: fingerprint(p, **CAPS) for k, p in models.items()}
    assert models["original"].read_bytes() != models["renamed"].read_bytes()
    assert prints["original"] == prints["renamed"] == prints["renamed_h5"]
    assert prints["other"] != prints["original"]


@pytest.mark.slow
def test_a_model_over_the_parameter_cap_is_refused_before_its_arrays_are_read(
    models: dict[str, Path],
) -> None:
    with pytest.raises(InvalidModelError, match="has 43 parameters; this task allows at most 10"):
        fingerprint(models["original"], max_bytes=CAPS["max_bytes"], max_params=10)


def test_a_file_that_is_no_model_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.keras"
    path.write_bytes(b"not a model")
    with pytest.raises(InvalidModelError, match=r"x\.keras is not a Keras model file"):
        fingerprint(path, **CAPS)


def test_a_link_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.keras"
    target.write_bytes(b"PK\x03\x04")
    (tmp_path / "link.keras").symlink_to(target)
    with pytest.raises(InvalidModelError, match="symbolic link"):
        fingerprint(tmp_path / "link.keras", **CAPS)
