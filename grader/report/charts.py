"""The report's inline SVG charts: confusion heatmap, per-class bars, attempt trend.

Each chart is drawn in its own coordinates (``viewBox``) and scales to the width it is given,
so the same drawing fills a wide page and fits a phone. Margins are sized from the longest
label, and every text sits outside the plot area that the pass-mark line crosses. Labels and
the pass-mark line are drawn in ``currentColor``, so they take the text colour of the page or
notebook theme around them (light on a dark theme); only the bars and cells carry their own.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.practice.gradebook import Attempt
    from grader.result import Result

PASS = "#2e9d4f"
FAIL = "#d2413a"
INK = "currentColor"
"""The surrounding text colour: an SVG ``<text>`` is black unless told otherwise."""
_CHAR = 7.2
"""Width of one character of a 12-unit sans-serif label, generously."""


def _text_width(label: str, size: float = 12) -> float:
    return len(label) * _CHAR * size / 12


def _svg(css: str, width: float, height: float, label: str, smallest: float = 0.6) -> str:
    """An ``<svg>`` that fills its box's width, between ``smallest`` and 1.6 times its size."""
    return (
        f'<svg class="{css}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'preserveAspectRatio="xMinYMin meet" '
        f'style="min-width:{width * smallest:.0f}px;max-width:{width * 1.6:.0f}px">'
    )


def heatmap(result: Result) -> str:
    """Rows: true class; columns: predicted. Shade is the row's share (green on the diagonal)."""
    names = [c.name for c in result.per_class] or [str(i) for i in range(len(result.confusion))]
    n, cell = len(result.confusion), 46
    longest = max((_text_width(name, 13) for name in names), default=0.0)
    left = longest + 12
    top = longest * 0.71 + 14  # column labels lean back at 45 degrees, over the row labels
    width, height = left + n * cell + 6, top + n * cell + 6
    # Counts stay legible on a phone: below 0.8 times its size, the matrix scrolls in its box.
    parts = [_svg("confusion", width, height, "confusion matrix", smallest=0.8)]
    for j, name in enumerate(names):
        x, y = left + j * cell + cell / 2, top - 6
        parts.append(
            f'<text class="col-label" x="{x:.1f}" y="{y:.1f}" transform="rotate(45 {x:.1f} '
            f'{y:.1f})" text-anchor="end" font-size="13" fill="{INK}">{escape(name)}</text>'
        )
    for i, row in enumerate(result.confusion):
        total = sum(row) or 1
        y = top + i * cell
        parts.append(
            f'<text class="row-label" x="{left - 6:.1f}" y="{y + cell / 2 + 4:.1f}" '
            f'text-anchor="end" font-size="13" fill="{INK}">{escape(names[i])}</text>'
        )
        for j, count in enumerate(row):
            share = count / total
            hue = 130 if i == j else 5
            fill = f"hsl({hue}, 70%, {round(97 - 52 * share)}%)" if count else "#f4f4f4"
            ink = "#fff" if share > 0.6 else "#222"
            x = left + j * cell
            parts.append(
                f'<rect class="cell" data-row="{i}" data-col="{j}" data-count="{count}" '
                f'x="{x:.1f}" y="{y:.1f}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                f"<title>{escape(names[i])} → {escape(names[j])}: {count} ({share:.0%} of "
                f"{escape(names[i])})</title></rect>"
                f'<text class="count" x="{x + cell / 2 - 1:.1f}" y="{y + cell / 2 + 4:.1f}" '
                f'text-anchor="middle" font-size="13" fill="{ink}">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def class_bars(result: Result) -> str:
    """One bar per class; the dashed pass-mark line is labelled above the bars, and each
    accuracy is written in its own column to the right, so no text ever meets the line."""
    names = [c.name for c in result.per_class]
    row, plot, strip = 24, 320, 20
    left = max((_text_width(name) for name in names), default=0.0) + 12
    width = left + plot + 62
    height = strip + len(names) * row + 4
    threshold = result.threshold or 0.0
    parts = [_svg("per-class", width, height, "accuracy per class")]
    for i, c in enumerate(result.per_class):
        y = strip + i * row
        color = PASS if c.accuracy >= threshold else FAIL
        parts.append(
            f'<text class="name" x="{left - 6:.1f}" y="{y + 14}" text-anchor="end" '
            f'font-size="12" fill="{INK}">{escape(c.name)}</text>'
            f'<rect class="bar" data-label="{c.label}" x="{left:.1f}" y="{y}" '
            f'width="{plot * c.accuracy:.1f}" height="{row - 6}" fill="{color}"/>'
            f'<text class="value" x="{left + plot + 8:.1f}" y="{y + 14}" font-size="12" '
            f'fill="{INK}">{c.accuracy:.1%}</text>'
        )
    if result.threshold is not None:
        x = left + plot * threshold
        parts.append(_mark_label(x, left, left + plot, 13, f"pass mark {threshold:.0%}"))
        parts.append(
            f'<line class="pass-mark" x1="{x:.1f}" x2="{x:.1f}" y1="{strip - 2}" '
            f'y2="{height - 2}" stroke="{INK}" stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _mark_label(x: float, low: float, high: float, y: float, label: str) -> str:
    """``label`` centred over ``x``, kept inside [low, high]."""
    half = _text_width(label, 11) / 2
    centre = min(max(x, low + half), high - half)
    return (
        f'<text class="mark-label" x="{centre:.1f}" y="{y}" text-anchor="middle" '
        f'font-size="11" fill="{INK}">{escape(label)}</text>'
    )


def trend(attempts: list[Attempt], threshold: float | None) -> str:
    """The metric of each attempt at this task, in order; the dashed line is the pass mark."""
    values = [a.value for a in attempts]
    floor = [v for v in values if v is not None] + ([threshold] if threshold is not None else [])
    low = max(0.0, int(min(floor, default=0.05) * 20 - 1) / 20)
    left, top, plot_w, plot_h = 44, 8, max(120, 28 * len(attempts)), 90
    width, height = left + plot_w + 12, top + plot_h + 22

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value - low) / ((1.0 - low) or 1.0))

    step = plot_w / max(1, len(attempts) - 1) if len(attempts) > 1 else 0.0
    parts = [_svg("trend", width, height, "accuracy per attempt")]
    for value in (low, 1.0):
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y_of(value) + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="{INK}" fill-opacity="0.75">{value:.0%}</text>'
        )
    if threshold is not None:
        y = y_of(threshold)
        parts.append(
            f'<line class="pass-mark" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="{INK}" stroke-dasharray="4 3"/>'
        )
    points = [
        (left + i * step, v, a)
        for i, (v, a) in enumerate(zip(values, attempts, strict=True))
        if v is not None
    ]
    if len(points) > 1:
        line = " ".join(f"{x:.1f},{y_of(v):.1f}" for x, v, _ in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#888"/>')
    for x, v, a in points:
        color = PASS if a.status == "pass" else FAIL
        parts.append(
            f'<circle class="attempt" cx="{x:.1f}" cy="{y_of(v):.1f}" r="4" fill="{color}">'
            f"<title>attempt {a.id}: {v:.2%} ({escape(a.status)})</title></circle>"
        )
    parts.append(
        f'<text class="axis" x="{left}" y="{height - 4}" font-size="11" fill="{INK}" '
        'fill-opacity="0.75">'
        f"attempt 1 → {len(attempts)}</text></svg>"
    )
    return "".join(parts)
