"""What-if regimens: the same patients under another regimen, and the regimens a cohort used.

Only the ``regimen`` column of the clinical table changes between what-if copies; every other
table is shared (not copied), so scoring R candidate regimens costs R feature passes over the
cohort and no duplication of mutations, copy number or expression.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort

REGIMEN = "regimen"
CANCER_TYPE = "cancer_type"


def regimen_drugs(regimen: object) -> list[str]:
    """Generic drug names of a ``+``-joined regimen, stripped and lower-case, in their order
    (empty names dropped; empty for a missing value)."""
    if regimen is None or regimen is pd.NA or (isinstance(regimen, float) and np.isnan(regimen)):
        return []
    return [d.strip().lower() for d in str(regimen).split("+") if d.strip()]


def regimen_key(regimen: object) -> str:
    """A regimen's identity: its distinct drugs sorted and joined by ``+`` (``B + a``,
    ``a+b+a`` and ``a++b`` are all ``a+b``); ``""`` for a missing value or no drug name.

    Why one function: the candidates of ``predict --regimens``, the bundle's propensity
    columns and the policy metrics must all agree on when two names are the same regimen."""
    return "+".join(sorted(set(regimen_drugs(regimen))))


def regimen_keys(names: Iterable[object]) -> np.ndarray:
    """:func:`regimen_key` of each name (object array; computed once per distinct name)."""
    values = pd.Series(list(names) if not isinstance(names, pd.Series) else names,
                       dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    keys = np.array([regimen_key(u) for u in uniques] + [""], dtype=object)
    return keys[codes]  # code -1 (missing) -> the last entry, ""


def with_regimen(cohort: Cohort, regimen: str | pd.Series) -> Cohort:
    """``cohort`` with every patient's regimen replaced by ``regimen``.

    ``regimen`` is one name for everybody, or a Series indexed by patient id (patients it does
    not name keep NaN, i.e. "no regimen").
    """
    clinical = cohort.clinical.copy(deep=False)
    if isinstance(regimen, pd.Series):
        values = regimen.reindex(clinical.index).astype("string")
    else:
        values = pd.Series(regimen, index=clinical.index, dtype="string")
    clinical[REGIMEN] = values
    return replace(cohort, clinical=clinical)


def regimens_by_cancer_type(clinical: pd.DataFrame) -> dict[str, list[str]]:
    """Sorted distinct regimens given per cancer type (patients without either are skipped)."""
    if REGIMEN not in clinical.columns or CANCER_TYPE not in clinical.columns:
        return {}
    pairs = clinical[[CANCER_TYPE, REGIMEN]].astype("string").dropna().drop_duplicates()
    return {str(ct): sorted(str(r) for r in group[REGIMEN])
            for ct, group in pairs.groupby(CANCER_TYPE, sort=True)}
