"""The visual report: one self-contained HTML file (inline SVG and PNG, no network).

The same pieces make the page ``grade TASK --report`` writes and the fragments a notebook
shows (:func:`result_fragment` for a Result, :func:`task_fragment` for ``grader.show``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.practice.gradebook import Attempt
    from grader.result import Result
    from grader.tasks.spec import TaskSpec

from grader.report import charts
from grader.report.catalogue import contract_rows
from grader.report.console import STATUS_STYLE, fmt_minutes, fmt_pct
from grader.result import RUBRIC_EFFECTS

_RULES = (
    (".badge", "padding:2px 8px;color:#fff;border-radius:4px;background:#d2413a"),
    (".badge.pass", "background:#2e9d4f"),
    (".badge.error", "background:#9b3fb5"),
    ("table", "border-collapse:collapse"),
    ("th,td", "vertical-align:top;overflow-wrap:anywhere"),
    (".facts th,.meta th", "text-align:left;padding:2px 16px 2px 0;opacity:.75;font-weight:normal"),
    (".rubric td", "padding:2px 10px 2px 0"),
    (".rubric .met .mark", "color:#2e9d4f"),
    (".rubric .unmet .mark", "color:#d2413a"),
    (".rubric .warn .mark", "color:#b7791f"),
    (".tiers", "display:flex;flex-wrap:wrap;gap:4px;padding:0;margin:4px 0;list-style:none"),
    (".tier", "padding:2px 8px;border-radius:4px;background:#eee;color:#555;font-size:13px"),
    (".tier.reached", "background:#2e9d4f;color:#fff"),
    (".charts", "display:flex;flex-wrap:wrap;gap:8px 32px"),
    (".charts>section", "flex:2 1 340px;min-width:0"),
    (".charts>.wide", "flex:3 1 420px"),
    (".scroll", "overflow-x:auto"),
    ("svg", "display:block;width:100%;height:auto;font-family:sans-serif"),
    (".gallery", "display:flex;flex-wrap:wrap;gap:8px"),
    (".mistake", "margin:0;text-align:center;font-size:11px"),
    (".mistake img", "image-rendering:pixelated;border:1px solid #ccc"),
    (".muted", "opacity:.75;font-size:13px"),
)


_THEMED = (
    ".grader-report{color:var(--jp-content-font-color1,"
    "var(--vscode-editor-foreground,currentColor))}"
)
"""A notebook fragment has no background of its own: its text, and the charts' labels and
pass-mark lines (drawn in ``currentColor``), take the theme's text colour, JupyterLab's or
VS Code's where they name it, else the colour around it (Colab, classic Jupyter)."""


def _style(scope: str = "") -> str:
    return "".join(f"{','.join(scope + s for s in sel.split(','))}{{{css}}}" for sel, css in _RULES)


def _png_data_uri(image: Any) -> str:
    """A uint8 (H, W) or (H, W, 1|3) numpy image as a base64 PNG ``data:`` URI."""
    import base64
    import io

    from PIL import Image

    pixels = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype("uint8")).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _table(css: str, rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table class='{css}'>{cells}</table>"


def _facts(result: Result) -> str:
    rows = [("verdict", result.message)]
    if result.value is not None:
        rows.append(
            (result.metric, f"{fmt_pct(result.value)} (pass mark {fmt_pct(result.threshold)})")
        )
        rows.append(("gap", f"{(result.margin or 0.0) * 100:+.2f} points"))
        rows.append(
            ("score", "★" * result.score + "☆" * (5 - result.score) + f"  {result.score}/5")
        )
    if result.train_value is not None:
        rows.append(("training sample", fmt_pct(result.train_value)))
    if result.time_used_s is not None:
        late = " (late)" if result.late else ""
        used = f"{fmt_minutes(result.time_used_s)} of {fmt_minutes(result.time_limit_s)}{late}"
        rows.append(("time used", used))
    return _table("facts", rows)


def _tiers(result: Result, tiers: Sequence[float]) -> str:
    items = "".join(
        f"<li class='tier{' reached' if i <= result.score else ''}'>{i}★ ≥ {t:.0%}</li>"
        for i, t in enumerate(tiers, 1)
    )
    return f"<ul class='tiers' aria-label='score tiers'>{items}</ul>"


def _rubric_html(result: Result) -> str:
    """One table row per rubric line: mark, requirement, reason and, when unmet, its effect."""
    rows = []
    for line in result.rubric:
        if line.met:
            css, mark, effect = "met", "✓", ""
        else:
            css = "warn" if line.effect == "warn" else "unmet"
            mark, effect = "✗", RUBRIC_EFFECTS.get(line.effect, line.effect)
        rows.append(
            f"<tr class='{css}' data-met='{str(line.met).lower()}'><td class='mark'>{mark}</td>"
            f"<td>{escape(line.name)}</td><td>{escape(line.reason)}</td>"
            f"<td>{escape(effect)}</td></tr>"
        )
    return f"<table class='rubric'>{''.join(rows)}</table>"


def _meta(result: Result, graded_at: float | None) -> str:
    when = "—"
    if graded_at is not None:
        when = datetime.fromtimestamp(graded_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    v = result.versions
    rows = [
        ("model file", result.model_path or "—"),
        ("model sha256", result.model_sha256 or "—"),
        ("graded", when),
        ("grader", v.get("grader", "—")),
        ("Keras", v.get("keras", "—")),
        ("TensorFlow", v.get("tensorflow", "—")),
        ("Python", v.get("python", "—")),
        ("held-out", f"{result.n_heldout:,} images, sha256 {(result.heldout_sha256 or '—')[:16]}"),
    ]
    return _table("meta", rows)


def _head(result: Result, title: str, tag: str) -> str:
    label, _ = STATUS_STYLE[result.status]
    return (
        f"<{tag}><span class='badge {result.status}'>{label}</span> {escape(result.task)} "
        f"{escape(title)}</{tag}>"
    )


def _rubric_section(result: Result, h: str) -> str:
    return f"<{h}>Rubric</{h}>" + _rubric_html(result) if result.rubric else ""


def _bars_section(result: Result, h: str) -> str:
    if not result.per_class:
        return ""
    return (
        f"<section><{h}>Accuracy per class</{h}>{charts.class_bars(result)}"
        "<p class='muted'>Dashed: the pass mark.</p></section>"
    )


def _confusions_section(result: Result, h: str) -> str:
    mixups = "".join(
        f"<li>{escape(c.true)} → {escape(c.predicted)} ({c.count})</li>"
        for c in result.top_confusions
    )
    return f"<{h}>Most confused</{h}><ul class='confusions'>{mixups}</ul>" if mixups else ""


def _hints_section(result: Result, h: str) -> str:
    hints = "".join(f"<li>{escape(hint)}</li>" for hint in result.hints)
    return f"<{h}>Hints</{h}><ul class='hints'>{hints}</ul>" if hints else ""


def result_fragment(result: Result, title: str = "") -> str:
    """The grade as a notebook shows it (``Result._repr_html_``): the terminal panel's content."""
    body = [
        _head(result, title, "h3"),
        _facts(result),
        _rubric_section(result, "h4"),
        _bars_section(result, "h4"),
        _confusions_section(result, "h4"),
        _hints_section(result, "h4"),
    ]
    body += [f"<p class='muted'>note: {escape(line)}</p>" for line in result.notes]
    return (
        f"<div class='grader-report'><style>{_style('.grader-report ')}{_THEMED}"
        # A notebook cell is wide: keep the bars at their own size, not stretched to fill it.
        ".grader-report svg{max-width:600px!important}</style>"
        f"{''.join(body)}</div>"
    )


def task_fragment(task: TaskSpec) -> str:
    """``grader.show``: the prompt (Markdown, raw HTML escaped), then the contract."""
    from markdown_it import MarkdownIt

    prompt = ""
    if task.prompt_path.is_file():
        text = task.prompt_path.read_text(encoding="utf-8")
        prompt = MarkdownIt("commonmark", {"html": False}).render(text)
    contract = f"<h4>{escape(task.id)} contract</h4>" + _table("facts", contract_rows(task))
    return (
        f"<div class='grader-report'><style>{_style('.grader-report ')}{_THEMED}</style>"
        f"<div class='prompt'>{prompt}</div>{contract}</div>"
    )


def html_report(
    result: Result,
    title: str,
    gallery: list[tuple[Any, str, str]],
    *,
    tiers: Sequence[float] = (),
    attempts: Sequence[Attempt] = (),
    graded_at: float | None = None,
) -> str:
    """A self-contained HTML page (inline SVG and PNG, no network) for ``--report``.

    ``gallery`` holds misclassified TRAINING-split images as (uint8 image, true, predicted);
    ``tiers`` are the task's score tiers; ``attempts`` this task's gradebook rows, oldest first.
    """
    sections = [_head(result, title, "h1"), _facts(result)]
    if tiers:
        sections.append(_tiers(result, tiers))
    sections += [_rubric_section(result, "h2"), _hints_section(result, "h2")]
    heatmap = ""
    if result.confusion:
        heatmap = (
            "<section class='wide'><h2>Confusion matrix</h2><p class='muted'>Rows: true class; "
            "columns: predicted. Shade: share of the row.</p>"
            f"<div class='scroll'>{charts.heatmap(result)}</div></section>"
        )
    if heatmap or result.per_class:
        sections.append(f"<div class='charts'>{heatmap}{_bars_section(result, 'h2')}</div>")
    sections.append(_confusions_section(result, "h2"))
    if attempts:
        scored = [a.value for a in attempts if a.value is not None]
        best = f", best {max(scored):.2%}" if scored else ""
        sections.append(
            f"<h2>Your attempts at {escape(result.task)}</h2><p class='muted'>"
            f"{len(attempts)} graded{best}; dashed: the pass mark.</p>"
            + charts.trend(list(attempts), result.threshold)
        )
    figures = "".join(
        f'<figure class="mistake"><img src="{_png_data_uri(img)}" width="84" height="84" '
        f'alt="training image"><figcaption>{escape(true)} → {escape(pred)}</figcaption></figure>'
        for img, true, pred in gallery
    )
    if figures:
        sections.append(
            "<h2>Misclassified training images</h2><p>From the training split only; "
            f"held-out images are never shown.</p><div class='gallery'>{figures}</div>"
        )
    sections.append("<h2>About this grading</h2>" + _meta(result, graded_at))
    # The page owns its background: light or dark as the reader's system asks.
    style = ":root{color-scheme:light dark}body{font-family:sans-serif;margin:16px auto;"
    style += "padding:0 16px;max-width:1200px;color:CanvasText;background:Canvas}"
    style += "h1{font-size:1.5em}" + _style()
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(result.task)} report</title><style>{style}</style></head>"
        f"<body>{''.join(sections)}</body></html>"
    )
