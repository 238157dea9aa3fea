"""A task.toml's [dataset] as the grader meets it: an unknown name names the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import SpecError
from grader.grading.pipeline import grade_file
from grader.tasks.spec import TaskSpec


def test_unknown_dataset_names_the_task_toml_and_suggests(workspace: Path, tmp_path: Path) -> None:
    toml = workspace / "tasks" / "tiny01" / "task.toml"
    toml.write_text(toml.read_text().replace('name = "tiny"', 'name = "shapez"'))
    model = tmp_path / "model.keras"
    model.write_bytes(b"never opened")
    with pytest.raises(SpecError) as caught:
        grade_file(TaskSpec.from_toml(toml), model)
    message = str(caught.value)
    assert message.startswith(f"{toml}: dataset.name: Unknown dataset 'shapez'.")
    assert "Did you mean: shapes" in message
