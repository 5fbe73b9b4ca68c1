"""Clonal diversity: hand-computed MATH, Shannon, Simpson, clonal TMB, subclonal fraction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import make_cohort, mutations_table, samples_table

from predictor.features.clonal import ClonalFeatures
from predictor.features.maf import DEFAULT_PANEL_SIZES_MB


def _family(**kw) -> ClonalFeatures:
    kw.setdefault("panel_sizes_mb", dict(DEFAULT_PANEL_SIZES_MB))
    return ClonalFeatures(**kw)


def _shannon(p: list[float]) -> float:
    return -sum(x * math.log(x) for x in p)


def test_math_score_matches_mroz_rocco_by_hand(cohort):
    X = _family().fit_transform(cohort)
    vafs = np.array([0.25, 0.10, 0.25, 0.20, 0.10, 0.05])
    med = np.median(vafs)  # 0.15
    mad = 1.4826 * np.median(np.abs(vafs - med))  # 1.4826 * 0.075
    assert X.loc["p1", "clonal_math"] == pytest.approx(100 * mad / med)
    assert X.loc["p1", "clonal_math"] == pytest.approx(74.13)
    assert np.isnan(X.loc["p2", "clonal_math"])  # 2 mutations < min_math_mutations


def test_ccf_from_purity_gives_subclonal_fraction_clonal_tmb_and_inferred_clones(cohort):
    X = _family().fit_transform(cohort)
    # CCF = 1.0, 0.4, 1.0, 0.8, 0.4, 0.2: 3 of 6 below 0.8; clonal non-synonymous: EGFR, TP53.
    assert X.loc["p1", "clonal_subclonal_fraction"] == pytest.approx(0.5)
    assert X.loc["p1", "clonal_tmb"] == pytest.approx(2 / 30.0)
    # Clusters: trunk (3 mutations), bin [0.4, 0.5) (2), bin [0.2, 0.3) (1 < 2: dropped).
    assert X.loc["p1", "clonal_n_clones"] == 2
    assert X.loc["p1", "clonal_shannon"] == pytest.approx(_shannon([0.6, 0.4]))
    assert X.loc["p1", "clonal_simpson"] == pytest.approx(1 - (0.36 + 0.16))
    assert X.loc["p1", "clonal_largest_subclone_ccf"] == pytest.approx(0.4)
    assert X.loc["p3"].isna().all()  # not sequenced


def test_maf_ccf_column_wins_over_vaf():
    muts = mutations_table()
    muts["ccf"] = [1.0, 1.0, 1.0, 1.0, 1.0, 0.1, None, None]
    X = _family().fit_transform(make_cohort(mutations=muts))
    assert X.loc["p1", "clonal_subclonal_fraction"] == pytest.approx(1 / 6)
    assert X.loc["p1", "clonal_tmb"] == pytest.approx(4 / 30.0)


def test_purity_is_estimated_from_the_upper_vaf_mode():
    muts = pd.DataFrame({
        "Tumor_Sample_Barcode": ["s2"] * 5, "Hugo_Symbol": ["G1", "G2", "G3", "G4", "G5"],
        "Variant_Classification": ["Missense_Mutation"] * 5,
        "t_alt_count": [30, 30, 30, 10, 10], "t_ref_count": [70, 70, 70, 90, 90]})
    X = _family().fit_transform(make_cohort(mutations=muts))
    # median VAF 0.3, upper half median 0.3 -> purity 0.6 -> CCF 1, 1, 1, 1/3, 1/3.
    assert X.loc["p2", "clonal_subclonal_fraction"] == pytest.approx(0.4)
    assert X.loc["p2", "clonal_tmb"] == pytest.approx(3 / 1.1565)
    # Without estimation nor default purity the CCF is unknown.
    X2 = _family(estimate_purity=False).fit_transform(make_cohort(mutations=muts))
    assert np.isnan(X2.loc["p2", "clonal_subclonal_fraction"])
    assert np.isnan(X2.loc["p2", "clonal_tmb"])


@pytest.mark.parametrize(
    ("n_mutations", "expected_p"),
    [([6, 3, 1], [0.6, 0.3, 0.1]),  # share of mutations per clone
     ([None, None, None], [0.2, 0.5, 0.3])],  # exclusive cellular prevalence: 1-0.8, 0.5, 0.3
)
def test_clone_table_diversity(n_mutations, expected_p):
    clones = pd.DataFrame({
        "sample_id": ["s1", "s1", "s1"], "clone_id": ["C1", "C2", "C3"],
        "parent_clone_id": [None, "C1", "C1"], "ccf": [1.0, 0.5, 0.3],
        "n_mutations": n_mutations})
    X = _family().fit_transform(make_cohort(clones=clones))
    assert X.loc["p1", "clonal_n_clones"] == 3
    assert X.loc["p1", "clonal_shannon"] == pytest.approx(_shannon(expected_p))
    assert X.loc["p1", "clonal_simpson"] == pytest.approx(1 - sum(p * p for p in expected_p))
    assert X.loc["p1", "clonal_largest_subclone_ccf"] == pytest.approx(0.5)
    # p2 has no clone rows: inferred from its MAF (purity unknown, 2 VAFs: not estimable).
    assert np.isnan(X.loc["p2", "clonal_shannon"])


def test_single_clone_has_zero_diversity_and_clone_table_alone_is_enough():
    clones = pd.DataFrame({"sample_id": ["s1"], "clone_id": ["C1"], "ccf": [1.0],
                           "n_mutations": [7]})
    X = _family().fit_transform(make_cohort(mutations=None, clones=clones))
    assert X.loc["p1", "clonal_shannon"] == 0.0 and X.loc["p1", "clonal_simpson"] == 0.0
    assert X.loc["p1", "clonal_largest_subclone_ccf"] == 0.0
    assert np.isnan(X.loc["p1", "clonal_math"])


def test_several_samples_take_the_most_diverse():
    samples = pd.concat([samples_table(), pd.DataFrame(
        {"sample_id": ["s1b"], "patient_id": ["p1"], "panel": ["SIM_WES"], "purity": [0.5]})])
    clones = pd.DataFrame({
        "sample_id": ["s1", "s1b", "s1b"], "clone_id": ["C1", "C1", "C2"],
        "parent_clone_id": [None, None, "C1"], "ccf": [1.0, 1.0, 0.5],
        "n_mutations": [5, 5, 5]})
    X = _family().fit_transform(make_cohort(samples=samples, clones=clones))
    assert X.loc["p1", "clonal_n_clones"] == 2
    assert X.loc["p1", "clonal_shannon"] == pytest.approx(math.log(2))
