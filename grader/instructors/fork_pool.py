"""The fork-servers a batch grades with: one per worker slot, started on first use.

A server that stops (a hostile model may kill its zygote) fails only the model it served and
is replaced for the next one. Where no server can start (no confinement that allows it, or
a zygote that would not fork safely), every model is graded in a fresh child as before, and
:attr:`ForkPool.note` says so; batch puts that note in each result.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from grader.datasets.hidden import hidden_folders
from grader.grading.inputs import GradingData
from grader.sandbox.confine import isolation
from grader.sandbox.forkserver import ForkServer, ForkServerUnavailable
from grader.sandbox.process import Limits
from grader.tasks.spec import TaskSpec


class ForkPool:
    """Fork-servers for ``task`` and ``data``, leased one per grading."""

    def __init__(self, task: TaskSpec, data: GradingData, limits: Limits, *, enabled: bool) -> None:
        self._task, self._data, self._limits = task, data, limits
        self._idle: queue.SimpleQueue[ForkServer] = queue.SimpleQueue()
        self._all: list[ForkServer] = []
        self._lock = threading.Lock()
        self.note: str | None = None if enabled else "graded in fresh children (--fresh-children)"
        if enabled and isolation().kind == "none":
            # Without a PID namespace of its own a zygote could not sweep what a child left.
            enabled = False
            self.note = "no PID namespace here for a fork-server; each model had a fresh child"
        self._enabled = enabled

    @contextmanager
    def lease(self) -> Iterator[ForkServer | None]:
        """A running server for one grading, or None (grade in a fresh child)."""
        server = self._take()
        try:
            yield server
        finally:
            if server is not None and server.alive:
                self._idle.put(server)

    def _take(self) -> ForkServer | None:
        while True:
            try:
                server = self._idle.get_nowait()
            except queue.Empty:
                return self._start()
            if server.alive:
                return server

    def _start(self) -> ForkServer | None:
        with self._lock:
            if not self._enabled:
                return None
        try:
            server = ForkServer(self._data.joined, self._limits, hide=hidden_folders(self._task))
        except ForkServerUnavailable as err:
            with self._lock:
                self._enabled = False
                self.note = (
                    f"fork-server unavailable ({err}); each model was graded in a fresh child"
                )
            return None
        with self._lock:
            self._all.append(server)
        return server

    @property
    def servers(self) -> list[ForkServer]:
        """Every server started so far (for benchmarks: models served, peak memory)."""
        return list(self._all)

    def close(self) -> None:
        """Stop every server."""
        for server in self._all:
            server.close()
