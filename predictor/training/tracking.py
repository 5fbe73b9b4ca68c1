"""The MLflow side of a run: check the store before training, then log everything once."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from predictor.training.data import TrainingData
from predictor.training.report import RunFiles


def check_store(tracking: Mapping[str, Any]) -> None:
    """Reach the tracking store before training, so a wrong URI fails in seconds."""
    if tracking.get("enabled", True):
        from predictor.tracking.mlflow_run import resolve_tracking_uri
        from predictor.tracking.run_logging import check_tracking

        check_local_store(resolve_tracking_uri(tracking.get("uri")))
        check_tracking(tracking)


def local_store_path(uri: str) -> Path | None:
    """The file a ``sqlite:///`` URI names, or the folder of a file store; None for servers."""
    from urllib.parse import unquote, urlparse

    if uri.startswith("sqlite:///"):
        name = unquote(uri[len("sqlite:///"):].split("?", 1)[0])
        return None if name in ("", ":memory:") else Path(name)
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and uri:
        return Path(uri)
    return None


def check_local_store(uri: str) -> None:
    """A local store (sqlite file, file store folder) must be writable, checked before MLflow
    starts: MLflow retries a store it cannot open for minutes and then prints a traceback."""
    import tempfile

    from predictor.errors import InputError

    path = local_store_path(uri)
    if path is None:
        return
    path = path.expanduser()
    if path.exists() and path.is_file():
        if not os.access(path, os.R_OK | os.W_OK):
            raise InputError(f"cannot use the MLflow tracking store {uri!r}: the file is not "
                             "writable", file=path)
        folder = path.parent
    elif uri.startswith("sqlite:///"):
        folder = path.parent
    else:
        folder = path
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if not existing.is_dir():
        problem = f"{existing} is not a folder"
    else:
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as error:
            problem = f"cannot write in {existing} ({error.strerror or error})"
    if problem is not None:
        raise InputError(f"cannot use the MLflow tracking store {uri!r}: {problem}")


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
