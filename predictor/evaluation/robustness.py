"""Robustness to missing inputs: held-out test metrics when input columns are absent at
prediction time.

Cohorts from other hospitals lack columns the training cohort had (no HLA typing, no blood
counts, no PD-L1 ...). Here the fitted feature pipeline and every fitted learner score the
held-out patients once per *group* of input columns with those columns **dropped** from the
clinical table (as if the file never had them; the pipeline gives NaN features and the models
fall back on what they learned for missing values), and once per single column. Nothing is
refitted: this measures the trained model, as a user would run it on a thinner file.

Metric names (flat, in the run's metric dict, so the report shows exactly what is logged):
``test_without_<group>__<learner>_<metric>`` for a group and
``test_missing_<column>__<learner>_<metric>`` for a single column, with ``<learner>`` ``model``
or a baseline name and ``<metric>`` ``roc_auc`` (response) or ``harrell_c`` (relapse).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from predictor.evaluation import metrics as M

log = logging.getLogger(__name__)

GROUP_PREFIX = "test_without_"
COLUMN_PREFIX = "test_missing_"
HEAD_METRIC = {"response": "roc_auc", "relapse": "harrell_c"}
# Clinical columns that are identifiers or bookkeeping, never model inputs.
NOT_INPUTS = ("patient_id", "cohort")


def slug(text: str) -> str:
    """A metric-name fragment: lower-case letters, digits and single underscores."""
    out = "".join(ch if ch.isalnum() else "_" for ch in str(text).lower()).strip("_")
    while "__" in out:
        out = out.replace("__", "_")
    return out or "x"


def drop_columns(cohort: Any, columns: Iterable[str]) -> Any:
    """A copy of ``cohort`` whose clinical table lacks ``columns`` (matched exactly, else
    case-insensitively; absent names are ignored). Other tables are shared, not copied."""
    clinical = cohort.clinical
    lowered = {str(c).lower(): c for c in clinical.columns}
    found = []
    for name in columns:
        column = name if name in clinical.columns else lowered.get(str(name).lower())
        if column is not None and column not in found:
            found.append(column)
    return dataclasses.replace(cohort, clinical=clinical.drop(columns=found))


def input_columns(cohort: Any) -> list[str]:
    """The clinical columns of ``cohort`` that can feed a model."""
    return [str(c) for c in cohort.clinical.columns if str(c) not in NOT_INPUTS]


def _metric(head: str, targets: Any, scores: np.ndarray) -> float:
    if head == "response":
        y = targets.response.to_numpy(float)
        keep = ~np.isnan(y)
        return M.roc_auc(y[keep], scores[keep])
    time, event = targets.time.to_numpy(float), targets.event.to_numpy(float)
    return M.harrell_c(time, event, scores)


def scenario_metrics(fit: Any, cohort: Any, targets: Any, learners: Sequence[Any]
                     ) -> dict[str, float]:
    """``{<learner name>_<metric>: value}`` of every fitted learner on ``cohort``."""
    from predictor.evaluation.harness import score

    X = fit.pipeline.transform(cohort).loc[cohort.patient_ids]
    out: dict[str, float] = {}
    for learner in learners:
        model = fit.models.get(learner.key)
        if model is None:
            continue
        try:
            values = score(learner.head, model, X)
            out[f"{learner.name}_{HEAD_METRIC[learner.head]}"] = _metric(learner.head, targets,
                                                                          values)
        except Exception as error:  # a learner that cannot score without a column
            log.warning("robustness: %s cannot score: %s", learner.key, error)
            out[f"{learner.name}_{HEAD_METRIC[learner.head]}"] = float("nan")
    return out


def robustness_metrics(fit: Any, test: Any, targets: Any, learners: Sequence[Any],
                       groups: Mapping[str, Sequence[str]] | None = None,
                       each_column: bool = True) -> dict[str, float]:
    """Test metrics of every learner with each group (and each single input column) dropped.

    ``groups``: group name -> clinical column names of the cohort (schema names such as
    ``albumin`` or pass-through source names such as ``TMB``).
    """
    inputs = test.without_outcomes()
    targets = targets.subset(test.patient_ids)
    scenarios: list[tuple[str, list[str]]] = []
    for group, columns in (groups or {}).items():
        scenarios.append((f"{GROUP_PREFIX}{slug(group)}", [str(c) for c in columns]))
    if each_column:
        scenarios += [(f"{COLUMN_PREFIX}{slug(c)}", [c]) for c in input_columns(inputs)]
    out: dict[str, float] = {}
    for stem, columns in scenarios:
        values = scenario_metrics(fit, drop_columns(inputs, columns), targets, learners)
        out.update({f"{stem}__{k}": v for k, v in values.items()})
    return out


def evaluate_robustness(fit: Any, test: Any, targets: Any, learners: Sequence[Any],
                        groups: Mapping[str, Sequence[str]] | None, out: Any,
                        each_column: bool = True) -> None:
    """Add :func:`robustness_metrics` to an ``Evaluation`` (``out.metrics``)."""
    groups = {str(k): list(v) for k, v in (groups or {}).items()}
    out.metrics.update(robustness_metrics(fit, test, targets, learners, groups, each_column))


# ---------------------------------------------------------------------------- report
def _parse(metrics: Mapping[str, float], prefix: str, metric: str
           ) -> tuple[list[str], list[str], dict[tuple[str, str], float]]:
    rows: list[str] = []
    learners: list[str] = []
    values: dict[tuple[str, str], float] = {}
    end = f"_{metric}"
    for key, value in metrics.items():
        if not key.startswith(prefix) or not key.endswith(end) or "__" not in key:
            continue
        scenario, learner = key[len(prefix):-len(end)].split("__", 1)
        if scenario not in rows:
            rows.append(scenario)
        if learner not in learners:
            learners.append(learner)
        values[(scenario, learner)] = value
    learners.sort(key=lambda n: (n != "model", n))
    return rows, learners, values


def _cell(value: float | None) -> str:
    return f"{value:.3f}" if value is not None and math.isfinite(value) else "–"


def robustness_table(metrics: Mapping[str, float], prefix: str = GROUP_PREFIX,
                     metric: str = "roc_auc") -> str:
    """Markdown: rows = what was removed, columns = learners; first row the full input."""
    rows, learners, values = _parse(metrics, prefix, metric)
    if not rows:
        return ""
    label = "removed group" if prefix == GROUP_PREFIX else "missing column"
    lines = [f"| {label} | " + " | ".join(learners) + " |",
             "|---|" + "---|" * len(learners)]
    full = []
    for learner in learners:
        middle = "" if learner == "model" else f"baseline_{learner}_"
        full.append(_cell(metrics.get(f"test_{middle}{metric}")))
    lines.append("| none (every column) | " + " | ".join(full) + " |")
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(_cell(values.get((row, n))) for n in learners)
                     + " |")
    return "\n".join(lines)


def robustness_section(metrics: Mapping[str, float]) -> str:
    """Every robustness table of a run (empty when none was computed)."""
    parts = []
    for prefix, what in ((GROUP_PREFIX, "each group of input columns removed"),
                         (COLUMN_PREFIX, "each single input column removed")):
        for metric, name in (("roc_auc", "response ROC AUC"), ("harrell_c", "relapse Harrell's C")):
            table = robustness_table(metrics, prefix, metric)
            if table:
                parts.append(f"Held-out test {name}, {what} at prediction time:\n\n{table}")
    return "\n\n".join(parts)


def as_frame(metrics: Mapping[str, float], prefix: str = GROUP_PREFIX,
             metric: str = "roc_auc") -> pd.DataFrame:
    """The robustness values as a table (rows scenarios, columns learners)."""
    rows, learners, values = _parse(metrics, prefix, metric)
    return pd.DataFrame([[values.get((r, n), np.nan) for n in learners] for r in rows],
                        index=pd.Index(rows, name="removed"), columns=learners)
