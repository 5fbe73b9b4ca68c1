"""ctDNA features: landmark cut (no leakage), baseline, fold change, clearance, slope."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import make_cohort

from predictor.features.monitoring import CtDNAFeatures


def test_baseline_on_treatment_fold_change_and_slope(cohort):
    X = CtDNAFeatures(landmark_day=42, epsilon=1e-4).fit_transform(cohort)
    assert X.loc["p1", "ctdna_baseline"] == 0.1
    assert X.loc["p1", "ctdna_on_treatment"] == 0.01  # day 60 is after the landmark
    assert X.loc["p1", "ctdna_log2_fold_change"] == pytest.approx(
        math.log2((0.01 + 1e-4) / (0.1 + 1e-4)))
    slope = (math.log(0.01 + 1e-4) - math.log(0.1 + 1e-4)) / 24.0 * 7
    assert X.loc["p1", "ctdna_log_slope_per_week"] == pytest.approx(slope)
    assert X.loc["p1", "ctdna_cleared"] == 0
    assert X.loc["p1", "ctdna_n_measurements"] == 2
    assert np.isnan(X.loc["p2", "ctdna_on_treatment"])  # only a baseline sample
    assert X.loc["p3"].isna().all()


def test_measurements_after_the_landmark_never_change_features(cohort):
    family = CtDNAFeatures(landmark_day=42).fit(cohort)
    before = family.transform(cohort)
    ctdna = cohort.ctdna.copy()
    ctdna.loc[ctdna["day"] > 42, "tumor_fraction"] = 0.9
    later = pd.DataFrame({"patient_id": ["p2", "p3"], "day": [50.0, 100.0],
                          "tumor_fraction": [0.0, 0.3]})
    after = family.transform(make_cohort(ctdna=pd.concat([ctdna, later])))
    pd.testing.assert_frame_equal(before.drop(index="p3"), after.drop(index="p3"))
    assert after.loc["p3", "ctdna_n_measurements"] == 0  # measured, but only after the landmark


def test_clearance_below_detection_threshold():
    ctdna = pd.DataFrame({"patient_id": ["p1", "p1"], "day": [0.0, 28.0],
                          "tumor_fraction": [0.05, 0.0002]})
    X = CtDNAFeatures(detection_threshold=0.001).fit_transform(make_cohort(ctdna=ctdna))
    assert X.loc["p1", "ctdna_cleared"] == 1
