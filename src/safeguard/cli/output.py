"""Terminal output for the CLI: JSON Lines to stdout, messages and progress bars to stderr.

Progress bars appear only when stderr is a terminal (never in pipes or logs). When stdout is
the same terminal, records are printed above the bar so the two never garble each other.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


class Reporter:
    """Writes records and messages for one command run, with an optional progress bar."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress
        self._task = progress.add_task("", total=None) if progress else None
        self.completed = 0

    def start(self, total: int, description: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total, description=description)

    def advance(self, n: int = 1) -> None:
        self.completed += n
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def record(self, obj: dict[str, Any]) -> None:
        """One JSON object on one line of stdout."""
        line = json.dumps(obj, ensure_ascii=False)
        if self._progress is not None and sys.stdout.isatty():
            self._progress.console.out(line, highlight=False)
        else:
            sys.stdout.write(line + "\n")

    def line(self, text: str) -> None:
        """A line for humans on stdout."""
        if self._progress is not None and sys.stdout.isatty():
            self._progress.console.print(text, highlight=False)
        else:
            out_console.print(text)

    def warn(self, text: str) -> None:
        """A one-line message for humans on stderr."""
        console = self._progress.console if self._progress is not None else err_console
        console.print(text, markup=False, highlight=False)


@contextmanager
def reporter(show_progress: bool = True) -> Iterator[Reporter]:
    """A Reporter with a progress bar if stderr is an interactive terminal."""
    if not (show_progress and err_console.is_terminal):
        yield Reporter(None)
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with progress:
        yield Reporter(progress)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=None) + "\n")


@contextmanager
def stop_on_signals(stop: threading.Event, what: str) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (saying on stderr that `what` is finished first); a
    second one stops at once. For commands that run until told to stop."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        err_console.print(f"{signal.Signals(signum).name}: stopping after {what}", markup=False)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
