"""The Result record: schema 1, JSON round trip, exit codes."""

from __future__ import annotations

import json

import pytest

from grader.result import SCHEMA, ClassScore, Confusion, Result, RubricLine

SCHEMA_1_FIELDS = [
    "schema", "task", "status", "message", "task_version", "metric", "value", "threshold",
    "margin", "score", "per_class", "confusion", "top_confusions", "n_heldout",
    "heldout_sha256", "model_path", "model_sha256", "model_format", "elapsed_s", "time_used_s",
    "time_limit_s", "notes", "hints", "train_value", "train_mistakes", "late", "versions",
    "rubric",
]  # fmt: skip
"""Every field of a schema-1 record, in the order to_json writes them. Adding, dropping or
renaming a field changes what the gradebook, batch exports and --json readers get: bump SCHEMA
(and teach from_dict the old layout) rather than edit this list alone."""


def sample() -> Result:
    return Result(
        task="task01",
        status="pass",
        message="ok",
        value=0.9,
        threshold=0.89,
        margin=0.01,
        score=4,
        per_class=[ClassScore(label=0, name="T-shirt/top", accuracy=0.9, support=10)],
        confusion=[[9, 1], [0, 10]],
        top_confusions=[Confusion(true="T-shirt/top", predicted="Shirt", count=1)],
        versions={"grader": "0.1.0"},
        rubric=[RubricLine("Rescaling layer", False, "no Rescaling layer found", "cap")],
    )


def test_json_carries_every_schema_1_field() -> None:
    data = json.loads(sample().to_json())
    assert list(data) == SCHEMA_1_FIELDS
    assert data["schema"] == SCHEMA == 1
    assert next(iter(data)) == "schema"
    assert data["per_class"][0] == {
        "label": 0, "name": "T-shirt/top", "accuracy": 0.9, "support": 10
    }  # fmt: skip


def test_round_trip() -> None:
    result = sample()
    assert Result.from_dict(json.loads(result.to_json())) == result
    assert isinstance(Result.from_dict(result.to_dict()).rubric[0], RubricLine)


def test_rubric_lines_are_written_with_every_field() -> None:
    data = json.loads(sample().to_json())
    assert data["rubric"] == [
        {
            "name": "Rescaling layer",
            "met": False,
            "reason": "no Rescaling layer found",
            "effect": "cap",
            "source": "task.toml",
        }
    ]


def test_a_record_written_before_rubrics_existed_still_reads() -> None:
    data = sample().to_dict()
    del data["rubric"]
    assert Result.from_dict(data).rubric == []


@pytest.mark.parametrize(
    ("status", "code"), [("pass", 0), ("fail", 1), ("invalid", 1), ("timeout", 1), ("error", 2)]
)
def test_exit_codes(status: str, code: int) -> None:
    assert Result(task="t", status=status, message="m").exit_code == code  # type: ignore[arg-type]


def test_unknown_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="schema"):
        Result.from_dict({"schema": 2, "task": "t", "status": "pass", "message": ""})
