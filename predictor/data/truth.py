"""The simulator's ground truth (``ground_truth.tsv``, ``ground_truth_regimens.tsv``): read
for oracle and policy metrics only.

The truth is never part of a :class:`~predictor.data.cohort.Cohort`: no reader loads it, so a
model can never be fitted on it by accident.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from predictor.errors import InputError

TRUTH_COLUMNS = ("patient_id", "true_response_probability", "true_relapse_hazard")
REGIMEN_TRUTH_COLUMNS = ("patient_id", "regimen", "true_response_probability", "true_pfs_12m")


def read_truth(path: Path) -> pd.DataFrame:
    """The simulator's ground truth, indexed by patient id (pandas ``string``)."""
    if not path.is_file():
        raise InputError("truth file not found", file=path)
    truth = pd.read_csv(path, sep="\t", dtype={"patient_id": str})
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise InputError(f"truth file lacks column(s) {', '.join(missing)}", file=path,
                         column=missing[0])
    return indexed_truth(truth)


def indexed_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """A truth table indexed by patient id (pandas ``string``), as the oracle metrics take it."""
    truth = truth.set_index("patient_id") if "patient_id" in truth.columns else truth
    truth.index = truth.index.astype("string")
    return truth


def read_regimen_truth(path: Path) -> pd.DataFrame:
    """The per-regimen truth: one row per patient x candidate regimen (a plain frame).

    Columns ``patient_id`` and ``regimen`` (pandas ``string``), ``true_response_probability``
    and ``true_pfs_12m`` (float); a duplicated patient x regimen pair or a probability outside
    [0, 1] is refused with the file, row and column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("regimen truth file not found", file=path)
    truth = pd.read_csv(path, sep="\t", dtype={"patient_id": str, "regimen": str})
    missing = [c for c in REGIMEN_TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise InputError(f"regimen truth file lacks column(s) {', '.join(missing)}", file=path,
                         column=missing[0])
    truth = truth[list(REGIMEN_TRUTH_COLUMNS)]
    for col in ("patient_id", "regimen"):
        empty = truth[col].isna()
        if empty.any():
            raise InputError("empty value", file=path, line=_row(empty), column=col)
        truth[col] = truth[col].astype("string")
    for col in ("true_response_probability", "true_pfs_12m"):
        values = pd.to_numeric(truth[col], errors="coerce")
        bad = values.isna() | (values < 0) | (values > 1)
        if bad.any():
            raise InputError("not a probability in [0, 1]", file=path, line=_row(bad),
                             column=col)
        truth[col] = values.astype("float64")
    dup = truth.duplicated(["patient_id", "regimen"])
    if dup.any():
        raise InputError("duplicated patient_id x regimen", file=path, line=_row(dup),
                         column="regimen")
    return truth


def _row(mask: pd.Series) -> int:
    """File line number of the first true entry (line 1 is the header)."""
    return int(mask.to_numpy().argmax()) + 2
