"""grader.practice.clock: time used is never negative and never runs backwards."""

from __future__ import annotations

from grader.practice.clock import elapsed


def test_time_used_counts_from_the_start() -> None:
    used = elapsed(started_at=1000.0, last_seen_at=1000.0, limit_s=600.0, now=1450.0)
    assert used.used_s == 450 and used.left_s == 150
    assert not used.over and not used.skewed


def test_clock_moved_back_holds_the_last_time_seen() -> None:
    used = elapsed(started_at=1000.0, last_seen_at=1200.0, limit_s=600.0, now=900.0)
    assert used.used_s == 200 and used.skewed


def test_past_the_limit_is_over_with_nothing_left() -> None:
    used = elapsed(started_at=0.0, last_seen_at=0.0, limit_s=60.0, now=61.0)
    assert used.over and used.left_s == 0
