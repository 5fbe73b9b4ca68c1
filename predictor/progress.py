"""Progress of long work: a live bar on a terminal, plain log lines otherwise.

On a terminal (stderr is a TTY) a ``rich`` progress bar shows the count, the elapsed time and
the time left; when stderr is a file or a pipe (CI, SLURM, ``2> train.log``) each step is one
log line with the same count and time left. ``PREDICTOR_PROGRESS=plain`` forces log lines,
``=bar`` forces the bar. Progress inside progress (the CV folds of each job of a sweep) shares
one live display: rich draws one at a time, so an inner bar is a second line under the outer
one and goes away when it is done. Also: :class:`OncePerRun`, a log filter that lets each distinct
warning through once (the same note from every CV fold is noise).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("predictor.progress")

PROGRESS_ENV = "PREDICTOR_PROGRESS"


def use_bar() -> bool:
    """Whether to draw a bar: forced by ``$PREDICTOR_PROGRESS``, else when stderr is a TTY."""
    mode = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if mode in ("bar", "plain"):
        return mode == "bar"
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def make_console() -> Any:
    """The console bars draw on: stderr, like the logs (stdout ends with the ``model_uri:``
    line scripts read). Tests swap it for a console forced into terminal mode."""
    from rich.console import Console

    return Console(stderr=True)


class _Live:
    """The one live rich display of the process and how many :class:`Progress` use it."""

    display: Any = None
    users = 0
    registered = False

    @classmethod
    def add(cls, description: str, total: int | None) -> tuple[Any, Any]:
        if cls.display is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            if not cls.registered:  # a sweep whose job raised never closes its bar
                atexit.register(cls.stop_all)
                cls.registered = True
            cls.display = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                       MofNCompleteColumn(), TimeElapsedColumn(),
                                       TextColumn("left"), TimeRemainingColumn(),
                                       console=make_console(), transient=False)
            cls.display.start()
        cls.users += 1
        task = cls.display.add_task(description, total=total)
        cls.display.refresh()
        return cls.display, task

    @classmethod
    def remove(cls, task: Any) -> None:
        cls.users -= 1
        if cls.users > 0:  # an inner bar: drop its line, the outer work goes on
            cls.display.remove_task(task)
            return
        cls.stop_all()  # the last one: the final state stays on screen

    @classmethod
    def stop_all(cls) -> None:
        """Stop the display (restores the terminal's cursor) whoever still uses it."""
        if cls.display is not None:
            cls.display.stop()
        cls.display, cls.users = None, 0


def time_left(done: int, total: int, elapsed: float) -> str:
    """``~1 min 20 s left`` from the mean time per step so far ('' before the first step)."""
    if done <= 0 or total <= done:
        return ""
    seconds = elapsed / done * (total - done)
    if seconds >= 60:
        return f"~{int(seconds // 60)} min {int(seconds % 60)} s left"
    return f"~{seconds:.0f} s left"


class Progress:
    """``total`` steps of one kind of work (``CV folds``, ``bootstrap``, ``sweep jobs`` ...)."""

    def __init__(self, description: str, total: int | None, *, bar: bool | None = None,
                 each_line: bool = True) -> None:
        """``each_line=False``: off a terminal, one summary line at the end instead of one
        per step (short steps such as the bootstrap of each learner)."""
        self.description = description
        self.each_line = each_line
        self.total = total
        self.done = 0
        self._start = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        if use_bar() if bar is None else bar:
            self._bar, self._task = _Live.add(description, total)

    def advance(self, note: str = "", steps: int = 1) -> None:
        """``steps`` more done; ``note`` says which (shown in the log line)."""
        self.done += steps
        if self._bar is not None:
            # steps are slow (a fold, a sweep job, a chunk): draw each one at once
            self._bar.update(self._task, advance=steps, refresh=True)
            return
        if not self.each_line:
            return
        of = f"/{self.total}" if self.total else ""
        left = time_left(self.done, self.total or 0, time.monotonic() - self._start)
        log.info("%s %d%s done%s%s", self.description, self.done, of,
                 f": {note}" if note else "", f", {left}" if left else "")

    def each(self, items: Iterable[T], note: Callable[[T], str] = str) -> Iterator[T]:
        """Yield ``items``, counting one step as the loop body of each finishes; then close."""
        try:
            for item in items:
                yield item
                self.advance(note(item))
        finally:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            _Live.remove(self._task)
            self._bar = None
        elif not self.each_line and self.done:
            log.info("%s: %d done in %.1f s", self.description, self.done,
                     time.monotonic() - self._start)
            self.each_line = True  # once

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OncePerRun(logging.Filter):
    """Let each distinct info/warning line (logger + text) through once; errors always pass.

    Notes that hold for the whole run (``pass-through columns not in the cohort, skipped: TMB``)
    would otherwise repeat for every CV fold and the final fit.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[tuple[str, str], logging.LogRecord] = {}
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not logging.INFO <= record.levelno < logging.ERROR:
            return True
        key = (record.name, record.getMessage())
        first = self.seen.setdefault(key, record)
        if first is record:  # every handler (console, train.log) gets the first one
            return True
        self.dropped += 1
        return False


class warnings_once:
    """Install :class:`OncePerRun` on the root logger's handlers for the duration of a run."""

    def __enter__(self) -> OncePerRun:
        self.filter = OncePerRun()
        self.handlers = list(logging.getLogger().handlers)
        for handler in self.handlers:
            handler.addFilter(self.filter)
        return self.filter

    def __exit__(self, *exc: object) -> None:
        for handler in self.handlers:
            handler.removeFilter(self.filter)
