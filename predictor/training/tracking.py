"""The MLflow side of a run: check the store before training, then log everything once."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from predictor.training.data import TrainingData
from predictor.training.report import RunFiles


def check_store(tracking: Mapping[str, Any]) -> None:
    """Reach the tracking store before training, so a wrong URI fails in seconds."""
    if tracking.get("enabled", True):
        from predictor.tracking.run_logging import check_tracking

        check_tracking(tracking)


def log_run(tracking: Mapping[str, Any], *, run_name: str, config: dict, data: TrainingData,
            metrics: dict[str, float], files: RunFiles, bundle_dir: Path
            ) -> tuple[str | None, str | None]:
    """Params, metrics, tags, artifacts and the pyfunc model; returns (run id, model URI).

    Without tracking (``tracking.enabled=false``) nothing is logged: (None, None).
    """
    if not tracking.get("enabled", True):
        return None, None
    from predictor.serving.bundle import load_bundle
    from predictor.serving.pyfunc_model import PYFUNC_CODE, rows_to_cohort
    from predictor.serving.trust import bundle_manifest_sha256
    from predictor.tracking.model_logging import synthetic_input_example
    from predictor.tracking.run_logging import log_training_run

    example = synthetic_input_example(data.train)
    with _quiet_missing_input_warning():  # the flat example lacks MAF/TME tables by design
        output = load_bundle(bundle_dir).predict(rows_to_cohort(example))
        logged = log_training_run(
            tracking=tracking, run_name=run_name, config=config, metrics=metrics,
            patient_ids=data.all_patient_ids(), data_fingerprint=data.full.fingerprint(),
            extra_tags=data.extra_tags(),
            artifact_files=[files.report, files.metrics, files.config],
            artifact_dirs={"plots": files.plots}, bundle_dir=bundle_dir,
            model_code=PYFUNC_CODE, input_example=example, output_example=output,
            manifest_sha256=bundle_manifest_sha256(bundle_dir))
    return logged.run_id, logged.model_uri


@contextlib.contextmanager
def _quiet_missing_input_warning() -> Iterator[None]:
    """Silence the predictor's missing-input warning while the pyfunc example is scored.

    The MLflow pyfunc takes flat per-patient rows, so its synthetic example has no MAF, clone or
    TME tables; the warning would be true but says nothing about the user's data.
    """
    logger = logging.getLogger("predictor.serving.predictor")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
