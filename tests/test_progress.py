"""Progress of long work: counted log lines with time left off a terminal, notes once per run."""

from __future__ import annotations

import logging

import pytest

from predictor.progress import OncePerRun, Progress, time_left, use_bar, warnings_once


def test_plain_lines_count_steps_and_say_what_is_left(caplog: pytest.LogCaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREDICTOR_PROGRESS", "plain")
    caplog.set_level(logging.INFO, logger="predictor.progress")
    items = list(Progress("CV folds", total=3).each(["a", "b", "c"]))
    assert items == ["a", "b", "c"]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("CV folds 1/3 done: a, ~") and lines[0].endswith(" left")
    assert lines[-1] == "CV folds 3/3 done: c"  # nothing left to estimate


def test_time_left_from_the_mean_step() -> None:
    assert time_left(1, 4, 10.0) == "~30 s left"
    assert time_left(2, 10, 60.0) == "~4 min 0 s left"
    assert time_left(0, 4, 0.0) == "" and time_left(4, 4, 9.0) == ""


def test_a_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREDICTOR_PROGRESS", raising=False)
    assert use_bar() is False  # pytest captures stderr: not a terminal
    monkeypatch.setenv("PREDICTOR_PROGRESS", "bar")
    assert use_bar() is True


def test_the_bar_draws_on_stderr_not_stdout(capsys: pytest.CaptureFixture) -> None:
    for _ in Progress("bootstrap", total=2, bar=True).each(range(2)):
        pass
    out = capsys.readouterr()
    assert out.out == "" and "bootstrap" in out.err and "2/2" in out.err


def test_each_note_once_per_run() -> None:
    stream_records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            stream_records.append(record.getMessage())

    root = logging.getLogger()
    handler = Collect(level=logging.INFO)
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        log = logging.getLogger("predictor.features.passthrough")
        with warnings_once() as seen:
            for _ in range(5):  # one per CV fold
                log.info("pass-through columns not in the cohort, skipped: TMB")
                log.warning("the same warning")
            log.error("an error is never dropped")
            log.error("an error is never dropped")
        log.info("pass-through columns not in the cohort, skipped: TMB")  # next run: again
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert stream_records == ["pass-through columns not in the cohort, skipped: TMB",
                              "the same warning", "an error is never dropped",
                              "an error is never dropped",
                              "pass-through columns not in the cohort, skipped: TMB"]
    assert isinstance(seen, OncePerRun) and seen.dropped >= 8


def test_short_steps_give_one_summary_line(caplog: pytest.LogCaptureFixture,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREDICTOR_PROGRESS", "plain")
    caplog.set_level(logging.INFO, logger="predictor.progress")
    for _ in Progress("bootstrap CIs", total=6, each_line=False).each(range(6)):
        pass
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("bootstrap CIs: 6 done in ")
