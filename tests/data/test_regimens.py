"""What-if copies change the regimen only, and the per-cancer-type regimen list is exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictor.data.cohort import Cohort
from predictor.data.regimens import (
    regimen_drugs,
    regimen_key,
    regimen_keys,
    regimens_by_cancer_type,
    with_regimen,
)


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


@pytest.mark.parametrize("name, key", [
    ("nivolumab+ipilimumab", "ipilimumab+nivolumab"),
    (" Ipilimumab + NIVOLUMAB ", "ipilimumab+nivolumab"),
    ("a++b", "a+b"),            # an empty drug name is no drug
    ("+a+", "a"),
    ("a+b+a", "a+b"),           # a drug named twice is one drug
    ("osimertinib", "osimertinib"),
    ("", ""), (" + ", ""),      # no drug name at all
    (None, ""), (pd.NA, ""), (float("nan"), ""), (np.float64("nan"), ""),  # missing
])
def test_regimen_key_edge_cases(name, key):
    assert regimen_key(name) == key
    assert regimen_keys(pd.Series([name, "b+a", name], dtype=object)).tolist() == [key, "a+b",
                                                                                   key]


def test_regimen_drugs_keep_order_and_repeats_for_the_mechanism_features():
    assert regimen_drugs("B + a+b") == ["b", "a", "b"]
    assert regimen_drugs(pd.NA) == [] and regimen_drugs("a++b") == ["a", "b"]


def test_regimen_keys_of_a_string_column_with_missing_values():
    names = pd.Series(["b+a", pd.NA, "a + b", None], dtype="string")
    assert regimen_keys(names).tolist() == ["a+b", "", "a+b", ""]
