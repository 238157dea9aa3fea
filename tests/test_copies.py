"""Copied models in a cohort: identical files, and identical weights in re-saved files."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from grader.instructors.batch import run_batch
from grader.instructors.copies import SAME_FILE, SAME_WEIGHTS, CopyGroup, copied_from, find_copies
from grader.instructors.submissions import discover
from grader.tasks.spec import TaskSpec
from tests.test_batch import Recorder
from tests.test_weights import _model


@pytest.fixture
def copiers(keras_module: Any, tmp_path: Path) -> Path:
    """ann's model; bea handed in ann's very file; cy re-saved ann's weights under other
    layer names, as .h5; dee trained her own; eve's file is not a model at all."""
    keras = keras_module
    subs = tmp_path / "subs"
    subs.mkdir()
    ann = _model(keras, ("hidden", "out"), seed=1)
    ann.save(subs / "ann.keras")
    shutil.copyfile(subs / "ann.keras", subs / "bea.keras")
    cy = _model(keras, ("zz_mine", "aa_really"), seed=5)
    cy.set_weights(ann.get_weights())
    (subs / "cy").mkdir()
    cy.save(subs / "cy" / "model.h5")
    _model(keras, ("hidden", "out"), seed=2).save(subs / "dee.keras")
    (subs / "eve.keras").write_bytes(b"garbage")
    return subs


@pytest.mark.slow
def test_identical_files_and_resaved_weights_are_grouped_and_a_different_model_is_not(
    tiny_task: TaskSpec, copiers: Path
) -> None:
    groups = find_copies(tiny_task, discover(copiers))
    assert groups == [CopyGroup(("ann", "bea", "cy"), SAME_WEIGHTS)]
    assert copied_from(groups) == {"ann": ("bea", "cy"), "bea": ("ann", "cy"), "cy": ("ann", "bea")}


def test_identical_files_that_are_not_models_are_still_one_group(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    for name in ("ann", "bob", "cat"):
        (tmp_path / f"{name}.keras").write_bytes(b"same bytes" if name != "cat" else b"other")
    assert find_copies(tiny_task, discover(tmp_path)) == [CopyGroup(("ann", "bob"), SAME_FILE)]


@pytest.mark.slow
def test_a_batch_reports_copies_in_csv_json_and_summary_but_keeps_every_grade(
    tiny_task: TaskSpec,
    copiers: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grader import datasets

    heldout = datasets.load_heldout(tiny_task).sha256
    recorder = Recorder(tiny_task, heldout, {"dee": "fail"})
    monkeypatch.setattr("grader.instructors.batch.grade_submission", recorder)
    out = tmp_path / "g"
    outcome = run_batch(tiny_task, copiers, out=out, fork_server=False)
    assert [g.result.status for g in outcome.graded] == ["pass", "pass", "pass", "fail", "pass"]
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["cy"]["copied_from"] == "ann; bea" and rows["dee"]["copied_from"] == ""
    records = {r["student"]: r for r in json.loads((out / "results.json").read_text())}
    assert records["bea"]["copied_from"] == ["ann", "cy"] and "copied_from" not in records["dee"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["copies"] == [{"students": ["ann", "bea", "cy"], "kind": SAME_WEIGHTS}]
