"""Workspace discovery, model discovery and the starter copy."""

from __future__ import annotations

from pathlib import Path

import pytest

import grader
from grader.errors import ModelNotFoundError, WorkspaceError
from grader.tasks.workspace import copy_starter, find_model, using, workspace_root


def test_grader_home_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_HOME", str(tmp_path))
    assert workspace_root() == tmp_path.resolve()


def test_a_chosen_workspace_wins_inside_using_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "home"))
    with using(tmp_path / "chosen"):
        assert workspace_root() == (tmp_path / "chosen").resolve()
        with using(None):
            assert workspace_root() == (tmp_path / "chosen").resolve()
    assert workspace_root() == (tmp_path / "home").resolve()


def test_nearest_folder_with_tasks_upward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADER_HOME", raising=False)
    (tmp_path / "tasks").mkdir()
    deep = tmp_path / "solutions" / "task01"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert workspace_root() == tmp_path.resolve()


def test_keras_file_is_preferred_over_h5(workspace: Path) -> None:
    folder = workspace / "solutions" / "tiny01"
    folder.mkdir()
    (folder / "model.h5").write_bytes(b"h5")
    assert find_model("tiny01").name == "model.h5"
    (folder / "model.keras").write_bytes(b"zip")
    assert find_model("tiny01").name == "model.keras"


def test_no_model_says_how_to_make_one(workspace: Path) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        find_model("tiny01")
    message = str(caught.value)
    assert "solution.py" in message and "--train" in message and "--model" in message


def test_copy_starter_never_overwrites(workspace: Path) -> None:
    starter = workspace / "tasks" / "tiny01" / "starter.py"
    target, copied = copy_starter(starter, "tiny01")
    assert copied and target.read_text() == starter.read_text()
    target.write_text("mine")
    assert copy_starter(starter, "tiny01") == (target, False)
    assert target.read_text() == "mine"


def test_missing_starter_is_a_workspace_error(workspace: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"no starter\.py"):
        copy_starter(workspace / "nope.py", "tiny01")


@pytest.mark.parametrize(
    ("where", "name"),
    [
        ("solutions/tiny01", "my_model.keras"),
        ("solutions", "model.keras"),
        (".", "model.keras"),
        (".", "my_model.h5"),
    ],
)
def test_a_model_in_the_wrong_place_is_named_with_the_fix(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, where: str, name: str
) -> None:
    monkeypatch.chdir(workspace)
    (workspace / where).mkdir(parents=True, exist_ok=True)
    (workspace / where / name).write_bytes(b"m")
    with pytest.raises(ModelNotFoundError) as caught:
        find_model("tiny01")
    found = str(Path(where) / name)
    suffix = Path(name).suffix
    assert str(caught.value) == (
        "No model in solutions/tiny01/ (looked for model.keras or model.h5), but found "
        f"{found}: move it there (`mv {found} solutions/tiny01/model{suffix}`) or grade it "
        f"where it is with `grade tiny01 --model {found}`."
    )


def test_a_savedmodel_folder_gets_the_model_save_line(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    saved = workspace / "solutions" / "tiny01" / "model"
    saved.mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"pb")
    with pytest.raises(ModelNotFoundError) as caught:
        find_model("tiny01")
    assert str(caught.value) == (
        "No model in solutions/tiny01/ (looked for model.keras or model.h5), but "
        "solutions/tiny01/model/ is a SavedModel folder, which the grader does not load: "
        'save one file with `model.save("solutions/tiny01/model.keras")`.'
    )


def test_misplaced_models_never_follow_a_linked_folder(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, outside_tmp: Path
) -> None:
    monkeypatch.chdir(workspace)
    (outside_tmp / "saved_model.pb").write_bytes(b"pb")
    folder = workspace / "solutions" / "tiny01"
    folder.mkdir(parents=True)
    (folder / "model").symlink_to(outside_tmp, target_is_directory=True)
    with pytest.raises(ModelNotFoundError, match=r"Run `python solutions/tiny01/solution\.py`"):
        find_model("tiny01")


def test_the_package_folder_is_never_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second run of the Colab cell `cd`s into the clone's grader/ package: its tasks/
    subpackage is not a catalogue, so the clone (one folder up) stays the workspace."""
    monkeypatch.delenv("GRADER_HOME", raising=False)
    clone = tmp_path / "grader"
    (clone / "tasks" / "task01").mkdir(parents=True)
    (clone / "grader" / "tasks").mkdir(parents=True)
    (clone / "grader" / "tasks" / "__init__.py").write_text("")
    monkeypatch.chdir(clone / "grader")
    assert workspace_root() == clone.resolve()
    monkeypatch.chdir(clone / "grader" / "tasks")
    assert workspace_root() == clone.resolve()


def test_this_packages_own_folder_finds_this_checkouts_catalogue(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GRADER_HOME", raising=False)
    package = Path(grader.__file__).resolve().parent
    checkout = package.parent
    if not (checkout / "tasks" / "task01" / "task.toml").is_file():
        pytest.skip("the grader is installed without its checkout's tasks/")
    monkeypatch.chdir(package)
    assert workspace_root() == checkout
    monkeypatch.chdir(tmp_path)  # no catalogue anywhere upward: this checkout's
    assert workspace_root() == checkout
