"""One entry point for every input: a study folder or a flat table, read into a :class:`Cohort`.

The one dispatch from a path to a reader: ``read_cohort`` reads a whole input (folder ->
cBioPortal, file -> flat table) so the CLI, training and serving accept the same inputs;
``iter_cohorts`` gives the same patients in bounded chunks where the format streams (flat
files, folders of Parquet files), for batch prediction. ``describe_cohort`` is what
``predictor validate`` prints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.data.cohort import OPTIONAL_TABLES, Cohort
from predictor.data.expression import Expression
from predictor.data.flat import iter_flat_chunks as _iter_flat_chunks
from predictor.data.flat import read_flat
from predictor.data.mappings import FlatMapping, load_mapping
from predictor.data.pooling import pool_cohorts
from predictor.data.tables import header_columns, is_parquet
from predictor.errors import InputError

MappingLike = FlatMapping | Mapping | str | Path | None


def read_cohort(path: str | Path | Sequence[str | Path], mapping: MappingLike = None) -> Cohort:
    """Read a cBioPortal study folder or a CSV/TSV/Parquet table (with ``mapping``); a list of
    them is read one by one and pooled (:func:`predictor.data.pooling.pool_cohorts`), each
    patient's study id in ``clinical['cohort']``.

    ``mapping`` only applies to flat tables; a study folder has its own attribute names, so
    callers may pass one mapping for any input.
    """
    if not isinstance(path, str | Path):
        paths = [Path(p) for p in path]  # a list of one is still tagged with its study
        return pool_cohorts([read_cohort(p, mapping) for p in paths], paths)
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=path)
    if path.is_dir():
        from predictor.data.cbioportal import read_cbioportal  # a flat file does not need it

        return read_cbioportal(path)
    return read_flat(path, mapping)


def iter_flat_chunks(path: str | Path, mapping: MappingLike = None,
                     chunk_rows: int = 100_000) -> Iterator[Cohort]:
    """Validated cohorts of at most ``chunk_rows`` patients from a large flat file."""
    return _iter_flat_chunks(Path(path), mapping, chunk_rows)


def parquet_parts(path: str | Path) -> list[Path]:
    """The Parquet files of a partitioned dataset folder (empty for other folders)."""
    path = Path(path)
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.is_file() and is_parquet(p)
                  and not p.name.startswith((".", "_")))


def streamed_files(path: str | Path, mapping: MappingLike = None) -> list[Path]:
    """The files :func:`iter_cohorts` streams in chunks ([] when it reads the input whole).

    A study folder is read whole, and so is a flat file without its patient id column: its
    patients are numbered by row, and only a whole-file read numbers them uniquely.
    """
    path = Path(path)
    if path.is_dir():
        return parquet_parts(path)
    id_column = load_mapping(mapping).id_column if mapping is not None else "patient_id"
    return [path] if id_column in header_columns(path) else []


def iter_cohorts(path: str | Path, mapping: MappingLike = None,
                 chunk_rows: int = 100_000) -> Iterator[Cohort]:
    """Every patient of ``path`` as validated cohorts, at most ``chunk_rows`` patients each
    where the input streams (see :func:`streamed_files`), else one cohort."""
    files = streamed_files(path, mapping)
    if not files:
        yield read_cohort(path, mapping)
        return
    for part in files:
        yield from iter_flat_chunks(part, mapping, chunk_rows)


def describe_cohort(cohort: Cohort) -> str:
    """A short multi-line summary: sizes, which optional tables are present, outcome counts."""
    samples = 0 if cohort.samples is None else len(cohort.samples)
    lines = [f"cohort {cohort.name}: {len(cohort)} patients, {samples} samples"]
    present = [n for n in OPTIONAL_TABLES if getattr(cohort, n) is not None]
    if cohort.mutations is not None:
        lines.append(f"mutations: {len(cohort.mutations)} rows")
    lines.append("tables: " + (", ".join(
        f"{n} ({len(getattr(cohort, n))} rows)" for n in present) if present else "none"))
    if cohort.expression is not None:
        lines.append(describe_expression(cohort.expression))
    if cohort.meta.get("expression_ignored"):
        lines.append("z-score profiles ignored (not expression levels): "
                     + ", ".join(cohort.meta["expression_ignored"]))
    if "cohort" in cohort.clinical.columns and isinstance(cohort.meta.get("studies"), list):
        counts = cohort.clinical["cohort"].value_counts(sort=False)
        lines.append("pooled studies (column 'cohort'): "
                     + ", ".join(f"{k} {v}" for k, v in counts.items()))
    extras = [c for c in cohort.clinical.columns if c not in _schema_clinical()]
    if extras:
        shown = ", ".join(map(str, extras[:10])) + (", ..." if len(extras) > 10 else "")
        lines.append(f"extra clinical columns ({len(extras)}): {shown}")
    if "cancer_type" in cohort.clinical.columns:
        counts = cohort.clinical["cancer_type"].value_counts().head(5)
        lines.append("cancer types: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    lines.append(_describe_outcomes(cohort.outcomes))
    return "\n".join(lines)


def describe_expression(expression: Expression) -> str:
    """``expression: G genes x S samples, unit tpm (file)``, and how much is not measured."""
    genes, samples = expression.shape
    line = f"expression: {genes} genes x {samples} samples, unit {expression.unit}"
    if expression.source:
        line += f" ({Path(expression.source).name})"
    missing = int(np.isnan(expression.values).any(axis=1).sum())
    if missing:
        line += f"; {missing} genes not measured in every sample (NaN)"
    return line


def _schema_clinical() -> set[str]:
    from predictor.data.schema import CLINICAL

    return set(CLINICAL.names)


def _describe_outcomes(outcomes: pd.DataFrame | None) -> str:
    if outcomes is None:
        return "outcomes: none"
    parts = []
    if "best_response" in outcomes.columns:
        counts = outcomes["best_response"].value_counts(dropna=False)
        parts.append("best response " + ", ".join(
            f"{'missing' if pd.isna(k) else k} {v}" for k, v in counts.items()))
    if "responder" in outcomes.columns:
        r = outcomes["responder"]
        parts.append(f"responders {int((r == 1).sum())}, non-responders {int((r == 0).sum())}, "
                     f"not evaluable {int(r.isna().sum())}")
    for prefix, label in (("pfs", "PFS"), ("os", "OS")):
        event = f"{prefix}_event"
        if event in outcomes.columns:
            e = outcomes[event]
            parts.append(f"{label} events {int((e == 1).sum())}, censored {int((e == 0).sum())}")
    return "outcomes: " + ("; ".join(parts) if parts else "no known outcome columns")
