"""The report's SVG charts: sized from their labels, robust to gaps in the data."""

from __future__ import annotations

import re

from grader.practice.gradebook import Attempt
from grader.report import charts
from grader.result import ClassScore, Result


def _attempt(i: int, value: float | None) -> Attempt:
    status = "invalid" if value is None else "fail"
    return Attempt(i, "t", status, value, 0, None, None, None, False, None, 0.0, {})


def test_trend_skips_attempts_with_no_score_and_draws_one_point_alone() -> None:
    svg = charts.trend([_attempt(1, 0.5), _attempt(2, None), _attempt(3, 0.7)], 0.9)
    assert len(re.findall(r'<circle class="attempt"', svg)) == 2
    assert 'class="pass-mark"' in svg and "attempt 1 → 3" in svg
    alone = charts.trend([_attempt(1, 0.8)], None)
    assert alone.count("<circle") == 1 and "pass-mark" not in alone and "<polyline" not in alone


def test_bars_leave_room_for_the_longest_name() -> None:
    def left_margin(name: str) -> float:
        result = Result(
            task="t",
            status="fail",
            message="",
            threshold=0.5,
            per_class=[ClassScore(0, name, 0.4, 1)],
        )
        found = re.search(
            r'<rect class="bar" data-label="0" x="([\d.]+)"', charts.class_bars(result)
        )
        assert found is not None
        return float(found.group(1))

    assert left_margin("a much longer class name") > left_margin("cat") + 100


def test_labels_and_pass_mark_lines_take_the_surrounding_text_colour() -> None:
    """An SVG text is black unless told otherwise: on a dark notebook theme, that is black on
    black. Every label is drawn in currentColor; only counts on their own cells are not."""
    result = Result(
        task="t",
        status="fail",
        message="",
        threshold=0.5,
        per_class=[ClassScore(0, "cat", 0.4, 5), ClassScore(1, "dog", 0.6, 5)],
        confusion=[[2, 3], [2, 3]],
    )
    svgs = charts.class_bars(result) + charts.heatmap(result)
    svgs += charts.trend([_attempt(1, 0.5), _attempt(2, 0.7)], 0.5)
    tags = re.findall(r'<text class="([\w-]+)"([^>]*)>', svgs)
    texts = [(css, dict(re.findall(r'(\w+)="([^"]*)"', rest)).get("fill")) for css, rest in tags]
    assert {css for css, _ in texts} >= {"name", "value", "mark-label", "row-label", "axis"}
    assert [(css, fill) for css, fill in texts if css != "count" and fill != "currentColor"] == []
    lines = re.findall(r'<line class="pass-mark"[^>]* stroke="([^"]+)"', svgs)
    assert lines == ["currentColor", "currentColor"]
