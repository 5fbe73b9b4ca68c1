"""Everything one training run leaves in MLflow, from its start to its end.

:func:`start_training_run` opens the run when training starts (status RUNNING, tags first,
params once the data is read), :meth:`TrainingRun.log_fold` logs each CV fold as it finishes
(``cv/fold/<metric>`` with ``step``), :meth:`TrainingRun.finish` logs the results and ends it
FINISHED, and :meth:`TrainingRun.fail` ends it FAILED (KILLED on Ctrl-C) with the error as
the ``error`` tag, so a training that dies is still visible. Metric names are grouped for
MLflow (``cv/roc_auc``; see :mod:`predictor.tracking.metric_names`).

Params: the flattened resolved config (no ``hydra`` node; values naming a patient redacted).
Metrics: the run's metric dict (finite values only). Tags: git commit, data fingerprint,
package version. Artifacts: the resolved config YAML, the markdown report, the plots, the
metrics JSON, and the model (pyfunc, models-from-code) registered under
``tracking.registered_model_name``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from predictor.tracking.datasets import log_cohort
from predictor.tracking.metric_names import baseline_names, mlflow_metrics
from predictor.tracking.mlflow_run import (
    PARENT_RUN_ENV,
    check_local_store,
    log_metrics,
    log_params,
    resolve_tracking_uri,
    standard_tags,
    use_experiment,
)
from predictor.tracking.model_logging import log_predictor_model
from predictor.tracking.params import config_params, safe_tags

log = logging.getLogger(__name__)


def check_tracking(tracking: Mapping[str, Any]) -> str:
    """Reach the tracking store before training, so a wrong URI fails in seconds, not after
    the whole run. Returns the URI."""
    from mlflow.exceptions import MlflowException

    from predictor.errors import InputError

    uri = resolve_tracking_uri(tracking.get("uri"))
    check_local_store(uri)  # an unwritable local store: one line now, not minutes of retries
    try:
        use_experiment(uri, str(tracking.get("experiment_name", "predictor")))
    except (MlflowException, OSError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(f"cannot use the MLflow tracking store {uri!r}: {first[:200]}") from None
    return uri


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    model_uri: str | None
    tracking_uri: str


# ------------------------------------------------------------------------------- live run
ERROR_TAG = "error"
MAX_TAG = 5000


class TrainingRun:
    """The MLflow run of one training, open from the start of training to its end."""

    def __init__(self, run_id: str, uri: str) -> None:
        self.run_id = run_id
        self.uri = uri
        self._ids: set[str] = set()

    def log_data(self, *, config: Mapping[str, Any], patient_ids: Iterable[str],
                 cohorts: Mapping[str, tuple[Any, str | None]],
                 tags: Mapping[str, str]) -> None:
        """Params, data tags and the cohorts as MLflow datasets, once the data is read.

        ``cohorts``: context (``training``/``test``) -> (cohort, source path or None).
        """
        self._ids = {str(i) for i in patient_ids}
        mlflow.set_tags(safe_tags(tags, self._ids))
        log_params(self.run_id, config_params(config, self._ids))
        for context, (cohort, source) in cohorts.items():
            log_cohort(cohort, context=context, source=source)

    def log_fold(self, step: int, metrics: Mapping[str, float]) -> None:
        """One finished CV fold: ``cv/fold/<metric>`` at ``step``."""
        log_metrics(self.run_id, {f"cv/fold/{k}": v for k, v in metrics.items()}, step=step)

    def finish(self, *, metrics: Mapping[str, float], artifact_files: Iterable[Path],
               artifact_dirs: Mapping[str, Path], bundle_dir: Path | None,
               model_code: Path | None, input_example: pd.DataFrame | None,
               output_example: pd.DataFrame | None, log_model: bool,
               registered_model_name: str | None,
               schema_example: pd.DataFrame | None = None,
               manifest_sha256: str | None = None) -> LoggedRun:
        """Results, artifacts and the model; the run ends FINISHED."""
        log_metrics(self.run_id, mlflow_metrics(metrics, baseline_names(metrics)))
        for path in artifact_files:
            if Path(path).is_file():
                mlflow.log_artifact(str(path))
        for name, folder in artifact_dirs.items():
            if Path(folder).is_dir() and any(Path(folder).iterdir()):
                mlflow.log_artifacts(str(folder), artifact_path=name)
        model_uri = None
        if log_model and bundle_dir is not None and model_code:
            model_uri = log_predictor_model(
                Path(bundle_dir), model_code=Path(model_code), input_example=input_example,
                output_example=output_example, registered_model_name=registered_model_name,
                schema_example=schema_example, manifest_sha256=manifest_sha256)
        mlflow.end_run("FINISHED")
        log.info("MLflow run %s logged to %s", self.run_id, self.uri)
        return LoggedRun(run_id=self.run_id, model_uri=model_uri, tracking_uri=self.uri)

    def fail(self, error: BaseException) -> None:
        """End the run FAILED (KILLED for Ctrl-C or SIGTERM), the error's first line as the
        ``error`` tag."""
        from predictor.files import Terminated

        killed = isinstance(error, KeyboardInterrupt | Terminated)  # Ctrl-C or SIGTERM
        first = (str(error).strip().splitlines() or [""])[0]
        text = f"{type(error).__name__}: {first}" if first else type(error).__name__
        try:
            mlflow.set_tag(ERROR_TAG, safe_tags({ERROR_TAG: text[:MAX_TAG]}, self._ids)[ERROR_TAG])
        finally:
            mlflow.end_run("KILLED" if killed else "FAILED")


def start_training_run(tracking: Mapping[str, Any], *, run_name: str,
                       tags: Mapping[str, str] | None = None) -> TrainingRun:
    """Open the run (RUNNING) in the configured experiment, under the sweep's parent if any."""
    uri = resolve_tracking_uri(tracking.get("uri"))
    use_experiment(uri, str(tracking.get("experiment_name", "predictor")))
    parent = os.environ.get(PARENT_RUN_ENV) or None
    all_tags = {**standard_tags(None), **dict(tags or {})}
    run = mlflow.start_run(run_name=run_name, parent_run_id=parent, tags=all_tags)
    return TrainingRun(run.info.run_id, uri)
