"""Everything one training run leaves in MLflow, in one call.

Params: the flattened resolved config (no ``hydra`` node; values naming a patient redacted).
Metrics: the run's metric dict (finite values only). Tags: git commit, data fingerprint,
package version. Artifacts: the resolved config YAML, the markdown report, the plots, the
metrics JSON, and the model (pyfunc, models-from-code) registered under
``tracking.registered_model_name``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from predictor.tracking.mlflow_run import (
    log_metrics,
    log_params,
    resolve_tracking_uri,
    standard_tags,
    tracked_run,
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
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(str(tracking.get("experiment_name", "predictor")))
    except (MlflowException, OSError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(f"cannot use the MLflow tracking store {uri!r}: {first[:200]}") from None
    return uri


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    model_uri: str | None
    tracking_uri: str


def log_training_run(
    *,
    tracking: Mapping[str, Any],
    run_name: str,
    config: Mapping[str, Any],
    metrics: Mapping[str, float],
    patient_ids: Iterable[str],
    data_fingerprint: str | None,
    artifact_files: Iterable[Path],
    artifact_dirs: Mapping[str, Path],
    bundle_dir: Path | None,
    model_code: Path | None,
    input_example: pd.DataFrame | None,
    output_example: pd.DataFrame | None,
    parent_run_id: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
    manifest_sha256: str | None = None,
) -> LoggedRun:
    """Log one run (nested under ``parent_run_id`` or the sweep's parent) and its model."""
    ids = {str(i) for i in patient_ids}
    uri = resolve_tracking_uri(tracking.get("uri"))
    tags = safe_tags(standard_tags(data_fingerprint, extra_tags), ids)
    with tracked_run(uri=uri, experiment_name=str(tracking.get("experiment_name", "predictor")),
                     run_name=run_name, tags=tags, parent_run_id=parent_run_id) as run:
        run_id = run.info.run_id
        log_params(run_id, config_params(config, ids))
        log_metrics(run_id, metrics)
        for path in artifact_files:
            if Path(path).is_file():
                mlflow.log_artifact(str(path))
        for name, folder in artifact_dirs.items():
            if Path(folder).is_dir() and any(Path(folder).iterdir()):
                mlflow.log_artifacts(str(folder), artifact_path=name)
        model_uri = None
        if tracking.get("log_model", True) and bundle_dir is not None and model_code:
            model_uri = log_predictor_model(
                Path(bundle_dir), model_code=Path(model_code), input_example=input_example,
                output_example=output_example,
                registered_model_name=tracking.get("registered_model_name"),
                manifest_sha256=manifest_sha256)
    log.info("MLflow run %s logged to %s", run_id, uri)
    return LoggedRun(run_id=run_id, model_uri=model_uri, tracking_uri=uri)
