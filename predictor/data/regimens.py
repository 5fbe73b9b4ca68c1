"""What-if regimens: the same patients under another regimen, and the regimens a cohort used.

Only the ``regimen`` column of the clinical table changes between what-if copies; every other
table is shared (not copied), so scoring R candidate regimens costs R feature passes over the
cohort and no duplication of mutations, copy number or expression.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from predictor.data.cohort import Cohort

REGIMEN = "regimen"
CANCER_TYPE = "cancer_type"


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
