"""TME, systemic inflammation, clinical basics and pass-through columns."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import clinical_table, make_cohort

from predictor.features.clinical import ClinicalFeatures
from predictor.features.passthrough import PassthroughFeatures
from predictor.features.systemic import SystemicFeatures
from predictor.features.tme import TMEFeatures


def test_tme_ratios_and_acidity(cohort):
    family = TMEFeatures(epsilon=0.01).fit(cohort)
    X = family.transform(cohort)
    # Only features whose inputs are in the training table.
    assert list(X.columns) == ["tme_cd8", "tme_treg", "tme_cd8_treg_ratio", "tme_acidity"]
    assert X.loc["p1", "tme_cd8_treg_ratio"] == pytest.approx((0.1 + 0.01) / (0.01 + 0.01))
    assert X.loc["p2", "tme_acidity"] == pytest.approx(7.4 - 7.2)
    assert X.loc["p3"].isna().all()  # no TME row


def test_tme_exclusion_and_macrophage_ratio():
    tme = pd.DataFrame({"patient_id": ["p1", "p2"], "caf": [0.3, 0.1], "stroma": [0.2, None],
                        "m1_macrophage": [0.05, 0.0], "m2_macrophage": [0.15, 0.1]})
    X = TMEFeatures(epsilon=0.0).fit_transform(make_cohort(tme=tme))
    assert X.loc["p1", "tme_exclusion"] == pytest.approx(0.3)
    assert np.isnan(X.loc["p2", "tme_exclusion"])
    assert X.loc["p1", "tme_m1_m2_ratio"] == pytest.approx(1 / 3)


def test_modified_glasgow_score_with_nlr_standing_in_for_crp():
    clinical = clinical_table()
    clinical["crp"] = [20.0, 5.0, None]
    X = SystemicFeatures().fit_transform(make_cohort(clinical=clinical))
    assert X.loc["p1", "sys_mgps"] == 1  # CRP 20 > 10, albumin 4.0 >= 3.5 (NLR 2 ignored)
    assert X.loc["p2", "sys_mgps"] == 0  # CRP 5 <= 10 (NLR 5 ignored)
    assert np.isnan(X.loc["p3", "sys_mgps"])  # neither CRP nor NLR
    X2 = SystemicFeatures().fit_transform(make_cohort())
    assert "sys_crp" not in X2.columns
    assert X2.loc["p1", "sys_mgps"] == 0  # NLR 2 <= 3
    assert X2.loc["p2", "sys_mgps"] == 2  # NLR 5 > 3, albumin 3.0 < 3.5


def test_clinical_codes_learned_in_fit_and_unseen_category_is_nan(cohort):
    family = ClinicalFeatures().fit(cohort)
    assert family.categorical_features_ == ["clin_cancer_type"]
    X = family.transform(cohort)
    assert X["clin_cancer_type"].tolist() == [1.0, 1.0, 0.0]  # Melanoma 0, NSCLC 1
    assert X["clin_sex"].tolist() == [1.0, 0.0, 1.0]
    clinical = clinical_table()
    clinical.loc[0, "cancer_type"] = "Glioma"
    assert np.isnan(family.transform(make_cohort(clinical=clinical)).loc["p1",
                                                                         "clin_cancer_type"])


def test_passthrough_rename_case_insensitive_and_missing_at_transform(caplog):
    clinical = clinical_table()
    clinical["TMB"] = [10.0, 2.5, None]
    clinical["hed"] = [5.0, 6.0, 7.0]
    clinical["Stage"] = ["IV", "III", "IV"]
    family = PassthroughFeatures(columns=["TMB", "HED", "Stage", "FCNA"], rename={"TMB": "tmb"})
    with caplog.at_level(logging.INFO):
        X = family.fit_transform(make_cohort(clinical=clinical))
    assert "FCNA" in caplog.text
    assert list(X.columns) == ["tmb", "pt_hed", "pt_stage"]
    assert X.loc["p1", "tmb"] == 10.0 and np.isnan(X.loc["p3", "tmb"])
    assert X.loc["p2", "pt_hed"] == 6.0
    assert family.categorical_features_ == ["pt_stage"]
    assert X["pt_stage"].tolist() == [1.0, 0.0, 1.0]
    # A later file without the TMB column: same names, NaN.
    X2 = family.transform(make_cohort(clinical=clinical.drop(columns=["TMB"])))
    assert list(X2.columns) == list(X.columns) and X2["tmb"].isna().all()
