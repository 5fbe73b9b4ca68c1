"""Tumour micro-environment: infiltration, exclusion, vasculature, hypoxia, acidity, ROS.

Why these: CD8 T cells and M1 macrophages carry the anti-tumour response that immunotherapy
releases, Tregs and M2 macrophages suppress it, fibroblast-rich stroma keeps T cells out, and
poor perfusion (hypoxia, acidic pH, oxidative stress) blunts chemotherapy and T-cell function.
A patient without a TME row, or a marker missing, gives NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.features.base import FeatureFamily

# feature name -> input columns it needs
FEATURE_INPUTS: dict[str, tuple[str, ...]] = {
    "tme_cd8": ("cd8",),
    "tme_treg": ("treg",),
    "tme_cd8_treg_ratio": ("cd8", "treg"),
    "tme_m1": ("m1_macrophage",),
    "tme_m2": ("m2_macrophage",),
    "tme_m1_m2_ratio": ("m1_macrophage", "m2_macrophage"),
    "tme_caf": ("caf",),
    "tme_stroma": ("stroma",),
    "tme_exclusion": ("caf", "stroma"),
    "tme_microvessel_density": ("microvessel_density",),
    "tme_hypoxia": ("hypoxia",),
    "tme_acidity": ("ph",),
    "tme_oxidative_stress": ("oxidative_stress",),
}


class TMEFeatures(FeatureFamily):
    """``tme_*`` features; only those whose input columns exist in the training TME table.

    Ratios use ``(a + epsilon) / (b + epsilon)`` so that an absent cell type does not divide
    by zero; ``tme_exclusion = max(caf, stroma)`` (the fibrotic barrier);
    ``tme_acidity = neutral_ph - ph`` (positive when acidic).
    """

    requires = ("tme",)

    def __init__(self, epsilon: float = 0.01, neutral_ph: float = 7.4) -> None:
        self.epsilon = epsilon
        self.neutral_ph = neutral_ph

    def _fit(self, cohort: Cohort) -> None:
        present = set(cohort.tme.columns)
        self.feature_names_ = [name for name, cols in FEATURE_INPUTS.items()
                               if all(c in present for c in cols)]

    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        tme = cohort.tme.drop_duplicates("patient_id").set_index("patient_id")
        tme = tme.reindex(cohort.patient_ids)

        def col(name: str) -> np.ndarray:
            if name not in tme.columns:
                return np.full(len(tme), np.nan)
            return pd.to_numeric(tme[name], errors="coerce").to_numpy(dtype="float64",
                                                                      na_value=np.nan)

        eps = float(self.epsilon)
        cd8, treg = col("cd8"), col("treg")
        m1, m2 = col("m1_macrophage"), col("m2_macrophage")
        caf, stroma = col("caf"), col("stroma")
        out = {
            "tme_cd8": cd8,
            "tme_treg": treg,
            "tme_cd8_treg_ratio": (cd8 + eps) / (treg + eps),
            "tme_m1": m1,
            "tme_m2": m2,
            "tme_m1_m2_ratio": (m1 + eps) / (m2 + eps),
            "tme_caf": caf,
            "tme_stroma": stroma,
            "tme_exclusion": np.maximum(caf, stroma),  # NaN when either is missing
            "tme_microvessel_density": col("microvessel_density"),
            "tme_hypoxia": col("hypoxia"),
            "tme_acidity": float(self.neutral_ph) - col("ph"),
            "tme_oxidative_stress": col("oxidative_stress"),
        }
        return pd.DataFrame(out, index=cohort.patient_ids)

