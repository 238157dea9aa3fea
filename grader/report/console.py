"""The two consoles and the one-line messages: results to stdout; errors, progress, notes to stderr.

Keeping stdout for results alone is what lets ``--json`` print exactly one object.

Untrusted text (file, layer and student names, messages that embed them, a child's output)
reaches rich only as a :class:`~rich.text.Text` built by :func:`shown`: never read as markup
(``d[/e].keras`` would crash it, ``[link=…]`` would plant a hyperlink), its control and bidi
characters made visible by :func:`grader.text.visible`. Markup strings hold only our words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from grader.text import visible

if TYPE_CHECKING:
    from rich.style import StyleType

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

STATUS_STYLE = {
    "pass": ("PASS", "bold white on green"),
    "fail": ("FAIL", "bold white on red"),
    "invalid": ("INVALID", "bold white on red"),
    "timeout": ("TIMEOUT", "bold white on red"),
    "error": ("ERROR", "bold white on magenta"),
}


def shown(text: str, style: StyleType = "", *, lines: bool = False) -> Text:
    """Untrusted ``text`` as rich shows it: literal (never read as markup), its control and
    bidi characters made visible (``\x1b``); with ``lines``, its line breaks kept."""
    return Text(visible(text, keep="\n" if lines else ""), style=style)


def error(message: str) -> None:
    """One red line on stderr: what is wrong and what to do."""
    err.print(shown(f"error: {message}", style="bold red", lines=True), soft_wrap=True)


def note(message: str) -> None:
    """A yellow line on stderr, for caveats that are not failures."""
    err.print(shown(message, style="yellow", lines=True), soft_wrap=True)


def info(message: str) -> None:
    """A plain line on stdout."""
    out.print(shown(message, lines=True), soft_wrap=True)


def child_line(line: str) -> None:
    """One line of the learner's solution output, streamed live to stderr; its escape
    sequences are shown, never run by the terminal."""
    err.print(Text(f"│ {visible(line.expandtabs())}", style="dim"), soft_wrap=True)


def print_json(text: str) -> None:
    """Write raw JSON to stdout, untouched by rich."""
    print(text, flush=True)


@contextmanager
def download_progress(label: str) -> Iterator[Callable[[int, int | None], None]]:
    """A rich progress bar on stderr, exposed as the datasets' progress callback.

    The bar appears on the first callback, so a load that finds its data on disk shows nothing.
    When stderr is not a terminal (piped, logged) there is no bar, only one line saying what
    is downloaded, and no blank line is left behind.
    """
    if not err.is_terminal:
        said: list[bool] = []

        def plain(done: int, total: int | None) -> None:
            if not said:
                said.append(True)
                err.print(Text(f"{label}…", style="dim"), soft_wrap=True)

        yield plain
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task_id = bar.add_task(label, total=None)

    def update(done: int, total: int | None) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task_id, completed=done, total=total)

    try:
        yield update
    finally:
        if bar.live.is_started:
            bar.stop()


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def fmt_minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def text_bar(value: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, value)) * width)
    return "█" * filled + "░" * (width - filled)
