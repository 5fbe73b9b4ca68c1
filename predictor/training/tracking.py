"""The MLflow side of a run: check the store before training, open the run when training starts
(:func:`training_run`), log folds as they finish, results at the end; a failure (or Ctrl-C)
ends the run FAILED (KILLED) with the error as a tag."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from predictor.training.data import CohortData, TrainingData, resolve_path
from predictor.training.report import RunFiles


def check_store(tracking: Mapping[str, Any]) -> None:
    """Reach the tracking store before training, so a wrong URI fails in seconds."""
    if tracking.get("enabled", True):
        from predictor.tracking.run_logging import check_tracking

        check_tracking(tracking)


class LiveRun:
    """The training's MLflow run while it trains; every method is a no-op without tracking."""

    def __init__(self, tracking: Mapping[str, Any], run: Any = None) -> None:
        self.tracking = tracking
        self.run = run  # predictor.tracking.run_logging.TrainingRun, or None

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.run_id

    def log_data(self, *, config: dict, data: TrainingData, data_spec: CohortData) -> None:
        """Params, the data fingerprint tags and the cohorts as MLflow datasets."""
        if self.run is None:
            return
        tags = {"data_fingerprint": data.full.fingerprint(), **data.extra_tags()}
        source = data_spec.path if isinstance(data_spec.path, str) else None
        cohorts: dict[str, tuple[Any, Any]] = {"training": (data.train, resolve_path(source))}
        if data.test is not None:
            test_source = data_spec.test_path if data.separate_test() else source
            cohorts["test"] = (data.test, resolve_path(test_source))
        self.run.log_data(config=config, patient_ids=data.all_patient_ids(), cohorts=cohorts,
                          tags=tags)

    def log_fold(self, step: int, metrics: dict[str, float]) -> None:
        if self.run is not None:
            self.run.log_fold(step, metrics)

    def finish(self, *, data: TrainingData, metrics: dict[str, float], files: RunFiles,
               bundle_dir: Path) -> tuple[str | None, str | None]:
        """Metrics, artifacts and the pyfunc model; returns (run id, model URI)."""
        if self.run is None:
            return None, None
        from predictor.serving.bundle import load_bundle
        from predictor.serving.pyfunc_model import (
            PYFUNC_CODE,
            bundle_flat_mapping,
            quiet_missing_inputs,
            rows_to_cohort,
        )
        from predictor.serving.trust import manifest_sha256
        from predictor.tracking.input_examples import source_example
        from predictor.tracking.model_logging import synthetic_input_example

        predictor = load_bundle(bundle_dir)
        example = synthetic_input_example(data.train)
        schema_example = None
        mapping = bundle_flat_mapping(predictor.manifest)
        if mapping is not None:  # the example in the cohort file's own columns
            ids = data.train.patient_ids.astype(str)
            numeric_ids = bool(ids.str.fullmatch(r"\d+").all())
            schema_example, example = example, source_example(example, mapping, numeric_ids)
        with quiet_missing_inputs():  # the flat example lacks MAF/TME tables by design
            output = predictor.predict(rows_to_cohort(example, mapping))
            logged = self.run.finish(
                metrics=metrics, artifact_files=[files.report, files.metrics, files.config,
                                *files.extra],
                artifact_dirs={"plots": files.plots}, bundle_dir=bundle_dir,
                model_code=PYFUNC_CODE, input_example=example, output_example=output,
                schema_example=schema_example,
                manifest_sha256=manifest_sha256(predictor.manifest),  # as loaded and verified
                log_model=bool(self.tracking.get("log_model", True)),
                registered_model_name=self.tracking.get("registered_model_name"))
        return logged.run_id, logged.model_uri


@contextlib.contextmanager
def training_run(tracking: Mapping[str, Any], run_name: str) -> Iterator[LiveRun]:
    """Open the MLflow run now (RUNNING); end it FAILED/KILLED if the body raises."""
    if not tracking.get("enabled", True):
        yield LiveRun(tracking)
        return
    from predictor.files import sigterm_exits
    from predictor.tracking.run_logging import start_training_run

    run = start_training_run(tracking, run_name=run_name)
    try:
        with sigterm_exits():  # SIGTERM ends the run KILLED, as Ctrl-C does
            yield LiveRun(tracking, run)
    except BaseException as error:
        run.fail(error)
        raise

