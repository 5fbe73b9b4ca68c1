"""Within-cohort rank normal scores: fitted per cohort (each study ranked against itself,
whatever the other studies hold), and a single new patient placed among the training
reference. The pipeline test pools two simulated studies written and read back as
cBioPortal folders (real format)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, rankdata

from predictor.data.cbioportal import write_cbioportal
from predictor.data.readers import read_cohort
from predictor.data.simulator.generate import simulate_cohort
from predictor.errors import InputError
from predictor.features.pipeline import FeaturePipeline, build_feature_pipeline
from predictor.features.within_cohort import WithinCohortRanks

FAMILIES = {"published_expression": {"scores": None},
            "expression": {"signatures": ["mhc_i_antigen_presentation"],
                           "composites": ["exclusion"]}}
CONFIG = {"families": FAMILIES, "within_cohort": {"column": "cohort", "min_group_size": 10}}


def unranked(cohort) -> pd.DataFrame:
    """The same families without the within-cohort step (fitted on the same patients)."""
    return build_feature_pipeline({"families": FAMILIES}).fit(cohort).transform(cohort)


def expected_scores(values: np.ndarray) -> np.ndarray:
    """Rank normal scores of one group computed independently (SciPy)."""
    out = np.full(len(values), np.nan)
    ok = ~np.isnan(values)
    out[ok] = norm.ppf((rankdata(values[ok], method="average") - 0.5) / ok.sum())
    return out


def test_each_group_is_ranked_against_itself() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 30), rng.normal(100, 50, 20)  # very different levels
    a[3] = np.nan
    X = pd.DataFrame({"f": np.r_[a, b], "g": np.r_[a * 0 + 1, b]})
    groups = np.array(["A"] * 30 + ["B"] * 20, dtype=object)
    step = WithinCohortRanks(min_group_size=10).fit(X)
    out = step.transform(X, groups)
    np.testing.assert_allclose(out["f"].to_numpy()[:30], expected_scores(a), atol=1e-12)
    np.testing.assert_allclose(out["f"].to_numpy()[30:], expected_scores(b), atol=1e-12)
    assert np.isnan(out["f"].iloc[3])  # missing stays missing
    assert out["g"].iloc[:30].dropna().nunique() == 1  # ties: one mid-rank score
    # B's values do not move A's scores (the normalisation of a group is its own)
    X2 = X.copy()
    X2.loc[30:, "f"] = X2.loc[30:, "f"] * -7 + 3
    np.testing.assert_allclose(step.transform(X2, groups)["f"].to_numpy()[:30],
                               out["f"].to_numpy()[:30])


def test_a_small_group_is_placed_among_the_training_reference() -> None:
    train = pd.DataFrame({"f": np.arange(1.0, 101.0)})  # 1 .. 100
    step = WithinCohortRanks(min_group_size=10).fit(train)
    lone = pd.DataFrame({"f": [50.5, 1000.0, -5.0, np.nan]})
    out = step.transform(lone, np.array(["new"] * 4, dtype=object))["f"].to_numpy()
    assert out[0] == pytest.approx(0.0, abs=1e-9)       # the training median
    assert out[1] == pytest.approx(norm.ppf(1 - 0.5 / 100))   # beyond the training range
    assert out[2] == pytest.approx(norm.ppf(0.5 / 100))
    assert np.isnan(out[3])


def test_one_row_replaced_is_scored_as_transform_scores_it() -> None:
    """``transform_replaced``: each row's new values ranked among the other rows as they are
    (ties, missing values, a group at the small-group threshold, an unranked column)."""
    rng = np.random.default_rng(4)
    n = 61
    X = pd.DataFrame({"f": rng.integers(0, 4, n).astype(float),   # many ties
                      "g": rng.normal(0, 1, n), "h": rng.normal(0, 1, n)})
    X.loc[[2, 9, 40], "f"] = np.nan
    groups = np.array(["A"] * 40 + ["B"] * 11 + ["C"] * 10, dtype=object)
    X.loc[[45, 52], "g"] = np.nan  # B and C: 10 and 9 values of g (C below min_group_size)
    step = WithinCohortRanks(features=["f", "g"], min_group_size=10).fit(X)
    positions = np.array([0, 2, 9, 39, 45, 50, 52, 60])
    new = np.column_stack([[1.0, 3.0, np.nan, 0.5, 2.0, 1.0, 0.3, 7.0],
                           [0.1, np.nan, -2.0, 5.0, 0.0, 0.2, -0.1, np.nan],
                           rng.normal(0, 1, len(positions))])
    got = step.transform_replaced(X, groups, positions, new, ["f", "g", "h"])
    for i, p in enumerate(positions):
        changed = X.copy()
        changed.iloc[p] = new[i]
        want = step.transform(changed, groups).iloc[p].to_numpy()
        np.testing.assert_array_equal(got[i], want)
    np.testing.assert_array_equal(got[:, 2], new[:, 2])  # "h" is not ranked: as given
    # its own values give the plain scores
    own = step.transform_replaced(X, groups, positions, X.iloc[positions].to_numpy(),
                                  ["f", "g", "h"])
    np.testing.assert_array_equal(own, step.transform(X, groups).iloc[positions].to_numpy())


def test_bad_options_and_unknown_features_are_refused() -> None:
    X = pd.DataFrame({"f": [1.0, 2.0]})
    with pytest.raises(InputError, match="does not make"):
        WithinCohortRanks(features=["nope"]).fit(X)
    with pytest.raises(InputError, match="min_group_size"):
        WithinCohortRanks(min_group_size=0).fit(X)
    with pytest.raises(InputError, match="unknown option"):
        build_feature_pipeline({"families": {"clinical": None},
                                "within_cohort": {"colum": "cohort"}})


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory):
    """Two simulated studies (different expression scales) as cBioPortal folders, pooled."""
    cohort, _ = simulate_cohort(70, 11)
    root = tmp_path_factory.mktemp("pooled")
    ids = cohort.patient_ids
    paths = []
    for name, part, scale in (("study_a", ids[:40], 1.0), ("study_b", ids[40:], 4.0)):
        sub = cohort.subset(part)
        expression = sub.expression
        scaled = replace(expression, values=expression.values * np.float32(scale))
        study = {**(sub.meta.get("study") or {}), "cancer_study_identifier": name}
        write_cbioportal(replace(sub, name=name, expression=scaled,
                                 meta={**sub.meta, "study": study}), root / name)
        paths.append(root / name)
    return read_cohort(paths), paths  # paths: folders of study_a, study_b


def test_pipeline_ranks_each_pooled_study_by_itself(pooled) -> None:
    cohort, _ = pooled
    pipeline = build_feature_pipeline(CONFIG).fit(cohort)
    ranked = pipeline.transform(cohort)
    raw = unranked(cohort)
    studies = cohort.clinical["cohort"].reindex(ranked.index).to_numpy()
    assert set(studies) == {"study_a", "study_b"}
    assert "pub_cyt" in ranked.columns and "rna_exclusion" in ranked.columns
    for study in ("study_a", "study_b"):
        rows = studies == study
        for name in ranked.columns:
            np.testing.assert_allclose(ranked.loc[rows, name].to_numpy(),
                                       expected_scores(raw.loc[rows, name].to_numpy()),
                                       atol=1e-9, err_msg=f"{study} {name}")
    # the scale that tells the studies apart is gone: no level difference left
    assert raw.loc[studies == "study_b", "pub_cyt"].mean() > 2 * raw.loc[
        studies == "study_a", "pub_cyt"].mean()
    means = ranked.groupby(studies)["pub_cyt"].mean()
    assert means.abs().max() < 1e-9
    # a study scored alone (a new hospital's batch) gets the same values as inside the pool
    alone = cohort.subset(ranked.index[studies == "study_b"])
    np.testing.assert_allclose(pipeline.transform(alone).to_numpy(),
                               ranked.loc[studies == "study_b"].to_numpy(), atol=1e-9)


def test_pipeline_scores_a_single_new_patient_from_its_saved_state(pooled) -> None:
    cohort, _ = pooled
    pipeline = build_feature_pipeline(CONFIG).fit(cohort)
    loaded = FeaturePipeline.from_state(json.loads(json.dumps(pipeline.to_state())))
    raw = unranked(cohort)
    patient = cohort.patient_ids[[5]]
    one = loaded.transform(cohort.subset(patient))
    assert one.shape == (1, len(pipeline.feature_names_))
    assert np.isfinite(one.to_numpy()).all()
    for name in one.columns:  # its position among all training values, as a normal score
        values = raw[name].to_numpy()
        share = (np.sum(values < raw.loc[patient[0], name])
                 + 0.5 * np.sum(values == raw.loc[patient[0], name])) / len(values)
        assert norm.cdf(one[name].iloc[0]) == pytest.approx(share, abs=0.03), name
