"""Published expression scores: hand-computed values on tiny matrices, pinned gene lists."""

import math

import numpy as np
import pandas as pd
import pytest

from predictor.data.cohort import Cohort
from predictor.data.expression import Expression
from predictor.errors import InputError
from predictor.features import published_expression as P
from predictor.features.pipeline import FeaturePipeline, build_feature_pipeline


def _expr(columns: dict[str, dict[str, float]], fill: float = 1.0) -> Expression:
    """Every needed gene at ``fill`` TPM, overridden per sample by ``columns``."""
    genes = P.needed_genes()
    frame = pd.DataFrame(fill, index=genes, columns=list(columns), dtype=float)
    for sample, values in columns.items():
        for gene, value in values.items():
            frame.loc[gene, sample] = value
    return Expression(frame.to_numpy(), frame.index, frame.columns, unit="tpm")


def test_cytolytic_activity_is_the_geometric_mean_with_offset():
    out = P.published_scores(_expr({"s1": {"GZMA": 3.99, "PRF1": 15.99}, "s2": {"GZMA": 0,
                                                                               "PRF1": 0}}))
    assert out.loc["s1", "pub_cyt"] == pytest.approx(8.0, rel=1e-5)   # sqrt(4 * 16)
    assert out.loc["s2", "pub_cyt"] == pytest.approx(0.01, rel=1e-5)


def test_gep_is_the_weighted_sum_of_housekeeping_centred_log10():
    # Housekeeping genes at 9 TPM (log10 10 = 1); STAT1 at 999 (log10 1000 = 3), the other 17
    # signature genes at 9: score = w_STAT1 * (3 - 1) + 0 for the others.
    values = {g: 9.0 for g in [*P.GEP_HOUSEKEEPING, *P.GEP_WEIGHTS]}
    values["STAT1"] = 999.0
    out = P.published_scores(_expr({"s1": values}))
    assert out.loc["s1", "pub_gep"] == pytest.approx(2 * 0.250229, rel=1e-5)
    # All genes equal: every centred value is 0.
    flat = P.published_scores(_expr({"s1": {}}, fill=5.0))
    assert flat.loc["s1", "pub_gep"] == pytest.approx(0.0, abs=1e-6)


def test_gep_weights_and_housekeeping_genes_are_the_published_ones():
    assert len(P.GEP_WEIGHTS) == 18 and len(P.GEP_HOUSEKEEPING) == 11
    assert P.GEP_WEIGHTS["STAT1"] == 0.250229 and P.GEP_WEIGHTS["CD276"] == -0.0239
    assert sum(P.GEP_WEIGHTS.values()) == pytest.approx(1.142788, abs=1e-6)


def test_cd8_teff_is_the_mean_log2_of_eight_genes():
    values = {g: 1.0 for g in P.CD8_TEFF_GENES}   # log2(2) = 1
    values["CD8A"] = 7.0                          # log2(8) = 3
    out = P.published_scores(_expr({"s1": values}))
    assert out.loc["s1", "pub_cd8_teff"] == pytest.approx((7 * 1 + 3) / 8, rel=1e-6)


def test_impres_pairs_are_the_fifteen_published_ones():
    assert P.IMPRES_PAIRS == (
        ("PDCD1", "TNFSF4"), ("CD27", "PDCD1"), ("CTLA4", "TNFSF4"), ("CD40", "CD28"),
        ("CD86", "TNFSF4"), ("CD28", "CD86"), ("CD80", "TNFSF9"), ("CD274", "VSIR"),
        ("CD86", "HAVCR2"), ("CD40", "PDCD1"), ("CD86", "CD200"), ("CD40", "CD80"),
        ("CD28", "CD276"), ("CD40", "CD274"), ("TNFRSF14", "CD86"))
    assert len(set(P.IMPRES_PAIRS)) == 15


def test_impres_counts_strict_wins_and_rescales_missing_pairs():
    # All genes equal: no strict win. CD40 highest: wins CD40>CD28, >PDCD1, >CD80, >CD274.
    assert P.published_scores(_expr({"s": {}}))["pub_impres"].iloc[0] == 0.0
    out = P.published_scores(_expr({"s": {"CD40": 50.0}}))
    assert out["pub_impres"].iloc[0] == 4.0
    # Drop TNFSF4 (3 pairs): 4 wins of 12 measured pairs -> 4 * 15 / 12 = 5.
    expr = _expr({"s": {"CD40": 50.0}})
    keep = expr.genes != "TNFSF4"
    expr = Expression(expr.values[keep], expr.genes[keep], expr.samples, unit="tpm")
    assert P.published_scores(expr)["pub_impres"].iloc[0] == 5.0


def test_alias_symbols_are_used_and_missing_genes_give_nan():
    expr = _expr({"s": {"CD274": 10.0}})
    genes = pd.Index([("C10orf54" if g == "VSIR" else g) for g in expr.genes])
    renamed = Expression(expr.values, genes, expr.samples, unit="tpm")
    assert P.published_scores(renamed)["pub_impres"].iloc[0] == 1.0  # CD274 > C10orf54
    # Pooled studies: VSIR measured in one sample, C10orf54 in the other.
    pooled = Expression.concat([_expr({"a": {"CD274": 10.0}}), renamed.select_samples(["s"])])
    assert list(P.published_scores(pooled)["pub_impres"]) == [1.0, 1.0]
    # A missing GEP gene drops its term (STAT1 at 999 TPM no longer counts); no PRF1: no CYT.
    values = {g: 9.0 for g in [*P.GEP_HOUSEKEEPING, *P.GEP_WEIGHTS]}
    values.update(STAT1=999.0, CD27=99.0)
    expr = _expr({"s": values})
    keep = ~expr.genes.isin(["STAT1", "PRF1"])
    partial = Expression(expr.values[keep], expr.genes[keep], expr.samples, unit="tpm")
    scores = P.published_scores(partial)
    assert scores["pub_gep"].iloc[0] == pytest.approx(0.072293 * (2 - 1), rel=1e-5)
    assert math.isnan(scores["pub_cyt"].iloc[0])
    keep = ~expr.genes.isin(list(P.GEP_WEIGHTS))
    none = Expression(expr.values[keep], expr.genes[keep], expr.samples, unit="tpm")
    assert math.isnan(P.published_scores(none)["pub_gep"].iloc[0])


def _cohort(expression: Expression | None) -> Cohort:
    clinical = pd.DataFrame({"patient_id": ["p1", "p2", "p3"], "cancer_type": ["Melanoma"] * 3})
    samples = pd.DataFrame({"sample_id": ["t1", "t2", "t3"], "patient_id": ["p1", "p2", "p3"]})
    return Cohort.from_tables(clinical=clinical, samples=samples, expression=expression)


def test_family_in_the_pipeline_scores_patients_and_round_trips():
    expr = _expr({"t2": {"GZMA": 3.99, "PRF1": 15.99}, "t1": {}})   # p3 has no expression
    cohort = _cohort(expr)
    pipeline = build_feature_pipeline({"families": {"published_expression": {}}})
    X = pipeline.fit(cohort).transform(cohort)
    assert list(X.columns) == ["pub_cyt", "pub_gep", "pub_cd8_teff", "pub_impres"]
    assert X.loc["p2", "pub_cyt"] == pytest.approx(8.0, rel=1e-5)
    assert X.loc["p1", "pub_cyt"] == pytest.approx(1.01, rel=1e-5)
    assert X.loc["p3"].isna().all()
    again = FeaturePipeline.from_state(pipeline.to_state()).transform(cohort)
    pd.testing.assert_frame_equal(X, again)


def test_family_subset_of_scores_and_unknown_score():
    cohort = _cohort(_expr({"t1": {}, "t2": {}, "t3": {}}))
    pipeline = build_feature_pipeline({"families": {"published_expression":
                                                    {"scores": ["impres"]}}})
    assert list(pipeline.fit(cohort).transform(cohort).columns) == ["pub_impres"]
    bad = build_feature_pipeline({"families": {"published_expression": {"scores": ["xyz"]}}})
    with pytest.raises(InputError, match="unknown published expression score"):
        bad.fit(cohort)


def test_family_is_skipped_without_expression():
    pipeline = build_feature_pipeline({"families": {"published_expression": {}}})
    X = pipeline.fit(_cohort(None)).transform(_cohort(None))
    assert X.shape[1] == 0
    assert np.isfinite(X.to_numpy()).all()
