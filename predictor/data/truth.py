"""The simulator's ground truth (``ground_truth.tsv``): read for oracle metrics only.

The truth is never part of a :class:`~predictor.data.cohort.Cohort`: no reader loads it, so a
model can never be fitted on it by accident.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from predictor.errors import InputError

TRUTH_COLUMNS = ("patient_id", "true_response_probability", "true_relapse_hazard")


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
