"""Hydra callback: one parent MLflow run per sweep, each job a child run under it.

``on_multirun_start`` creates the parent run and publishes its id in
``$PREDICTOR_MLFLOW_PARENT_RUN_ID`` and in ``<sweep dir>/mlflow_parent_run_id`` (for launchers
that run jobs in other processes); each job's run picks it up as ``parent_run_id``.
``on_multirun_end`` records the best objective seen and closes the parent run. Whether or not
tracking is on, it also writes ``<sweep dir>/sweep_summary.{md,csv}`` (every job's swept
overrides and CV metrics, best first; see ``sweep_summary``) and logs the table.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from predictor.progress import Progress
from predictor.tracking.mlflow_run import (
    PARENT_RUN_ENV,
    resolve_tracking_uri,
    standard_tags,
    use_experiment,
)
from predictor.tracking.params import to_param_value
from predictor.tracking.sweep_summary import (
    JobResult,
    job_result,
    summary_frame,
    to_markdown,
    write_summary,
)

log = logging.getLogger(__name__)

PARENT_RUN_FILE = "mlflow_parent_run_id"


def sweep_parent_run_id(sweep_dir: str | Path | None) -> str | None:
    """The sweep's parent run id: the environment first, then the file in the sweep dir."""
    value = os.environ.get(PARENT_RUN_ENV)
    if value:
        return value
    if sweep_dir is None:
        return None
    path = Path(sweep_dir) / PARENT_RUN_FILE
    return (path.read_text().strip() or None) if path.is_file() else None


def sweep_size(config: DictConfig) -> int | None:
    """How many jobs the sweep will run: Optuna's ``n_trials``, or the product of the choice
    and range sweeps of the basic sweeper (command line over ``hydra.sweeper.params``);
    None when it cannot be known up front (an interval sweep)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    sweeper = config.hydra.get("sweeper") or {}
    if sweeper.get("n_trials"):
        return int(sweeper.get("n_trials"))
    texts = [f"{k}={v}" for k, v in (sweeper.get("params") or {}).items()]
    texts += [str(o) for o in (config.hydra.overrides.get("task") or [])]
    try:
        parsed = OverridesParser.create().parse_overrides(texts)
        sweeps = {o.key_or_group: o for o in parsed}  # the command line wins
        size = 1
        for override in sweeps.values():
            if override.is_sweep_override():
                size *= len(list(override.sweep_string_iterator()))
    except HydraException:
        return None
    return size


def _tracking_enabled(config: DictConfig) -> bool:
    tracking = config.get("tracking")
    return bool(tracking is not None and tracking.get("enabled", True))


class MlflowSweepCallback(Callback):
    """Creates, publishes and closes the parent MLflow run of a Hydra multirun."""

    def __init__(self) -> None:
        self._client: Any = None
        self._run_id: str | None = None
        self._objectives: list[float] = []
        self._jobs: list[JobResult] | None = None  # a list only while a sweep runs
        self._progress: Progress | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._jobs = []
        # On a terminal a bar (count, time left) with each job's own bars (CV folds) under
        # it; otherwise one line per finished job.
        self._progress = Progress("sweep jobs", sweep_size(config))
        if not _tracking_enabled(config):
            return
        from mlflow.tracking import MlflowClient

        uri = resolve_tracking_uri(config.tracking.get("uri"))
        experiment_id = use_experiment(uri, str(config.tracking.experiment_name))
        self._client = MlflowClient(tracking_uri=uri)
        run = self._client.create_run(
            experiment_id,
            run_name=f"{config.get('name', 'predictor')}-sweep",
            tags={**standard_tags(None), "sweep": "parent"},
        )
        self._run_id = run.info.run_id
        overrides = list(config.hydra.overrides.get("task") or [])
        self._client.log_param(self._run_id, "sweep.overrides", to_param_value(overrides))
        sweeper = config.hydra.get("sweeper") or {}
        self._client.log_param(self._run_id, "sweep.sweeper",
                               to_param_value(sweeper.get("_target_", "basic")))
        os.environ[PARENT_RUN_ENV] = self._run_id
        sweep_dir = Path(str(config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / PARENT_RUN_FILE).write_text(self._run_id + "\n")

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if self._jobs is None:  # a single run (Hydra calls this hook for those too)
            return
        job = job_result(job_return)
        self._jobs.append(job)
        if job.objective is not None:
            self._objectives.append(job.objective)
        if self._progress is not None:
            finite = [o for o in self._objectives if math.isfinite(o)]
            best = f"best objective so far {max(finite):.4f}" if finite else ""
            self._progress.advance(best)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        files = self._write_summary(config)
        if self._run_id is None:
            return
        try:
            for path in files:
                self._client.log_artifact(self._run_id, str(path))
            if self._objectives:
                self._client.log_metric(self._run_id, "best_objective", max(self._objectives))
            self._client.log_metric(self._run_id, "n_jobs_finished", len(self._objectives))
            self._client.set_terminated(self._run_id, "FINISHED")
        finally:
            os.environ.pop(PARENT_RUN_ENV, None)
            self._run_id = None

    def _write_summary(self, config: DictConfig) -> list[Path]:
        """The sweep's job table, written next to the jobs and logged (empty: nothing)."""
        jobs, self._jobs = self._jobs, None
        if not jobs:
            return []
        frame = summary_frame(jobs, str(config.get("optimized_metric", "objective")))
        files = write_summary(frame, Path(str(config.hydra.sweep.dir)))
        log.info("sweep summary (%s):\n%s", files[1], to_markdown(frame))
        return files
