"""Which input tables and clinical columns a bundle's features actually depend on.

Why: feature families turn an absent input into NaN features silently (by design: missing is
never 0). At prediction time the user should still hear, once, that e.g. the ``albumin``
column or the ``tme`` table the model relies on is not in their file. We learn the
dependencies at save time by dropping each column/table from a small probe cohort and seeing
which model features change, so the warning names only inputs that matter.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAX_PROBE_PATIENTS = 100
MAX_LISTED = 3  # feature names shown per missing input in the warning
# Cohort inputs other than clinical columns (``expression`` is the RNA-seq matrix).
OPTIONAL_TABLES = ("mutations", "cna", "clones", "tme", "ctdna", "segments", "expression")


def _features(pipeline: Any, cohort: Any, names: list[str]) -> np.ndarray | None:
    try:
        frame = pipeline.transform(cohort)
    except Exception:  # a required input is gone: the pipeline cannot run without it
        return None
    return frame.reindex(columns=names).to_numpy(dtype=np.float64, na_value=np.nan)


def _changed(base: np.ndarray, other: np.ndarray | None, names: list[str]) -> list[str]:
    """Names of the features that differ (all of them when the pipeline failed)."""
    if other is None:
        return list(names)
    same = (base == other) | (np.isnan(base) & np.isnan(other))
    return [n for n, ok in zip(names, same.all(axis=0), strict=True) if not ok]


def used_inputs(pipeline: Any, cohort: Any, feature_names: Iterable[str]) -> dict:
    """``{"tables": {table: [features]}, "columns": {column: [features]}}``: the inputs whose
    removal changes a model feature, with the features they change."""
    names = list(dict.fromkeys(feature_names))
    cohort = cohort.without_outcomes()
    if len(cohort) > MAX_PROBE_PATIENTS:
        cohort = cohort.subset(cohort.patient_ids[:MAX_PROBE_PATIENTS])
    base = _features(pipeline, cohort, names)
    if base is None:
        return {"tables": {}, "columns": {}}
    tables: dict[str, list[str]] = {}
    for table in OPTIONAL_TABLES:
        if getattr(cohort, table, None) is None:
            continue
        without = dataclasses.replace(cohort, **{table: None})
        changed = _changed(base, _features(pipeline, without, names), names)
        if changed:
            tables[table] = changed
    columns: dict[str, list[str]] = {}
    # The within-cohort step's group column only says which patients are ranked together;
    # without it the whole input is one group (no feature becomes missing).
    grouping = getattr(getattr(pipeline, "within_cohort", None), "column", None)
    for column in cohort.clinical.columns:
        if column == grouping:
            continue
        without = dataclasses.replace(cohort, clinical=cohort.clinical.drop(columns=[column]))
        changed = _changed(base, _features(pipeline, without, names), names)
        if changed:
            columns[str(column)] = changed
    return {"tables": tables, "columns": columns}


def _describe(kind: str, name: str, features: list[str]) -> str:
    if not features:
        return f"{kind} {name!r}"
    shown = ", ".join(features[:MAX_LISTED])
    more = f", ... {len(features)} in all" if len(features) > MAX_LISTED else ""
    return f"{kind} {name!r} (features {shown}{more})"


def absent_inputs(cohort: Any, expected: dict) -> tuple[list[str], set[str]]:
    """Expected inputs absent from ``cohort``, described with the features they feed, and the
    set of those features (other checks leave them to this warning)."""
    tables = expected.get("tables") or {}
    columns = expected.get("columns") or {}
    if isinstance(tables, list):  # manifest without per-input feature lists
        tables = {name: [] for name in tables}
    if isinstance(columns, list):
        columns = {name: [] for name in columns}
    absent = [("table", t, list(f)) for t, f in tables.items()
              if getattr(cohort, t, None) is None]
    present = {str(c).lower() for c in cohort.clinical.columns}
    absent += [("column", c, list(f)) for c, f in columns.items()
               if str(c).lower() not in present]
    return ([_describe(kind, name, features) for kind, name, features in absent],
            {f for _, _, features in absent for f in features})


def absent_message(described: list[str]) -> str:
    """The one-line warning for absent inputs (``predict`` and ``validate --model``)."""
    return (f"input lacks {'; '.join(described)}; these model features are predicted as "
            "missing (NaN)")
