"""``grade TASK --report report.html``: a self-contained page that renders in headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grader import datasets
from grader.cli import app
from grader.report.html import html_report
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


def _screenshot(page: Path, out: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium is not None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--screenshot={out}",
                "--window-size=1200,900",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )


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
