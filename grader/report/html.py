"""The visual report: one self-contained HTML file (inline SVG and PNG, no network)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.result import Result

from grader.report.console import (
    STATUS_STYLE,
    fmt_minutes,
    fmt_pct,
)
from grader.result import RUBRIC_EFFECTS


def _png_data_uri(image: Any) -> str:
    """A uint8 (H, W) or (H, W, 1|3) numpy image as a base64 PNG ``data:`` URI."""
    import base64
    import io

    from PIL import Image

    pixels = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype("uint8")).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _heatmap_svg(result: Result) -> str:
    from html import escape

    names = [c.name for c in result.per_class] or [str(i) for i in range(len(result.confusion))]
    n, cell, left, top = len(result.confusion), 44, 130, 70
    parts = [
        f'<svg class="confusion" xmlns="http://www.w3.org/2000/svg" '
        f'width="{left + n * cell + 10}" height="{top + n * cell + 10}">'
    ]
    for j, name in enumerate(names):
        x = left + j * cell + cell / 2
        parts.append(
            f'<text x="{x}" y="{top - 8}" transform="rotate(-45 {x} {top - 8})" '
            f'font-size="12">{escape(name)}</text>'
        )
    for i, row in enumerate(result.confusion):
        total = sum(row) or 1
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end" '
            f'font-size="12">{escape(names[i])}</text>'
        )
        for j, count in enumerate(row):
            share = count / total
            hue = 130 if i == j else 5
            fill = f"hsl({hue}, 70%, {round(97 - 52 * share)}%)"
            text = "#fff" if share > 0.6 else "#222"
            x = left + j * cell
            parts.append(
                f'<rect class="cell" data-row="{i}" data-col="{j}" data-count="{count}" '
                f'x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                f"<title>{escape(names[i])} → {escape(names[j])}: {count}</title></rect>"
                f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                f'font-size="11" fill="{text}">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _bars_svg(result: Result) -> str:
    from html import escape

    width, row, left = 320, 24, 130
    threshold = result.threshold or 0.0
    parts = [
        f'<svg class="per-class" xmlns="http://www.w3.org/2000/svg" '
        f'width="{left + width + 70}" height="{len(result.per_class) * row + 10}">'
    ]
    for i, c in enumerate(result.per_class):
        y = i * row + 4
        color = "#2e9d4f" if c.accuracy >= threshold else "#d2413a"
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
            f"{escape(c.name)}</text>"
            f'<rect class="bar" data-label="{c.label}" x="{left}" y="{y}" '
            f'width="{round(width * c.accuracy, 1)}" height="{row - 6}" fill="{color}"/>'
            f'<text x="{left + width * c.accuracy + 4}" y="{y + 14}" font-size="11">'
            f"{c.accuracy:.1%}</text>"
        )
    x = left + width * threshold
    parts.append(
        f'<line x1="{x}" x2="{x}" y1="0" y2="{len(result.per_class) * row + 4}" '
        'stroke="#333" stroke-dasharray="4 3"/></svg>'
    )
    return "".join(parts)


def _rubric_html(result: Result) -> str:
    """One table row per rubric line: mark, requirement, reason and, when unmet, its effect."""
    from html import escape

    rows = []
    for line in result.rubric:
        if line.met:
            css, mark, effect = "met", "✓", ""
        else:
            css = "warn" if line.effect == "warn" else "unmet"
            mark, effect = "✗", RUBRIC_EFFECTS.get(line.effect, line.effect)
        rows.append(
            f"<tr class='{css}' data-met='{str(line.met).lower()}'><td>{mark}</td>"
            f"<td>{escape(line.name)}</td><td>{escape(line.reason)}</td>"
            f"<td>{escape(effect)}</td></tr>"
        )
    return f"<table class='rubric'>{''.join(rows)}</table>"


def html_report(result: Result, title: str, gallery: list[tuple[Any, str, str]]) -> str:
    """A self-contained HTML page (inline SVG and PNG, no network) for ``--report``.

    ``gallery`` holds misclassified TRAINING-split images as (uint8 image, true, predicted).
    """
    from html import escape

    label, _ = STATUS_STYLE[result.status]
    rows = [
        ("verdict", result.message),
        (result.metric, f"{fmt_pct(result.value)} (pass mark {fmt_pct(result.threshold)})"),
        ("score", f"{result.score}/5"),
        ("training sample", fmt_pct(result.train_value)),
    ]
    if result.time_used_s is not None:
        late = " (late)" if result.late else ""
        used = f"{fmt_minutes(result.time_used_s)} of {fmt_minutes(result.time_limit_s)}{late}"
        rows.append(("time used", used))
    if result.margin is not None:
        rows.insert(2, ("gap", f"{result.margin * 100:+.2f} points"))
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    hints = "".join(f"<li>{escape(h)}</li>" for h in result.hints)
    mixups = "".join(
        f"<li>{escape(c.true)} → {escape(c.predicted)} ({c.count})</li>"
        for c in result.top_confusions
    )
    figures = "".join(
        f'<figure class="mistake"><img src="{_png_data_uri(img)}" width="84" height="84" '
        f'alt="training image"><figcaption>{escape(true)} → {escape(pred)}</figcaption></figure>'
        for img, true, pred in gallery
    )
    sections = [
        f"<h1><span class='badge {result.status}'>{label}</span> {escape(result.task)} "
        f"{escape(title)}</h1>",
        f"<table class='facts'>{facts}</table>",
    ]
    if result.rubric:
        sections.append("<h2>Rubric</h2>" + _rubric_html(result))
    if hints:
        sections.append(f"<h2>Hints</h2><ul class='hints'>{hints}</ul>")
    if result.confusion:
        sections.append("<h2>Confusion matrix (rows: true, columns: predicted)</h2>")
        sections.append(_heatmap_svg(result))
    if result.per_class:
        sections.append("<h2>Accuracy per class (dashed: pass mark)</h2>" + _bars_svg(result))
    if mixups:
        sections.append(f"<h2>Most confused</h2><ul>{mixups}</ul>")
    if figures:
        sections.append(
            "<h2>Misclassified training images</h2><p>From the training split only; "
            f"held-out images are never shown.</p><div class='gallery'>{figures}</div>"
        )
    style = (
        "body{font-family:sans-serif;margin:24px;color:#222}"
        ".badge{padding:2px 8px;color:#fff;border-radius:4px;background:#d2413a}"
        ".rubric td{padding:2px 10px 2px 0}"
        ".rubric .met{color:#2e9d4f}.rubric .unmet{color:#d2413a}.rubric .warn{color:#b7791f}"
        ".badge.pass{background:#2e9d4f}.facts th{text-align:left;padding-right:16px;color:#666}"
        ".gallery{display:flex;flex-wrap:wrap;gap:8px}.mistake{margin:0;text-align:center;"
        "font-size:11px}.mistake img{image-rendering:pixelated;border:1px solid #ccc}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(result.task)} report</title><style>{style}</style></head>"
        f"<body>{''.join(sections)}</body></html>"
    )
