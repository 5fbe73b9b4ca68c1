"""What-if copies change the regimen only, and the per-cancer-type regimen list is exact."""

from __future__ import annotations

import pandas as pd

from predictor.data.cohort import Cohort
from predictor.data.regimens import regimens_by_cancer_type, with_regimen


def _cohort() -> Cohort:
    clinical = pd.DataFrame({
        "patient_id": ["P1", "P2", "P3", "P4"],
        "cancer_type": ["NSCLC", "NSCLC", "Melanoma", "Melanoma"],
        "regimen": ["osimertinib", "pembrolizumab", "nivolumab", None],
    })
    return Cohort.from_tables(clinical=clinical)


def test_with_regimen_replaces_only_the_regimen_and_leaves_the_input_alone():
    cohort = _cohort()
    what_if = with_regimen(cohort, "nivolumab+ipilimumab")
    assert list(what_if.clinical["regimen"]) == ["nivolumab+ipilimumab"] * 4
    assert list(cohort.clinical["regimen"].fillna("-")) == [
        "osimertinib", "pembrolizumab", "nivolumab", "-"]
    assert what_if.samples is cohort.samples
    pd.testing.assert_frame_equal(what_if.clinical.drop(columns="regimen"),
                                  cohort.clinical.drop(columns="regimen"))


def test_with_regimen_per_patient_series_leaves_unnamed_patients_without_regimen():
    what_if = with_regimen(_cohort(), pd.Series({"P2": "osimertinib", "P3": "ipilimumab"}))
    assert what_if.clinical["regimen"].isna().tolist() == [True, False, False, True]
    assert what_if.clinical.loc["P3", "regimen"] == "ipilimumab"


def test_regimens_by_cancer_type_lists_distinct_sorted_names():
    assert regimens_by_cancer_type(_cohort().clinical) == {
        "Melanoma": ["nivolumab"], "NSCLC": ["osimertinib", "pembrolizumab"]}
