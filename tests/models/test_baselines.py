import numpy as np
import pandas as pd
import pytest

from predictor.errors import InputError
from predictor.evaluation.metrics import harrell_c, roc_auc
from predictor.models.baselines import (
    RELAPSE_BASELINES,
    RESPONSE_BASELINES,
    CoxPHBaseline,
    TMBOnly,
    TMBRisk,
)


def _with_tmb(X: pd.DataFrame, y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = X.copy()
    out["tmb"] = np.exp(1.5 + 0.8 * y + rng.normal(0, 0.7, len(y)))
    out.loc[out.index[::11], "tmb"] = np.nan
    out["pdl1"] = np.clip(30 * y + rng.normal(10, 15, len(y)), 0, 100)  # for pdl1_only
    for name in ("cyt", "gep", "cd8_teff", "impres"):  # published expression scores
        out[f"pub_{name}"] = y + rng.normal(0, 1, len(y))
    return out


def test_registries_name_every_baseline():
    assert set(RESPONSE_BASELINES) >= {"tmb_only", "logistic", "random_forest", "pdl1_only"}
    assert set(RELAPSE_BASELINES) >= {"tmb_risk", "coxph"}


@pytest.mark.parametrize("name", sorted(RESPONSE_BASELINES))
def test_response_baselines_learn_the_signal(name, response_data):
    X, y = response_data
    X = _with_tmb(X, y)
    params = {"n_estimators": 50} if name == "random_forest" else {}
    model = RESPONSE_BASELINES[name](**params).fit(X.iloc[:400], y[:400])
    p = model.predict_proba(X.iloc[400:])
    assert p.shape == (400,)
    scored = ~np.isnan(p)  # tmb_score: NaN where TMB is missing (1 row in 11)
    assert scored.mean() > 0.85 and ((p[scored] >= 0) & (p[scored] <= 1)).all()
    assert roc_auc(y[400:], p) > 0.6


def test_tmb_only_is_monotone_and_imputes_the_median(response_data):
    X, y = response_data
    X = _with_tmb(X, y)
    model = TMBOnly().fit(X, y)
    grid = pd.DataFrame({"tmb": [0.0, 1.0, 5.0, 20.0, np.nan]})
    p = model.predict_proba(grid)
    assert (np.diff(p[:4]) > 0).all()
    median = np.nanmedian(X["tmb"])
    assert p[4] == pytest.approx(model.predict_proba(pd.DataFrame({"tmb": [median]}))[0])


def test_tmb_baselines_need_a_tmb_column(response_data):
    X, y = response_data
    with pytest.raises(InputError, match="TMB"):
        TMBOnly().fit(X, y)
    with pytest.raises(InputError, match="TMB"):
        TMBRisk().fit(X, np.ones(len(y)), y)


def test_tmb_risk_uses_pt_tmb_when_tmb_absent():
    X = pd.DataFrame({"pt_tmb": [1.0, 10.0, np.nan]})
    risk = TMBRisk().fit(X, [1, 2, 3], [1, 0, 1]).predict_risk(X)
    np.testing.assert_allclose(risk[:2], -np.log1p([1.0, 10.0]))
    assert risk[2] == pytest.approx(-np.log1p(5.5))


@pytest.mark.parametrize("name", sorted(RELAPSE_BASELINES))
def test_relapse_baselines_run(name, survival_data):
    X, time, event, log_hazard = survival_data
    X = X.assign(tmb=np.exp(-log_hazard))  # higher TMB, lower hazard
    model = RELAPSE_BASELINES[name]().fit(X.iloc[:300], time[:300], event[:300])
    risk = model.predict_risk(X.iloc[300:])
    assert harrell_c(time[300:], event[300:], risk) > 0.7


def test_coxph_survives_collinear_constant_and_empty_columns(survival_data):
    X, time, event, _ = survival_data
    X = X.iloc[:200].copy()
    X["copy"] = X["f0"]
    X["sum"] = X["f0"] + X["f2"]
    X["const"] = 3.0
    X["empty"] = np.nan
    X.loc[X.index[::5], "f1"] = np.nan
    risk = CoxPHBaseline().fit(X, time[:200], event[:200]).predict_risk(X)
    assert np.isfinite(risk).all()
    assert harrell_c(time[:200], event[:200], risk) > 0.7
