"""Progress of a sweep's jobs: a rich bar on a terminal, one line per job off it.

The sweep callback is driven as Hydra drives it (start, one ``on_job_end`` per job, end), with
tracking off; the terminal is rich's Console forced into terminal mode, so no tty is needed.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from rich.console import Console

from predictor import progress
from predictor.progress import Progress
from predictor.tracking.callbacks import MlflowSweepCallback, sweep_size


def _config(tmp_path: Path, task: list[str], sweeper: dict | None = None):
    return OmegaConf.create({
        "tracking": {"enabled": False}, "optimized_metric": "cv_roc_auc",
        "hydra": {"sweeper": sweeper or {}, "overrides": {"task": task},
                  "sweep": {"dir": str(tmp_path / "sweep")}}})


def _job(number: int, objective: float) -> JobReturn:
    job = JobReturn(overrides=[f"model.response.num_leaves={4 * (number + 1)}"],
                    hydra_cfg=OmegaConf.create({"hydra": {"job": {"num": number}}}),
                    status=JobStatus.COMPLETED)
    job.return_value = objective
    return job


def _sweep(tmp_path: Path, inner: bool = False) -> None:
    config = _config(tmp_path, ["model.response.num_leaves=4,8,16", "+experiment=demo_fast"])
    callback = MlflowSweepCallback()
    callback.on_multirun_start(config)
    for number, objective in enumerate([0.71, 0.74, 0.72]):
        if inner:  # the job's own CV folds, drawn while the sweep's bar is live
            for _ in Progress("CV folds", total=2).each(range(2)):
                pass
        callback.on_job_end(config, _job(number, objective))
    callback.on_multirun_end(config)


def test_the_sweep_size_is_known_up_front(tmp_path: Path) -> None:
    assert sweep_size(_config(tmp_path, ["a=1,2,3", "b=range(0,4)", "+c=x"])) == 12
    assert sweep_size(_config(tmp_path, ["a=1,2"], {"params": {"a": "1,2,3", "b": "x,y"}})) == 4
    assert sweep_size(_config(tmp_path, ["a=1"], {"n_trials": 8})) == 8
    assert sweep_size(_config(tmp_path, ["a=interval(0,1)"])) is None


def test_off_a_terminal_one_line_per_job_with_count_and_time_left(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREDICTOR_PROGRESS", raising=False)  # pytest's stderr: not a tty
    caplog.set_level(logging.INFO, logger="predictor.progress")
    _sweep(tmp_path)
    lines = [r.getMessage() for r in caplog.records if r.name == "predictor.progress"]
    assert len(lines) == 3
    assert lines[0].startswith("sweep jobs 1/3 done: best objective so far 0.7100, ~")
    assert lines[0].endswith(" left")
    assert lines[2] == "sweep jobs 3/3 done: best objective so far 0.7400"


def test_on_a_terminal_a_live_bar_with_each_jobs_folds_under_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(progress, "make_console", lambda: Console(
        file=screen, force_terminal=True, width=120, color_system=None))
    monkeypatch.setenv("PREDICTOR_PROGRESS", "bar")
    caplog.set_level(logging.INFO, logger="predictor.progress")
    _sweep(tmp_path, inner=True)
    drawn = screen.getvalue()
    assert "sweep jobs" in drawn and "3/3" in drawn and "left" in drawn
    assert "CV folds" in drawn and "2/2" in drawn  # inner bars share the one live display
    assert not [r for r in caplog.records if r.name == "predictor.progress"]  # no plain lines
    assert progress._Live.display is None and progress._Live.users == 0  # all closed
