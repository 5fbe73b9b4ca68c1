"""MLflow records of a model's life after training: evaluation runs and recalibrated versions.

An evaluation run (``predictor evaluate --log``) carries the metrics (grouped like a
training's: ``external/roc_auc``, ``baseline/tmb/external/roc_auc``; ``metrics.json`` keeps
its names, see :mod:`predictor.tracking.metric_names`), the report (without
patient ids), ``metrics.json`` and the plots, and is linked to the model it evaluated: tags
``evaluated_model_uri`` and, for a registered model, ``evaluated_model_name``/``_version`` and
the version's training run; the model version gets a ``last_evaluation_run_id`` tag. A
recalibrated bundle (``predictor recalibrate --register NAME``) is logged like a trained one
(pyfunc from code, no pickle) in a run tagged with its parent, and registered as a new version.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from predictor.tracking.metric_names import evaluation_mlflow_metrics
from predictor.tracking.mlflow_run import (
    log_metrics,
    log_params,
    resolve_tracking_uri,
    standard_tags,
    tracked_run,
)
from predictor.tracking.params import safe_tags
from predictor.tracking.run_logging import check_tracking

log = logging.getLogger(__name__)

EXPERIMENT = "predictor"
RUN_TYPE_TAG = "predictor.run_type"


def _experiment() -> str:
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT


def model_links(model_uri: str) -> dict[str, str]:
    """Tags that link a run to the model it used (name, version and training run of a
    ``models:/`` URI; the run of a ``runs:/`` URI)."""
    tags = {"evaluated_model_uri": str(model_uri)}
    parts = str(model_uri).removeprefix("models:/").split("/")
    if str(model_uri).startswith("models:/") and len(parts) == 2:
        tags.update(evaluated_model_name=parts[0], evaluated_model_version=parts[1])
        try:
            version = MlflowClient().get_model_version(parts[0], parts[1])
            if version.run_id:
                tags["evaluated_model_run_id"] = version.run_id
        except MlflowException as error:
            log.warning("model version %s not found in the registry (%s)", model_uri,
                        str(error).splitlines()[0][:200])
    elif str(model_uri).startswith("runs:/"):
        tags["evaluated_model_run_id"] = str(model_uri).removeprefix("runs:/").split("/")[0]
    return tags


def _check_store(uri: str) -> None:
    """The same store check as training (writable local store, experiment created under the
    store lock), for the evaluation's experiment."""
    check_tracking({"uri": uri, "experiment_name": _experiment()})


def log_evaluation_run(*, model_uri: str, metrics: Mapping[str, float], files: Iterable[Path],
                       plots: Path, data_fingerprint: str, patient_ids: Iterable[Any],
                       params: Mapping[str, Any]) -> str:
    """Log an evaluation run linked to ``model_uri``; return its run id."""
    uri = resolve_tracking_uri(None)
    _check_store(uri)
    ids = {str(i) for i in patient_ids}
    tags = safe_tags({**standard_tags(data_fingerprint), RUN_TYPE_TAG: "evaluation",
                      **model_links(model_uri)}, ids)
    with tracked_run(uri=uri, experiment_name=_experiment(), run_name="evaluate",
                     tags=tags) as run:
        run_id = run.info.run_id
        log_params(run_id, {k: str(v) for k, v in params.items()})
        log_metrics(run_id, evaluation_mlflow_metrics(metrics))  # external/roc_auc ...
        for path in files:
            mlflow.log_artifact(str(path))
        if Path(plots).is_dir() and any(Path(plots).iterdir()):
            mlflow.log_artifacts(str(plots), artifact_path="plots")
    name, version = tags.get("evaluated_model_name"), tags.get("evaluated_model_version")
    if name and version:
        try:
            MlflowClient().set_model_version_tag(name, version, "last_evaluation_run_id",
                                                 run_id)
        except MlflowException as error:
            log.warning("could not tag model version %s/%s (%s)", name, version,
                        str(error).splitlines()[0][:200])
    return run_id


def register_recalibrated(*, bundle_dir: Path, name: str, parent_uri: str,
                          metrics: Mapping[str, float], params: Mapping[str, Any],
                          data_fingerprint: str, patient_ids: Iterable[Any], model_code: Path,
                          input_example, output_example,
                          manifest_sha256: str | None = None) -> str:
    """Log the recalibrated bundle in a run linked to its parent and register it as a new
    version of ``name``; return ``models:/<name>/<version>``. ``model_code`` is the serving
    layer's models-from-code file; the examples are synthetic rows and their predictions
    (no patient of the local cohort); ``manifest_sha256`` is recorded on the new version (see
    :func:`~predictor.tracking.model_logging.log_predictor_model`)."""
    from predictor.tracking.model_logging import log_predictor_model

    uri = resolve_tracking_uri(None)
    _check_store(uri)
    ids = {str(i) for i in patient_ids}
    links = {k.replace("evaluated_", "parent_"): v for k, v in model_links(parent_uri).items()}
    tags = safe_tags({**standard_tags(data_fingerprint), RUN_TYPE_TAG: "recalibration",
                      **links}, ids)
    with tracked_run(uri=uri, experiment_name=_experiment(), run_name="recalibrate",
                     tags=tags) as run:
        log_params(run.info.run_id, {k: str(v) for k, v in params.items()})
        log_metrics(run.info.run_id, metrics)
        return log_predictor_model(Path(bundle_dir), model_code=Path(model_code),
                                   input_example=input_example,
                                   output_example=output_example, registered_model_name=name,
                                   manifest_sha256=manifest_sha256)
