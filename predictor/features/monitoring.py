"""Serial ctDNA up to a landmark day: baseline, on-treatment change, clearance, slope.

Only measurements with ``day <= landmark_day`` are read, so a landmark model (scored at the
landmark) never sees later samples, which would carry the outcome. Definitions:

- baseline: the last measurement at or before day 0, else the first measurement;
- on-treatment value: the last measurement after the baseline's day (and <= landmark);
- ``ctdna_log2_fold_change = log2((on + eps) / (baseline + eps))``;
- ``ctdna_cleared``: 1 when the on-treatment value is below ``detection_threshold``;
- ``ctdna_log_slope_per_week``: least-squares slope of ``ln(value + eps)`` against days, times 7,
  over all measurements up to the landmark (at least two distinct days).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.features.base import FeatureFamily

NAMES = ("ctdna_n_measurements", "ctdna_baseline", "ctdna_on_treatment",
         "ctdna_log2_fold_change", "ctdna_cleared", "ctdna_log_slope_per_week")


class CtDNAFeatures(FeatureFamily):
    """``ctdna_*`` features from ``cohort.ctdna`` (``value_column`` per measurement)."""

    requires = ("ctdna",)

    def __init__(self, landmark_day: float = 42.0, detection_threshold: float = 0.001,
                 epsilon: float = 1e-4, value_column: str = "tumor_fraction") -> None:
        self.landmark_day = landmark_day
        self.detection_threshold = detection_threshold
        self.epsilon = epsilon
        self.value_column = value_column

    def _fit(self, cohort: Cohort) -> None:
        self.feature_names_ = list(NAMES)

    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        ctdna = cohort.ctdna
        n = len(cohort.patient_ids)
        out = {name: np.full(n, np.nan) for name in NAMES}
        if self.value_column not in ctdna.columns or not len(ctdna):
            return pd.DataFrame(out, index=cohort.patient_ids)
        pos = cohort.patient_ids.get_indexer(ctdna["patient_id"].to_numpy())
        day = ctdna["day"].to_numpy(dtype="float64", na_value=np.nan)
        value = ctdna[self.value_column].to_numpy(dtype="float64", na_value=np.nan)
        keep = (pos >= 0) & ~np.isnan(day) & ~np.isnan(value) & (day <= float(self.landmark_day))
        frame = pd.DataFrame({"p": pos[keep], "day": day[keep], "v": value[keep]})
        frame = frame.sort_values(["p", "day"], kind="stable")
        if frame.empty:
            return pd.DataFrame(out, index=cohort.patient_ids)
        eps = float(self.epsilon)
        p = frame["p"].to_numpy()

        out["ctdna_n_measurements"][:] = 0.0
        counts = frame.groupby("p").size()
        out["ctdna_n_measurements"][counts.index.to_numpy()] = counts.to_numpy()
        # Patients without ctDNA rows at all stay NaN; with rows only after the landmark, 0.
        has_rows = np.zeros(n, dtype=bool)
        has_rows[pos[pos >= 0]] = True
        out["ctdna_n_measurements"][~has_rows] = np.nan

        pre = frame[frame["day"] <= 0].groupby("p").last()
        first = frame.groupby("p").first()
        base = first.copy()
        base.loc[pre.index, ["day", "v"]] = pre[["day", "v"]]
        base_day = np.full(n, np.nan)
        base_day[base.index.to_numpy()] = base["day"].to_numpy()
        out["ctdna_baseline"][base.index.to_numpy()] = base["v"].to_numpy()

        later = frame[frame["day"].to_numpy() > base_day[p]]
        on = later.groupby("p").last()
        on_idx = on.index.to_numpy()
        out["ctdna_on_treatment"][on_idx] = on["v"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out["ctdna_log2_fold_change"] = np.log2(
                (out["ctdna_on_treatment"] + eps) / (out["ctdna_baseline"] + eps))
        on_val = out["ctdna_on_treatment"]
        out["ctdna_cleared"] = np.where(np.isnan(on_val), np.nan,
                                        (on_val < float(self.detection_threshold)) * 1.0)
        out["ctdna_log_slope_per_week"] = 7.0 * _slope(p, frame["day"].to_numpy(),
                                                       np.log(frame["v"].to_numpy() + eps), n)
        return pd.DataFrame(out, index=cohort.patient_ids)


def _slope(group: np.ndarray, x: np.ndarray, y: np.ndarray, n_groups: int) -> np.ndarray:
    """Least-squares slope of ``y`` on ``x`` per group from sums (NaN without x spread)."""
    cnt = np.bincount(group, minlength=n_groups).astype(float)
    sx = np.bincount(group, x, minlength=n_groups)
    sy = np.bincount(group, y, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = sx / cnt
        my = sy / cnt
        dx = x - mx[group]
        sxx = np.bincount(group, dx * dx, minlength=n_groups)
        sxy = np.bincount(group, dx * (y - my[group]), minlength=n_groups)
        slope = np.where(sxx > 1e-12, sxy / sxx, np.nan)
    return slope
