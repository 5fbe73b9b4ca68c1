"""The expression family (rna_* singscores): scale invariance, coverage, pooled matrices, JSON
state, pipeline integration, and a sanity check on a real ICB RNA-seq cohort."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import load_config, make_cohort
from scipy.stats import spearmanr

from predictor.data.expression import Expression
from predictor.errors import InputError
from predictor.features.base import estimator_from_state, estimator_to_state
from predictor.features.expression import ExpressionTMEFeatures
from predictor.features.knowledge import load_expression_signatures
from predictor.features.pipeline import FeaturePipeline, build_feature_pipeline

LIBRARY = {
    "signatures": {
        "immune": {"genes": ["CD8A", "GZMA", "PRF1", "CCN2|CTGF"], "direction": "up"},
        "stroma": {"genes": ["COL1A1", "FAP", "ACTA2"], "direction": "up"},
        "epithelial_down": {"genes": ["KRT8", "KRT18"], "direction": "down"},
    },
    "composites": {"immune_vs_stroma": {"plus": ["immune"], "minus": ["stroma"]}},
}
SET_GENES = ["CD8A", "GZMA", "PRF1", "CTGF", "COL1A1", "FAP", "ACTA2", "KRT8", "KRT18"]


def tpm_matrix(n_samples: int = 3, seed: int = 0, n_other: int = 200) -> Expression:
    rng = np.random.default_rng(seed)
    genes = SET_GENES + [f"G{i}" for i in range(n_other)]
    values = np.round(rng.lognormal(1.0, 2.0, size=(len(genes), n_samples)), 3)
    values[rng.random(values.shape) < 0.1] = 0.0  # unexpressed genes tie at 0
    return Expression(values, genes, [f"s{i + 1}" for i in range(n_samples)], "tpm")


def with_values(expr: Expression, values: np.ndarray) -> Expression:
    return Expression(values, expr.genes, expr.samples, expr.unit)


def test_scores_ignore_any_increasing_transform() -> None:
    tpm = tpm_matrix(n_samples=20)
    family = ExpressionTMEFeatures(gene_sets=LIBRARY)
    family.fit(make_cohort(expression=tpm.select_samples(["s1", "s2", "s3"])))
    base = family.sample_scores(tpm)
    raw = tpm.values.astype(np.float64)
    for values in (np.log2(raw + 1.0), raw * 1000.0, np.sqrt(raw), raw / raw.sum(axis=0) * 1e6):
        pd.testing.assert_frame_equal(family.sample_scores(with_values(tpm, values)), base)
    assert base.notna().all().all()


def test_feature_names_composites_and_down_sets() -> None:
    cohort = make_cohort(expression=tpm_matrix())
    family = ExpressionTMEFeatures(gene_sets=LIBRARY).fit(cohort)
    assert family.feature_names_ == ["rna_immune", "rna_stroma", "rna_epithelial_down",
                                     "rna_immune_vs_stroma"]
    out = family.transform(cohort)
    assert list(out.index) == ["p1", "p2", "p3"]
    np.testing.assert_allclose(out["rna_immune_vs_stroma"], out["rna_immune"] - out["rna_stroma"])
    # A "down" set scores minus the same genes scored as "up".
    up = ExpressionTMEFeatures(
        gene_sets={"signatures": {"epithelial_down": {"genes": ["KRT8", "KRT18"]}}},
    ).fit(cohort).transform(cohort)
    np.testing.assert_allclose(out["rna_epithelial_down"], -up["rna_epithelial_down"])


def test_config_chooses_signatures_and_rejects_unknown_names() -> None:
    cohort = make_cohort(expression=tpm_matrix())
    family = ExpressionTMEFeatures(gene_sets=LIBRARY, signatures=["stroma"],
                                   composites=["immune_vs_stroma"]).fit(cohort)
    # immune is computed for the composite but not output
    assert family.feature_names_ == ["rna_stroma", "rna_immune_vs_stroma"]
    with pytest.raises(InputError, match="unknown expression signature"):
        ExpressionTMEFeatures(gene_sets=LIBRARY, signatures=["nope"]).fit(cohort)


def test_low_coverage_gives_nan_and_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    tpm = tpm_matrix(n_samples=3)
    cohort = make_cohort(expression=tpm)
    family = ExpressionTMEFeatures(gene_sets=LIBRARY, min_coverage=0.75).fit(cohort)
    values = tpm.values.copy()
    rows = tpm.gene_rows(["FAP", "ACTA2"])
    values[rows[0], :2] = np.nan  # stroma: 2 of 3 genes (0.67 < 0.75) in s1, s2
    values[rows[1], 0] = np.nan  # s1: 1 of 3
    caplog.set_level(logging.WARNING)
    out = family.transform(make_cohort(expression=with_values(tpm, values)))
    assert out["rna_stroma"].isna().tolist() == [True, True, False]
    assert out["rna_immune_vs_stroma"].isna().tolist() == [True, True, False]
    assert out["rna_immune"].notna().all()
    warnings = [r.getMessage() for r in caplog.records if "stroma" in r.getMessage()]
    assert len(warnings) == 1
    assert "coverage 0.33" in warnings[0] and "2 of 3 samples" in warnings[0]


def test_signature_without_coverage_at_fit_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    tpm = tpm_matrix()
    keep = [g for g in tpm.genes if g not in ("FAP", "ACTA2")]
    small = Expression(tpm.to_frame().loc[keep].to_numpy(), keep, tpm.samples)
    caplog.set_level(logging.WARNING)
    family = ExpressionTMEFeatures(gene_sets=LIBRARY).fit(make_cohort(expression=small))
    assert "rna_stroma" not in family.feature_names_
    assert "rna_immune_vs_stroma" not in family.feature_names_  # its component is gone
    assert family.fit_coverage_["stroma"] == pytest.approx(1 / 3)
    assert any("'stroma' dropped" in r.getMessage() for r in caplog.records)


def test_pooled_studies_rank_each_sample_over_its_own_genes() -> None:
    """A study that lacks genes gives NaN rows in the pooled matrix; its samples score as if
    ranked alone, and the renamed symbol (CTGF in one study, CCN2 in the other) is used."""
    a = tpm_matrix(n_samples=3, seed=1)
    frame = tpm_matrix(n_samples=2, seed=2, n_other=150).to_frame()
    frame = frame.rename(index={"CTGF": "CCN2"})
    b = Expression(frame.to_numpy(), frame.index, ["t1", "t2"])
    pooled = Expression.concat([a, b])
    assert np.isnan(pooled.to_frame().loc["G199", ["t1", "t2"]]).all()
    family = ExpressionTMEFeatures(gene_sets=LIBRARY, min_coverage=1.0)
    family.fit(make_cohort(expression=a))
    together = family.sample_scores(pooled)
    pd.testing.assert_frame_equal(together.loc[["s1", "s2", "s3"]], family.sample_scores(a))
    pd.testing.assert_frame_equal(together.loc[["t1", "t2"]], family.sample_scores(b))
    assert together.notna().all().all()


def test_patients_average_their_samples_and_lack_gives_nan() -> None:
    tpm = tpm_matrix(n_samples=3)
    samples = pd.DataFrame({"sample_id": ["s1", "s2", "s3"], "patient_id": ["p1", "p1", "p2"]})
    cohort = make_cohort(samples=samples, mutations=None, cna=None, expression=tpm)
    family = ExpressionTMEFeatures(gene_sets=LIBRARY).fit(cohort)
    per_sample = family.sample_scores(tpm)
    out = family.transform(cohort)
    np.testing.assert_allclose(out.loc["p1", "rna_immune"],
                               per_sample.loc[["s1", "s2"], "immune"].mean())
    np.testing.assert_allclose(out.loc["p2", "rna_immune"], per_sample.loc["s3", "immune"])
    assert out.loc["p3"].isna().all()  # no expression sample


def test_state_round_trip_gives_the_same_output() -> None:
    cohort = make_cohort(expression=tpm_matrix())
    family = ExpressionTMEFeatures(gene_sets=LIBRARY).fit(cohort)
    state = json.loads(json.dumps(estimator_to_state(family)))
    assert state["attributes"]["signatures_"]["immune"]["genes"] == ["CD8A", "GZMA", "PRF1",
                                                                      "CCN2|CTGF"]
    again = estimator_from_state(state)
    pd.testing.assert_frame_equal(again.transform(cohort), family.transform(cohort))


def test_default_config_leaves_the_family_off() -> None:
    """Off until cohorts carry RNA-seq, so existing bundles do not change (pretreatment and
    no_clonal inherit default's families)."""
    config = load_config("default")
    assert config["families"]["expression"]["enabled"] is False
    assert "expression" not in dict(build_feature_pipeline(**config).steps)


def test_pipeline_with_and_without_expression(default_config: dict) -> None:
    config = json.loads(json.dumps(default_config))
    config["families"]["expression"]["enabled"] = True
    library = load_expression_signatures()
    genes = sorted({g.split("|")[0] for s in library["signatures"].values() for g in s["genes"]})
    genes += [f"G{i}" for i in range(500)]
    rng = np.random.default_rng(3)
    expr = Expression(rng.lognormal(size=(len(genes), 2)), genes, ["s1", "s2"], "tpm")
    with_rna = make_cohort(expression=expr)
    pipeline = build_feature_pipeline(**config).fit(with_rna)
    names = [n for n in pipeline.feature_names_ if n.startswith("rna_")]
    assert len(names) == len(config["families"]["expression"]["signatures"]) + len(
        config["families"]["expression"]["composites"])
    X = pipeline.transform(with_rna)
    assert X.loc[["p1", "p2"], names].notna().all().all()
    assert X.loc["p3", names].isna().all()  # p3 has no RNA-seq sample
    without = pipeline.transform(make_cohort())  # expression absent: NaN columns
    assert without[names].isna().all().all()
    others = [n for n in X.columns if not n.startswith("rna_")]
    pd.testing.assert_frame_equal(without[others], X[others])
    again = FeaturePipeline.from_state(json.loads(json.dumps(pipeline.to_state())))
    pd.testing.assert_frame_equal(again.transform(with_rna), X)
    # A cohort without expression at fit: the family is skipped, no rna_ column.
    skipped = build_feature_pipeline(**config).fit(make_cohort())
    assert not any(n.startswith("rna_") for n in skipped.feature_names_)


def test_every_packaged_signature_has_a_citation() -> None:
    import yaml

    from predictor.features.knowledge import DEFAULT_EXPRESSION_SIGNATURES, resolve_path

    raw = yaml.safe_load(resolve_path(DEFAULT_EXPRESSION_SIGNATURES).read_text())
    for name, entry in raw["signatures"].items():
        assert entry["citation"] and entry["why"], name


def test_real_cohort_scores_track_their_marker_genes(shared_data) -> None:
    """Liu 2019 melanoma (120 pre-anti-PD-1 tumours): CD8 and cytolytic scores follow CD8A and
    GZMA/PRF1 expression, and IFN-gamma signalling goes with CD8 infiltration."""
    from predictor.data.readers import read_cohort

    cohort = read_cohort(shared_data / "icb_rnaseq" / "liu_2019_skcm")
    family = ExpressionTMEFeatures(gene_sets=load_expression_signatures(), signatures=None,
                                   composites=None)
    out = family.fit(cohort).transform(cohort)
    assert len(out) == 120 and out.notna().mean().min() > 0.95
    frame = cohort.expression.by_patient(cohort.samples, cohort.patient_ids).to_frame()

    def log_tpm(gene: str) -> np.ndarray:
        return np.log1p(frame.loc[gene].to_numpy(dtype=float))

    assert spearmanr(out["rna_cd8_t_cells"], log_tpm("CD8A"))[0] > 0.7
    assert spearmanr(out["rna_cytolytic_activity"], log_tpm("GZMA") + log_tpm("PRF1"))[0] > 0.7
    assert spearmanr(out["rna_ifng"], out["rna_cd8_t_cells"])[0] > 0.5
    assert spearmanr(out["rna_tgfb_fibroblast"], out["rna_caf"])[0] > 0.5


def test_pooled_real_cohorts_are_scored_for_every_patient(shared_data, caplog) -> None:
    """The seven ICB RNA-seq studies pooled (two annotation generations, 16.7k-20.2k genes):
    the default config's signatures have coverage in every sample."""
    from predictor.data.readers import read_cohort

    folders = sorted(p for p in (shared_data / "icb_rnaseq").iterdir() if p.is_dir())
    cohort = read_cohort(folders)
    options = dict(load_config("default")["families"]["expression"])
    options.pop("enabled")
    options["gene_sets"] = load_expression_signatures(options["gene_sets"])
    caplog.set_level(logging.WARNING)
    out = ExpressionTMEFeatures(**options).fit(cohort).transform(cohort)
    assert len(out) == len(cohort.patient_ids) > 250
    assert out.notna().all().all()
    assert not [r for r in caplog.records if "expression signature" in r.getMessage()]


def test_bench_expression_case_runs_small(capsys) -> None:
    """``predictor bench features --expression`` on a tiny matrix (a smoke test, not timed)."""
    from predictor.bench.features import expression_cohort, run_expression

    cohort = expression_cohort(5, 400)
    assert cohort.expression.shape == (400, 5)
    assert (cohort.expression.values == 0).mean() > 0.2  # ties at zero, as in real RNA-seq
    run_expression("20x600")
    options = load_config("default")["families"]["expression"]
    n_features = len(options["signatures"]) + len(options["composites"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["20", "600", str(n_features)]  # samples, genes, features
