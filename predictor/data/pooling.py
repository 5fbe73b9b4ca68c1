"""Several studies as one cohort, each patient tagged with its study in the ``cohort`` column.

Public response cohorts are small (20-120 patients each); a model learns from several at once
and is judged on the one it did not see (``data.cohort_column: cohort`` makes cross-validation
leave-one-cohort-out). Pooling never fills gaps: a gene, a table or a column one study lacks
stays missing in its patients (``Expression.concat`` keeps unmeasured genes NaN).

A patient or sample id found in two studies is refused, not renamed: collections re-use
patients across publications, and the same patient in two folds would leak outcomes between
them; distinct patients that share an id must be renamed in one study by the user.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from predictor.data import schema as S
from predictor.data.cohort import OPTIONAL_TABLES, Cohort
from predictor.data.expression import Expression
from predictor.data.mappings import numeric_extras, schema_first
from predictor.errors import InputError

log = logging.getLogger(__name__)

COHORT_COLUMN = "cohort"
# A study's own ``cohort`` values (e.g. trial arms) are kept here when pooling replaces them.
SUB_COHORT_COLUMN = "sub_cohort"


def study_label(cohort: Cohort) -> str:
    """The study id a pooled patient is tagged with (``cancer_study_identifier``, else name)."""
    study = cohort.meta.get("study", {}) if isinstance(cohort.meta, dict) else {}
    return str(study.get("cancer_study_identifier") or cohort.name)


def pool_cohorts(cohorts: Sequence[Cohort], sources: Sequence[str | Path] | None = None) -> Cohort:
    """One cohort holding every patient of ``cohorts``, with ``clinical['cohort']`` = study id.

    ``sources`` (the paths read) only serve error messages. Outcome and optional tables are
    stacked (a table one study lacks simply has no rows for its patients); expression matrices
    are put side by side over the union of genes.
    """
    if not cohorts:
        raise InputError("no study to pool (data.path is an empty list)")
    sources = [str(s) for s in (sources or [c.meta.get("source", c.name) for c in cohorts])]
    labels = [study_label(c) for c in cohorts]
    if len(set(labels)) != len(labels):
        dup = next(label for label in labels if labels.count(label) > 1)
        raise InputError(f"study {dup!r} is given twice", file=sources[labels.index(dup)])
    _refuse_shared_ids([c.patient_ids for c in cohorts], labels, sources, "patient")
    _refuse_shared_ids([pd.Index(c.samples["sample_id"], dtype="string") for c in cohorts],
                       labels, sources, "sample")
    clinical = _stack([_tagged(c.clinical, label)
                       for c, label in zip(cohorts, labels, strict=True)]).reset_index()
    clinical = numeric_extras(clinical)  # an extra column numeric in one study and text in another
    clinical = _by_patient(S.coerce_and_check(schema_first(clinical), S.CLINICAL))
    parts = [c.outcomes for c in cohorts if c.outcomes is not None]
    outcomes = None
    if parts:
        stacked = _stack(parts).reindex(clinical.index)
        stacked.index.name = "patient_id"
        outcomes = _by_patient(S.coerce_and_check(stacked.reset_index(), S.OUTCOMES))
    tables: dict = {
        "samples": _stack([c.samples for c in cohorts], ignore_index=True),
        "outcomes": outcomes,
    }
    for name in OPTIONAL_TABLES:
        parts = [getattr(c, name) for c in cohorts if getattr(c, name) is not None]
        tables[name] = _stack(parts, ignore_index=True) if parts else None
    tables["expression"] = _pooled_expression(cohorts, labels)
    meta = {"studies": labels, "source": sources,
            "panel_sizes": {k: v for c in cohorts
                            for k, v in (c.meta.get("panel_sizes") or {}).items()}}
    if not meta["panel_sizes"]:
        del meta["panel_sizes"]
    pooled = Cohort(clinical=clinical, name="+".join(labels), meta=meta, **tables)
    return pooled.validate()


def _stack(frames: list[pd.DataFrame], **kw) -> pd.DataFrame:
    """``pd.concat``; dtypes of columns that are all-missing in one study are fixed up by the
    schema check afterwards, so pandas' warning about them is noise here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return pd.concat(frames, **kw)


def _by_patient(table: pd.DataFrame) -> pd.DataFrame:
    out = table.set_index("patient_id")
    out.index = out.index.astype("string")
    return out


def _tagged(clinical: pd.DataFrame, label: str) -> pd.DataFrame:
    out = clinical.copy()
    if COHORT_COLUMN in out.columns and out[COHORT_COLUMN].notna().any():
        own = out[COHORT_COLUMN].astype("string")
        if bool((own.dropna() != label).any()):
            out[SUB_COHORT_COLUMN] = own
    out[COHORT_COLUMN] = pd.Series(label, index=out.index, dtype="string")
    return out


def _refuse_shared_ids(ids: list[pd.Index], labels: list[str], sources: list[str],
                       what: str) -> None:
    seen: dict[str, int] = {}
    for k, index in enumerate(ids):
        for value in index:
            if value in seen:
                first = seen[value]
                raise InputError(
                    f"{what} {value!r} is in both {labels[first]} ({sources[first]}) and "
                    f"{labels[k]}: if it is the same {what}, keep it in one study only (twice "
                    "would leak between cross-validation folds); if not, rename it in one",
                    file=sources[k])
            seen[str(value)] = k
        # no per-id work beyond a dict lookup: studies have at most thousands of patients


def _pooled_expression(cohorts: Sequence[Cohort], labels: list[str]) -> Expression | None:
    parts = [c.expression for c in cohorts if c.expression is not None]
    if not parts:
        return None
    units = {p.unit for p in parts}
    if len(units) > 1:
        log.warning("pooled studies measure expression in different units (%s); the pooled "
                    "unit is 'unknown' (rank-based features are not affected)",
                    ", ".join(f"{label} {c.expression.unit}" for c, label
                              in zip(cohorts, labels, strict=True)
                              if c.expression is not None))
    missing = [label for c, label in zip(cohorts, labels, strict=True) if c.expression is None]
    if missing:
        log.info("no expression profile in %s; their patients have no expression",
                 ", ".join(missing))
    return Expression.concat(parts)
