"""``grade TASK --report report.html``: a self-contained page that renders in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grader import datasets
from grader.cli import app
from grader.practice.gradebook import Attempt
from grader.report.html import html_report, result_fragment
from grader.result import ClassScore, Confusion, Result, RubricLine
from tests.conftest import ModelFactory

NAMES = ("zero", "one", "two")


class _Page(HTMLParser):
    """Collects the elements a reader relies on."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str | None]] = []
        self.bars: list[dict[str, str | None]] = []
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "rect" and found.get("class") == "cell":
            self.cells.append(found)
        if tag == "rect" and found.get("class") == "bar":
            self.bars.append(found)
        if tag == "img":
            self.images.append(found.get("src") or "")
        for key in ("href", "src"):
            if (found.get(key) or "").startswith(("http:", "https:", "//")):
                self.links.append(found[key] or "")


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def _png_pixels(uri: str) -> tuple[int, int, bytes]:
    """Width, height and raw gray pixels of a PNG ``data:`` URI written by the report."""
    png = base64.b64decode(uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as image:
        assert image.mode == "L"
        return image.width, image.height, image.tobytes()


def _failing_result() -> Result:
    confusion = [[8, 2, 0], [1, 9, 0], [0, 5, 5]]
    return Result(
        task="tiny01",
        status="fail",
        message="73.33% is below the 90% pass mark",
        value=22 / 30,
        threshold=0.9,
        margin=22 / 30 - 0.9,
        per_class=[
            ClassScore(i, n, row[i] / sum(row), sum(row))
            for i, (n, row) in enumerate(zip(NAMES, confusion, strict=True))
        ],
        confusion=confusion,
        top_confusions=[Confusion("two", "one", 5)],
        hints=["Overfitting: 99.0% on training images but 73.3% held out"],
        train_value=0.99,
    )


def _digit(value: int) -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[4:24, 10 + value : 14 + value] = 200 + value
    return image


def test_page_has_heatmap_cells_bars_hints_and_gallery() -> None:
    gallery = [(_digit(1), "two", "one"), (_digit(2), "zero", "one")]
    page = html_report(_failing_result(), "Tiny", gallery)
    parsed = _parse(page)
    assert len(parsed.cells) == 9
    assert {(c["data-row"], c["data-col"], c["data-count"]) for c in parsed.cells} >= {
        ("2", "1", "5"),
        ("0", "0", "8"),
    }
    assert [b["data-label"] for b in parsed.bars] == ["0", "1", "2"]
    assert "Overfitting" in page and "99.00%" in page and "two → one (5)" in page
    assert len(parsed.images) == 2 and parsed.links == []
    width, height, pixels = _png_pixels(parsed.images[0])
    assert (width, height) == (28, 28) and pixels == _digit(1).tobytes()


def test_page_lists_every_rubric_line_with_its_effect() -> None:
    lines = [
        RubricLine("MobileNetV2 base", False, "no MobileNetV2 base found: build <it>", "fail"),
        RubricLine("Rescaling layer", True, "1 Rescaling layer found", "fail"),
    ]
    page = html_report(replace(_failing_result(), rubric=lines), "Tiny", [])
    rows = re.findall(r"<tr class='(\w+)' data-met='(\w+)'>(.*?)</tr>", page)
    assert [(css, met) for css, met, _ in rows] == [("unmet", "false"), ("met", "true")]
    assert "no MobileNetV2 base found: build &lt;it&gt;" in rows[0][2]  # escaped
    assert "fails the task" in rows[0][2] and "fails the task" not in rows[1][2]
    assert "<h2>Rubric</h2>" in page
    assert "<h2>Rubric</h2>" not in html_report(_failing_result(), "Tiny", [])


def test_invalid_result_still_gives_a_page() -> None:
    result = Result(task="tiny01", status="invalid", message="invalid model: Lambda layer")
    parsed = _parse(html_report(result, "Tiny", []))
    assert parsed.cells == [] and parsed.images == []


def _chromium(page: Path, *args: str) -> str:
    """Run headless Chromium on ``page`` with a fresh profile; its stdout."""
    chromium = shutil.which("chromium")
    assert chromium is not None
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                *args,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    return done.stdout


def _screenshot(page: Path, out: Path, width: int = 1200) -> None:
    _chromium(page, f"--screenshot={out}", f"--window-size={width},900")


_GEOMETRY = """<script>(function () {
  function box(e) {
    const r = e.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
  }
  function hit(a, b) { return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]; }
  const out = {width: innerWidth, scroll: document.documentElement.scrollWidth,
               lines: 0, on_line: [], clipped: [], crowded: [], svgs: {}};
  document.querySelectorAll('svg').forEach(function (svg) {
    const name = svg.getAttribute('class'), s = box(svg);
    const texts = Array.from(svg.querySelectorAll('text'));
    out.svgs[name] = s;
    texts.forEach(function (t) {
      const b = box(t);
      if (b[0] < s[0] - 0.5 || b[2] > s[2] + 0.5 || b[1] < s[1] - 0.5 || b[3] > s[3] + 0.5)
        out.clipped.push(name + ': ' + t.textContent);
    });
    svg.querySelectorAll('line.pass-mark').forEach(function (line) {
      out.lines += 1;
      const l = box(line);
      texts.forEach(function (t) {
        if (hit(l, box(t))) out.on_line.push(name + ': ' + t.textContent);
      });
    });
    if (name === 'confusion') return;  // its rotated labels' boxes touch by design
    texts.forEach(function (a, i) {
      texts.slice(i + 1).forEach(function (b) {
        if (hit(box(a), box(b))) out.crowded.push(a.textContent + ' / ' + b.textContent);
      });
    });
  });
  const pre = parent.document.createElement('pre');
  pre.id = 'geometry';
  pre.textContent = JSON.stringify(out);
  parent.document.body.appendChild(pre);
})();</script>"""


def _frame(page: str, folder: Path, width: int) -> Path:
    """``page`` in a ``width`` px frame: headless Chromium's window is never under 500 px."""
    probe = folder / f"probe{width}.html"
    probe.write_text(
        "<!DOCTYPE html><html><body style='margin:0'><iframe style='border:0;"
        f'width:{width}px;height:3000px\' srcdoc="{escape(page)}"></iframe></body></html>'
    )
    return probe


def _geometry(page: str, folder: Path, width: int) -> dict[str, Any]:
    """Where Chromium lays the page out at ``width`` px: overlaps, clipping, overflow."""
    probe = _frame(page.replace("</body>", _GEOMETRY + "</body>"), folder, width)
    dom = _chromium(probe, "--dump-dom", f"--window-size={width + 20},900")
    found = re.search(r'<pre id="geometry">(.*?)</pre>', dom)
    assert found is not None, dom[-500:]
    return dict(json.loads(unescape(found.group(1))))


def _crowded_result() -> Result:
    """Long class names, accuracies a hair under and over the pass mark, a 10x10 matrix."""
    names = [f"class {i} " + "long name" * (i % 3) for i in range(10)]
    confusion = [[90 if i == j else (i * j) % 4 for j in range(10)] for i in range(10)]
    accuracies = (0.2, 0.8, 0.85, 0.87, 0.889, 0.89, 0.891, 0.9, 0.95, 1.0)
    per_class = [
        ClassScore(i, n, accuracy, sum(row))
        for i, (n, row, accuracy) in enumerate(zip(names, confusion, accuracies, strict=True))
    ]
    return replace(
        _failing_result(),
        threshold=0.89,
        per_class=per_class,
        confusion=confusion,
        model_path="/home/candidate/a/rather/long/path/to/solutions/task01/model.keras",
        model_sha256="f" * 64,
        versions={"grader": "0.1.0", "keras": "3.6.0", "tensorflow": "2.18.0", "python": "3.11"},
    )


def _attempts(values: list[float]) -> list[Attempt]:
    return [
        Attempt(
            i,
            "tiny01",
            "pass" if v >= 0.89 else "fail",
            v,
            3,
            None,
            None,
            None,
            False,
            None,
            1.8e9 + i,
            {},
        )
        for i, v in enumerate(values, 1)
    ]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
@pytest.mark.parametrize("width", [1280, 390])
def test_no_label_meets_the_pass_mark_and_nothing_overflows(tmp_path: Path, width: int) -> None:
    page = html_report(
        _crowded_result(),
        "Tiny",
        [(_digit(1), "two", "one")] * 8,
        tiers=[0.5, 0.7, 0.8, 0.89, 0.95],
        attempts=_attempts([0.5, 0.885, 0.89, 0.893, 0.7]),
        graded_at=1.8e9,
    )
    found = _geometry(page, tmp_path, width)
    assert found["width"] == width and found["lines"] == 2  # bars and trend
    assert found["on_line"] == [] and found["crowded"] == [] and found["clipped"] == []
    assert found["scroll"] <= width  # no horizontal scrolling of the page
    heatmap, bars = found["svgs"]["confusion"], found["svgs"]["per-class"]
    if width == 1280:  # side by side, using the width
        assert heatmap[2] - heatmap[0] > 0.35 * width and bars[0] > heatmap[2]
    else:  # stacked
        assert bars[1] >= heatmap[3]
    _screenshot(_frame(page, tmp_path, width), tmp_path / "shot.png", width + 20)
    assert _distinct_bytes(tmp_path / "shot.png") > 20


def test_page_carries_model_versions_date_tiers_and_trend() -> None:
    page = html_report(
        _crowded_result(),
        "Tiny",
        [],
        tiers=[0.5, 0.7, 0.8, 0.89, 0.95],
        attempts=_attempts([0.5, 0.7]),
        graded_at=1.8e9,
    )
    assert "/home/candidate/a/rather/long/path/to/solutions/task01/model.keras" in page
    assert "f" * 64 in page and "2027-01-15 08:00 UTC" in page
    assert "<th>Keras</th><td>3.6.0</td>" in page and "<th>grader</th><td>0.1.0</td>" in page
    assert page.count("class='tier reached'") == 0  # score 0
    assert "5★ ≥ 95%" in page
    assert len(re.findall(r'<circle class="attempt"', page)) == 2 and "best 70.00%" in page
    scored = html_report(replace(_crowded_result(), score=3), "Tiny", [], tiers=[0.5, 0.7, 0.8])
    assert scored.count("class='tier reached'") == 3 and 'class="trend"' not in scored


def _distinct_bytes(png: Path) -> int:
    """Distinct byte values of the decoded pixels: about 1 for a blank page."""
    with Image.open(png) as image:
        return len(set(image.tobytes()))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html_report(_failing_result(), "Tiny", [(_digit(1), "two", "one")]))
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    _screenshot(page, tmp_path / "report.png")
    _screenshot(blank, tmp_path / "blank.png")
    shot = tmp_path / "report.png"
    assert shot.exists() and shot.stat().st_size > 10_000
    assert _distinct_bytes(shot) > 20 * _distinct_bytes(tmp_path / "blank.png")


@pytest.mark.slow
def test_grade_report_shows_misclassified_training_images(
    workspace: Path, pixel_model: ModelFactory, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    model = pixel_model(permute=(0, 1, 3, 2))
    result = CliRunner().invoke(app, ["tiny01", "--model", str(model), "--report", str(out)])
    assert result.exit_code == 1 and out.exists()
    parsed = _parse(out.read_text())
    assert len(parsed.cells) == 16 and len(parsed.bars) == 4
    train = datasets.load("tiny", "train")
    shown = {_png_pixels(uri)[2] for uri in parsed.images}
    wrong = {train.images[i].tobytes() for i in np.nonzero(train.labels >= 2)[0]}
    assert parsed.images and shown <= wrong
    page = out.read_text()
    assert "5★ ≥ 95%" in page and page.count('<circle class="attempt"') == 1  # this attempt
    assert str(model) in page and "<th>Keras</th>" in page


_PROBE = """<script>(function () {
  function alpha(e) {
    let a = 1;
    for (; e && e.nodeType === 1; e = e.parentElement) a *= parseFloat(getComputedStyle(e).opacity);
    return a;
  }
  const wanted = [
    ['class name', 'svg.per-class text.name', 'fill'],
    ['accuracy', 'svg.per-class text.value', 'fill'],
    ['pass-mark label', 'svg text.mark-label', 'fill'],
    ['pass-mark line', 'svg line.pass-mark', 'stroke'],
    ['row label', 'svg.confusion text.row-label', 'fill'],
    ['axis', 'svg.trend text.axis', 'fill'],
    ['heading', 'h1, h3', 'color'],
    ['fact name', '.facts th', 'color'],
    ['fact', '.facts td', 'color'],
    ['note', '.muted', 'color'],
    ['hint', '.hints li', 'color'],
  ];
  const items = [];
  wanted.forEach(function (w) {
    document.querySelectorAll(w[1]).forEach(function (e) {
      const style = getComputedStyle(e);
      const own = w[2] === 'fill' ? style.fillOpacity : w[2] === 'stroke' ? style.strokeOpacity : 1;
      items.push({what: w[0], text: e.textContent.slice(0, 40), color: style[w[2]],
                  alpha: alpha(e) * parseFloat(own)});
    });
  });
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({
    background: getComputedStyle(document.body).backgroundColor,
    dark: matchMedia('(prefers-color-scheme: dark)').matches, items: items});
  document.body.appendChild(pre);
})();</script>"""

_HOSTS = {
    # JupyterLab's dark theme: its variables, set on the page, colour the output area.
    "jupyterlab": (
        "#111111",
        ":root{--jp-content-font-color1:rgba(255,255,255,1)}"
        ".jp-OutputArea-output{color:var(--jp-content-font-color1)}",
        "data-jp-theme-light='false'",
    ),
    # VS Code's notebook webview names the theme's foreground; the page's own colour is left
    # at the browser's default (black), the worst case.
    "vscode": ("#1e1e1e", ":root{--vscode-editor-foreground:#cccccc}", "class='vscode-dark'"),
    # Colab's dark output frame sets a light text colour and no theme variables.
    "colab": ("#383838", "body{color:#e3e3e3}", ""),
    # A light notebook on a desktop that prefers dark: the notebook's theme wins.
    "jupyterlab-light": (
        "#ffffff",
        ":root{--jp-content-font-color1:rgba(0,0,0,0.87)}"
        ".jp-OutputArea-output{color:var(--jp-content-font-color1)}",
        "data-jp-theme-light='true'",
    ),
}


def _rgb(css: str) -> tuple[float, float, float, float]:
    found = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)", css.strip())
    assert found is not None, css
    r, g, b, a = found.groups()
    return float(r), float(g), float(b), float(a or 1)


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(item: dict[str, Any], background: str) -> float:
    """WCAG contrast of ``item``'s colour, blended by its opacity, on ``background``."""
    bg = _rgb(background)
    assert bg[3] == 1, f"the page has no background of its own: {background}"
    r, g, b, a = _rgb(item["color"])
    a *= item["alpha"]
    seen = [c * a + d * (1 - a) for c, d in zip((r, g, b), bg[:3], strict=True)]
    light, dark = sorted((_luminance(seen), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _probe(page: Path, *args: str) -> dict[str, Any]:
    dom = _chromium(page, "--dump-dom", "--force-dark-mode", "--window-size=1000,900", *args)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom)
    assert found is not None, dom[-500:]
    return dict(json.loads(unescape(found.group(1))))


def _unreadable(found: dict[str, Any]) -> list[str]:
    """Texts under 4.5:1 against the page background (lines, not text: under 3:1)."""
    return [
        f"{item['what']} {item['text']!r}: {contrast:.2f}"
        for item in found["items"]
        if (contrast := _contrast(item, found["background"]))
        < (3.0 if item["what"].endswith("line") else 4.5)
    ]


def _fragment_result() -> Result:
    return replace(_failing_result(), score=2, notes=["network isolation was unavailable"])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
@pytest.mark.parametrize("host", sorted(_HOSTS))
def test_the_notebook_html_reads_in_the_notebook_theme(tmp_path: Path, host: str) -> None:
    """Class names, the pass-mark label and line, facts and notes contrast with a dark
    notebook's background (WCAG 4.5:1 for text), with prefers-color-scheme dark emulated;
    and with a light notebook's, though the desktop prefers dark."""
    background, css, body = _HOSTS[host]
    fragment = result_fragment(_fragment_result(), "Tiny")
    page = tmp_path / f"{host}.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{css}"
        f"body{{background:{background};font-family:sans-serif}}</style></head><body {body}>"
        f"<div class='jp-OutputArea-output'>{fragment}</div>{_PROBE}</body></html>"
    )
    found = _probe(page)
    assert found["dark"]  # prefers-color-scheme: dark, as a dark-themed desktop reports it
    whats = {item["what"] for item in found["items"]}
    assert {"class name", "pass-mark label", "pass-mark line", "fact name"} <= whats
    assert _unreadable(found) == []
    shot = tmp_path / f"{host}.png"
    _chromium(page, f"--screenshot={shot}", "--window-size=900,700", "--force-dark-mode")
    assert _distinct_bytes(shot) > 20


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_the_report_page_follows_a_dark_system_theme_and_stays_light_otherwise(
    tmp_path: Path,
) -> None:
    page = tmp_path / "report.html"
    report = html_report(
        _crowded_result(), "Tiny", [], tiers=[0.5, 0.9], attempts=_attempts([0.5, 0.7])
    )
    page.write_text(report.replace("</body>", _PROBE + "</body>"))
    dark = _probe(page)
    assert dark["dark"] and _rgb(dark["background"])[3] == 1  # Canvas, in its dark scheme
    assert _luminance(_rgb(dark["background"])) < 0.05
    assert _unreadable(dark) == []
    light = _probe(page, "--blink-settings=preferredColorScheme=1")
    assert not light["dark"] and _luminance(_rgb(light["background"])) > 0.9
    assert _unreadable(light) == []
