"""The terminal verdict: what a candidate reads after ``grade TASK``."""

from __future__ import annotations

from grader.report.console import out
from grader.report.verdict import show_result
from grader.result import ClassScore, Result


def _shown(result: Result) -> str:
    with out.capture() as captured:
        show_result(result, "Tiny")
    return captured.get()


def test_weakest_marks_only_classes_below_the_pass_mark() -> None:
    result = Result(
        task="tiny01",
        status="pass",
        message="m",
        value=0.95,
        threshold=0.9,
        margin=0.05,
        score=5,
        per_class=[
            ClassScore(0, "zero", 1.0, 10),
            ClassScore(1, "onefold", 0.96, 10),
            ClassScore(2, "twofold", 0.85, 10),
            ClassScore(3, "three", 0.99, 10),
        ],
    )
    text = _shown(result)
    below = next(line for line in text.splitlines() if "twofold" in line)
    above = next(line for line in text.splitlines() if "onefold" in line)
    assert "← weakest" in below and "← weakest" not in above


def test_all_classes_above_the_pass_mark_have_no_weakest() -> None:
    result = Result(
        task="tiny01",
        status="pass",
        message="m",
        value=0.97,
        threshold=0.9,
        per_class=[ClassScore(0, "zero", 0.99, 10), ClassScore(1, "one", 0.95, 10)],
    )
    assert "weakest" not in _shown(result)


def test_an_invalid_model_does_not_claim_it_was_graded_on_held_out_images() -> None:
    result = Result(
        task="tiny01",
        status="invalid",
        message="invalid model: Dense expects 2 units",
        n_heldout=1200,
        elapsed_s=0.1,
    )
    text = _shown(result)
    assert "Dense expects 2 units" in text
    assert "held-out images" not in text and "graded in" not in text


def test_a_scored_model_says_how_long_and_on_how_many_images() -> None:
    result = Result(
        task="tiny01", status="fail", message="m", value=0.5, n_heldout=1200, elapsed_s=0.1
    )
    assert "0.1 s on 1,200 held-out images" in _shown(result)
