"""Systemic inflammation from blood: NLR, albumin and a modified Glasgow prognostic score.

Modified GPS (McMillan, Cancer Treat Rev 2013): 0 when CRP <= 10 mg/L; 1 when CRP > 10 mg/L and
albumin >= 3.5 g/dL; 2 when CRP > 10 mg/L and albumin < 3.5 g/dL. Most cohorts have no CRP, so
when the clinical table has no CRP value for a patient, NLR > ``nlr_cutoff`` (default 3) stands
in for CRP > 10 mg/L: both mark the same systemic inflammatory response.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.features.base import FeatureFamily


def _numeric(clinical: pd.DataFrame, name: str) -> np.ndarray:
    if name not in clinical.columns:
        return np.full(len(clinical), np.nan)
    return pd.to_numeric(clinical[name], errors="coerce").to_numpy(dtype="float64",
                                                                  na_value=np.nan)


class SystemicFeatures(FeatureFamily):
    """``sys_nlr``, ``sys_albumin``, ``sys_crp`` (when present) and ``sys_mgps``."""

    requires = ("clinical",)

    def __init__(self, nlr_cutoff: float = 3.0, crp_cutoff: float = 10.0,
                 albumin_cutoff: float = 3.5, crp_column: str = "crp") -> None:
        self.nlr_cutoff = nlr_cutoff
        self.crp_cutoff = crp_cutoff
        self.albumin_cutoff = albumin_cutoff
        self.crp_column = crp_column

    def available(self, cohort: Cohort) -> bool:
        cols = set(cohort.clinical.columns)
        return bool(cols & {"nlr", "albumin", self.crp_column})

    def _fit(self, cohort: Cohort) -> None:
        cols = set(cohort.clinical.columns)
        names = [f"sys_{c}" for c in ("nlr", "albumin") if c in cols]
        if self.crp_column in cols:
            names.append("sys_crp")
        names.append("sys_mgps")
        self.feature_names_ = names

    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        clinical = cohort.clinical
        nlr = _numeric(clinical, "nlr")
        albumin = _numeric(clinical, "albumin")
        crp = _numeric(clinical, self.crp_column)
        inflamed = np.where(~np.isnan(crp), crp > float(self.crp_cutoff),
                            np.where(~np.isnan(nlr), nlr > float(self.nlr_cutoff), np.nan))
        low_albumin = np.where(np.isnan(albumin), np.nan,
                               albumin < float(self.albumin_cutoff))
        mgps = np.where(inflamed == 0, 0.0, 1.0 + low_albumin)
        mgps = np.where(np.isnan(inflamed), np.nan, mgps)
        out = {"sys_nlr": nlr, "sys_albumin": albumin, "sys_crp": crp, "sys_mgps": mgps}
        return pd.DataFrame(out, index=clinical.index)
