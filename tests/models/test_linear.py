import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from predictor.errors import InputError
from predictor.models import linear
from predictor.models.relapse import RelapseModel
from predictor.models.response import ResponseModel

FAST = {"n_estimators": 80, "inner_folds": 3, "early_stopping_rounds": 15, "learning_rate": 0.1,
        "num_threads": 1}


def test_design_terms_computed_by_hand():
    rng = np.random.default_rng(0)
    n = 200
    skewed = rng.lognormal(0.0, 1.5, n)  # non-negative and skewed -> value and log1p terms
    sym = rng.normal(size=n)
    sym[:20] = np.nan  # 10% missing -> a missing indicator term
    cat = np.repeat([0.0, 1.0, 2.0, 3.0], [100, 60, 35, 5])  # level 3 is too rare for a term
    matrix = np.column_stack([skewed, sym, cat])
    scorer = linear.fit_design(matrix, ["tmb", "nlr", "cancer"], categorical=["cancer"])
    kinds = [(t.feature, t.kind, t.log) for t in scorer.terms]
    assert kinds == [(0, "value", False), (0, "value", True), (1, "value", False),
                     (1, "missing", False), (2, "level", False), (2, "level", False),
                     (2, "level", False)]
    assert [t.level for t in scorer.terms[4:]] == [0.0, 1.0, 2.0]
    logged = scorer.terms[1]
    assert logged.low == pytest.approx(np.quantile(np.log1p(skewed), 0.01))
    assert logged.high == pytest.approx(np.quantile(np.log1p(skewed), 0.99))
    assert scorer.terms[0].high == pytest.approx(np.quantile(skewed, 0.99))
    # A missing value is filled with the median of the (clipped) observed values.
    x = np.array([[np.nan, np.nan, 3.0]])
    design = scorer.design(x) * scorer.scale + scorer.mean
    assert design[0, 2] == pytest.approx(np.median(sym[20:]))
    assert design[0, 3] == 1.0  # missing indicator
    assert design[0, 4:].tolist() == [0.0, 0.0, 0.0]  # rare level = reference
    # Values beyond the training range are clipped, not extrapolated.
    far = scorer.design(np.array([[1e9, 0.0, 0.0]])) * scorer.scale + scorer.mean
    assert far[0, 0] == pytest.approx(scorer.terms[0].high)
    assert far[0, 1] == pytest.approx(logged.high)


def test_contributions_sum_to_the_decision_and_state_round_trips(response_data):
    X, y = response_data
    matrix = X.to_numpy()
    scorer = linear.fit_logistic(linear.fit_design(matrix, list(X.columns), ["cat"]),
                                 matrix, y, None, C=0.1)
    contrib = scorer.contributions(matrix)
    np.testing.assert_allclose(contrib.sum(axis=1), scorer.decision(matrix), atol=1e-12)
    # f0 (+) and f2 (-) drive the simulated response.
    coef = dict(zip([(t.feature, t.kind) for t in scorer.terms], scorer.coef, strict=True))
    assert coef[(0, "value")] > 0.5 and coef[(2, "value")] < -0.5
    state = json.loads(json.dumps(scorer.to_dict()))
    again = linear.LinearScorer.from_dict(state)
    np.testing.assert_array_equal(again.decision(matrix), scorer.decision(matrix))
    # Infinite inputs are clipped like any value; decision agrees with the design everywhere.
    odd = matrix[:20].copy()
    odd[0, 0], odd[1, 3], odd[2, 2] = np.inf, -np.inf, np.nan
    np.testing.assert_allclose(scorer.decision(odd),
                               scorer.intercept + scorer.design(odd) @ scorer.coef, atol=1e-12)
    assert np.isfinite(scorer.decision(odd)).all()
    big = np.tile(matrix, (12, 1))  # more rows than one decision chunk
    assert len(big) > linear.DECISION_CHUNK_ROWS
    np.testing.assert_allclose(scorer.decision(big), np.tile(scorer.decision(matrix), 12),
                               atol=1e-12)
    for key, bad in (("kind", "spline"), ("scale", 0.0), ("coef", float("nan"))):
        broken = json.loads(json.dumps(state))
        broken["terms"][0][key] = bad
        with pytest.raises(InputError, match="linear model state"):
            linear.LinearScorer.from_dict(broken)


def _blend(X, y, tree_oof, tree_weight="cv"):
    matrix = X.to_numpy()
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(matrix, y))

    def fit(design, rows, C):
        return linear.fit_logistic(design, matrix[rows], y[rows], None, C)

    return linear.choose_blend(folds=folds, tree_oof=tree_oof, matrix=matrix,
                               feature_names=list(X.columns), categorical=["cat"], fit=fit,
                               score=linear.response_score(y), tree_weight=tree_weight,
                               penalties=[0.01, 0.1])


def test_blend_drops_uninformative_trees_and_keeps_informative_ones(response_data):
    X, y = response_data
    rng = np.random.default_rng(3)
    noise = rng.normal(scale=10.0, size=len(y))
    chosen = _blend(X, y, tree_oof=noise)
    assert chosen.tree_weight == 0.0 and chosen.linear is not None
    assert set(chosen.scores) == {"linear_penalty_0.01", "linear_penalty_0.1", "tree_weight_0",
                                  "tree_weight_0.25", "tree_weight_0.5", "tree_weight_0.75",
                                  "tree_weight_1"}
    # Trees that know the answer exactly, linear part on shuffled features: trees alone.
    truth = 1.5 * (X["f0"] - X["f2"]).to_numpy() + 0.8 * (X["cat"] == 1).to_numpy()
    shuffled = X.sample(frac=1.0, random_state=1).set_axis(X.index)
    kept = _blend(shuffled, y, tree_oof=truth * 3)
    assert kept.tree_weight == 1.0 and kept.linear is None
    np.testing.assert_array_equal(kept.oof, truth * 3)
    # A fixed weight is used as given; 1 skips the linear part entirely.
    fixed = _blend(X, y, tree_oof=noise, tree_weight=0.5)
    assert fixed.tree_weight == 0.5 and set(fixed.scores) >= {"tree_weight_0.5"}
    assert _blend(X, y, tree_oof=noise, tree_weight=1).scores == {}
    with pytest.raises(InputError, match="tree_weight"):
        _blend(X, y, tree_oof=noise, tree_weight="sometimes")


def test_response_head_blend_is_honest_and_persisted(response_data, tmp_path):
    X, y = response_data
    model = ResponseModel(**FAST, tree_weight="cv").fit(X.iloc[:500], y[:500],
                                                         categorical_features=["cat"])
    trees_only = ResponseModel(**FAST, tree_weight=1.0).fit(X.iloc[:500], y[:500],
                                                            categorical_features=["cat"])
    # The simulated signal is linear: the blend takes the linear part, and its out-of-fold AUC
    # (what it was chosen by) is at least the trees'.
    assert model.tree_weight_ < 1.0 and model.linear_ is not None
    assert trees_only.linear_ is None
    assert (roc_auc_score(y[:500], model.oof_raw_score_)
            >= roc_auc_score(y[:500], trees_only.oof_raw_score_))
    held_out = X.iloc[500:]
    assert roc_auc_score(y[500:], model.predict_proba(held_out)) > 0.8
    # The head's raw score is the booster's blended with the linear part (what serving does).
    matrix = held_out.to_numpy()
    booster_raw = model.booster_.predict(matrix, raw_score=True)
    np.testing.assert_allclose(model.raw_score(held_out), model.blend_raw(booster_raw, matrix))
    contrib = model.contributions(held_out)
    np.testing.assert_allclose(contrib.sum(axis=1), model.raw_score(held_out), atol=1e-9)
    model.save(tmp_path / "response")
    assert (tmp_path / "response" / "linear.json").is_file()
    loaded = ResponseModel.load(tmp_path / "response")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # Saving a trees-only model into the same folder removes the stale linear part.
    trees_only.save(tmp_path / "response")
    assert not (tmp_path / "response" / "linear.json").exists()
    model.save(tmp_path / "again")
    (tmp_path / "again" / "linear.json").unlink()
    with pytest.raises(InputError, match=r"linear\.json"):
        ResponseModel.load(tmp_path / "again")


def test_relapse_head_blend_keeps_breslow_identity(survival_data, tmp_path):
    X, time, event, _ = survival_data
    model = RelapseModel(**FAST, linear_alpha=[1.0, 10.0]).fit(X.iloc[:400], time[:400],
                                                               event[:400])
    assert model.tree_weight_ == 0.5 and model.linear_ is not None  # the default blend
    assert model.linear_.penalty in (1.0, 10.0)
    risk = model.predict_risk(X.iloc[:400])
    h = model.baseline_cumulative_hazard(time[:400]) * np.exp(risk)
    assert h.sum() == pytest.approx(event[:400].sum(), rel=1e-9)
    model.save(tmp_path / "relapse")
    loaded = RelapseModel.load(tmp_path / "relapse")
    pd.testing.assert_frame_equal(loaded.relapse_free_probability(X),
                                  model.relapse_free_probability(X))


def test_ridge_cox_matches_scikit_survival(survival_data):
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    X, time, event, _ = survival_data  # times rounded to 0.1: many ties (Breslow)
    matrix = X.to_numpy()
    for alpha in (0.1, 10.0):
        ours = linear.fit_cox(linear.fit_design(matrix, list(X.columns)), matrix, time, event,
                              alpha)
        target = np.empty(len(time), dtype=[("event", bool), ("time", float)])
        target["event"], target["time"] = event.astype(bool), time
        ref = CoxPHSurvivalAnalysis(alpha=alpha, ties="breslow", n_iter=200, tol=1e-12).fit(
            ours.design(matrix), target)
        np.testing.assert_allclose(ours.coef, ref.coef_, atol=1e-6)
        assert ours.intercept == 0.0 and ours.penalty == alpha
