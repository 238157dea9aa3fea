"""Time used on a task clock or an exam session, safe against a system clock moved back.

The gradebook stores wall-clock timestamps (they must survive reboots, so no monotonic
clock will do) plus the last time it saw; :func:`elapsed` turns them into time used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Elapsed:
    """Time used on a clock, never negative and never running backwards."""

    used_s: float
    limit_s: float
    skewed: bool
    """The system clock was found behind a time already recorded; ``used_s`` was held."""

    @property
    def left_s(self) -> float:
        """Time left before the limit (0 when over)."""
        return max(0.0, self.limit_s - self.used_s)

    @property
    def over(self) -> bool:
        """Past the limit."""
        return self.used_s > self.limit_s


def elapsed(started_at: float, last_seen_at: float, limit_s: float, now: float) -> Elapsed:
    """Time used since ``started_at``: a clock moved back is clamped to the last time seen."""
    skewed = now < last_seen_at or now < started_at
    effective = max(now, last_seen_at, started_at)
    return Elapsed(used_s=effective - started_at, limit_s=limit_s, skewed=skewed)
