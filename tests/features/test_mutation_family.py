"""Mutation profile: TMB, counts, flags; invariances; sequenced-vs-missing semantics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import make_cohort, mutations_table, samples_table

from predictor.features.knowledge import load_gene_sets
from predictor.features.maf import DEFAULT_PANEL_SIZES_MB
from predictor.features.mutation import MutationFeatures


def _family(**kw) -> MutationFeatures:
    kw.setdefault("panel_sizes_mb", dict(DEFAULT_PANEL_SIZES_MB))
    kw.setdefault("pathways", load_gene_sets())
    return MutationFeatures(**kw)


def test_tmb_is_nonsynonymous_per_mb_of_the_panel(cohort):
    X = _family().fit_transform(cohort)
    # s1: 5 non-synonymous of 6 rows on a 30 Mb panel; s2: 2 on IMPACT468 (1.1565 Mb).
    assert X.loc["p1", "tmb"] == pytest.approx(5 / 30.0)
    assert X.loc["p2", "tmb"] == pytest.approx(2 / 1.1565)
    assert X.loc["p1", "mut_n_total"] == 6
    assert X.loc["p1", "mut_vc_silent"] == 1
    assert X.loc["p1", "mut_indel_per_mb"] == pytest.approx(1 / 30.0)
    assert X.loc["p2", "mut_indel_fraction"] == pytest.approx(0.5)


def test_unsequenced_patient_is_nan_and_sequenced_without_mutation_is_zero():
    samples = samples_table()
    samples.loc[2, "panel"] = "SIM_WES"  # p3 sequenced, no mutation row
    X = _family().fit_transform(make_cohort(samples=samples))
    assert X.loc["p3", "tmb"] == 0.0
    assert X.loc["p3", "drv_tp53"] == 0.0
    X2 = _family().fit_transform(make_cohort())
    assert np.isnan(X2.loc["p3", "tmb"]) and np.isnan(X2.loc["p3", "drv_tp53"])


def test_unknown_panel_gives_nan_tmb_unless_a_default_size_is_set():
    samples = samples_table()
    samples.loc[0, "panel"] = "MYSTERY_PANEL"
    cohort = make_cohort(samples=samples)
    assert np.isnan(_family().fit_transform(cohort).loc["p1", "tmb"])
    X = _family(default_panel_size_mb=2.0).fit_transform(cohort)
    assert X.loc["p1", "tmb"] == pytest.approx(5 / 2.0)
    assert X.loc["p1", "mut_n_nonsyn"] == 5  # counts do not need the panel size


def test_silent_mutation_leaves_tmb_unchanged(cohort):
    family = _family().fit(cohort)
    before = family.transform(cohort)
    extra = pd.DataFrame({"Tumor_Sample_Barcode": ["s1"], "Hugo_Symbol": ["EGFR"],
                          "Variant_Classification": ["Silent"], "HGVSp_Short": ["p.L858="],
                          "t_ref_count": [50], "t_alt_count": [50]})
    after = family.transform(make_cohort(mutations=pd.concat([mutations_table(), extra])))
    assert after.loc["p1", "tmb"] == before.loc["p1", "tmb"]
    assert after.loc["p1", "mut_n_total"] == before.loc["p1", "mut_n_total"] + 1


def test_maf_row_order_does_not_matter(cohort):
    family = _family().fit(cohort)
    shuffled = mutations_table().sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(family.transform(make_cohort(mutations=shuffled)),
                                  family.transform(cohort))


def test_driver_cna_and_pathway_flags(cohort):
    X = _family().fit_transform(cohort)
    assert X.loc["p1", "drv_egfr"] == 1 and X.loc["p2", "drv_egfr"] == 0
    assert X.loc["p1", "drv_met_amp"] == 1 and X.loc["p2", "drv_met_amp"] == 0
    assert np.isnan(X.loc["p3", "drv_met_amp"])  # no CNA row
    assert X.loc["p2", "path_antigen_presentation"] == 1  # B2M frameshift
    assert X.loc["p1", "path_rtk_ras"] == 1 and X.loc["p2", "path_rtk_ras"] == 0
    # Only configured genes altered in training become columns.
    assert "drv_kras" not in X.columns
    assert "drv_ttn" not in _family(driver_genes=["TP53"]).fit_transform(cohort).columns


def test_silent_mutation_in_a_driver_is_not_a_driver_flag():
    muts = mutations_table()
    muts.loc[7, "Variant_Classification"] = "Silent"  # B2M in s2
    X = _family(driver_genes=["B2M", "TP53"], min_patients=0).fit_transform(
        make_cohort(mutations=muts))
    assert X.loc["p2", "drv_b2m"] == 0.0


def test_several_samples_take_the_most_mutated_one_and_flags_from_any():
    samples = pd.concat([samples_table(), pd.DataFrame(
        {"sample_id": ["s2b"], "patient_id": ["p2"], "panel": ["SIM_WES"], "purity": [0.4]})])
    extra = pd.DataFrame({"Tumor_Sample_Barcode": ["s2b"] * 3, "Hugo_Symbol": ["KRAS"] * 3,
                          "Variant_Classification": ["Missense_Mutation", "Silent", "Silent"],
                          "HGVSp_Short": ["p.G12C", "p.A1A", "p.A2A"],
                          "t_ref_count": [50] * 3, "t_alt_count": [50] * 3})
    cohort = make_cohort(samples=samples, mutations=pd.concat([mutations_table(), extra]))
    X = _family(driver_genes=["KRAS", "B2M"], min_patients=0).fit_transform(cohort)
    # s2b has 3 rows (1 non-synonymous, 30 Mb) > s2's 2 rows: every count comes from s2b.
    assert X.loc["p2", "mut_n_total"] == 3
    assert X.loc["p2", "tmb"] == pytest.approx(1 / 30.0)
    assert X.loc["p2", "mut_indel_fraction"] == 0.0
    assert X.loc["p2", "drv_kras"] == 1 and X.loc["p2", "drv_b2m"] == 1
