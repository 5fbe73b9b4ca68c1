"""The training and test cohorts as MLflow datasets (the run's Dataset column and lineage).

Only metadata is logged, never a row: the name, the digest (the cohort's content fingerprint,
the ``data_fingerprint`` tag), the source path, the schema (column names and types) and a
profile of counts (patients, responders, relapse events). Patient ids stay out.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, Schema


class CohortDataset(MetaDataset):
    """A :class:`MetaDataset` with a profile (counts)."""

    def __init__(self, source: Any, name: str, digest: str, schema: Schema,
                 profile: dict[str, Any]) -> None:
        self._profile = profile
        super().__init__(source, name=name, digest=digest, schema=schema)

    @property
    def profile(self) -> dict[str, Any]:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        config = super().to_dict()
        config["profile"] = json.dumps(self._profile)
        return config


def _source(path: str | Path | None) -> Any:
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    if path is None:  # simulated: the code made it
        return CodeDatasetSource(tags={"generator": "predictor.data.simulator"})
    with warnings.catch_warnings():  # "can be interpreted in multiple ways": both are local
        warnings.simplefilter("ignore", UserWarning)
        return resolve_dataset_source(str(Path(path).resolve()))


def cohort_schema(cohort: Any) -> Schema:
    """Clinical column names and types (double or string), patient id first."""
    specs = [ColSpec("string", "patient_id")]
    for name in cohort.clinical.columns:
        col = cohort.clinical[name]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        specs.append(ColSpec("double" if numeric else "string", str(name), required=False))
    return Schema(specs)


def cohort_profile(cohort: Any) -> dict[str, Any]:
    """Counts only: patients, and where present responders / relapse events."""
    profile: dict[str, Any] = {"patients": len(cohort.patient_ids)}
    outcomes = getattr(cohort, "outcomes", None)
    if isinstance(outcomes, pd.DataFrame):
        for column, key in (("responder", "responders"), ("pfs_event", "pfs_events"),
                            ("os_event", "os_events")):
            if column in outcomes:
                values = pd.to_numeric(outcomes[column], errors="coerce")
                profile[key] = int((values == 1).sum())
    for table in ("mutations", "cna", "segments", "clones", "tme", "ctdna"):
        frame = getattr(cohort, table, None)
        if isinstance(frame, pd.DataFrame) and len(frame):
            profile[f"{table}_rows"] = len(frame)
    return profile


def cohort_dataset(cohort: Any, *, name: str, source: str | Path | None) -> CohortDataset:
    return CohortDataset(_source(source), name=name, digest=cohort.fingerprint(),
                         schema=cohort_schema(cohort), profile=cohort_profile(cohort))


def log_cohort(cohort: Any, *, context: str, source: str | Path | None,
               name: str | None = None) -> CohortDataset:
    """Log ``cohort`` as an input of the active run (context ``training`` or ``test``)."""
    dataset = cohort_dataset(cohort, name=name or f"{context}_cohort", source=source)
    mlflow.log_input(dataset, context=context)
    return dataset
