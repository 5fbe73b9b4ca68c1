import numpy as np
import pandas as pd
import pytest

from predictor.errors import InputError
from predictor.evaluation.metrics import harrell_c
from predictor.models.relapse import RelapseModel, horizon_column

FAST = {"n_estimators": 150, "inner_folds": 3, "early_stopping_rounds": 20, "learning_rate": 0.1,
        "num_threads": 1,  # one thread: faster on tiny data, robust on a busy machine
        "tree_weight": 1.0}  # trees alone: the linear blend is tested in test_linear.py


@pytest.fixture(scope="module")
def fitted(survival_data):
    X, time, event, _ = survival_data
    model = RelapseModel(**FAST).fit(X.iloc[:300], time[:300], event[:300])
    return model, X, time, event


def test_risk_orders_held_out_proportional_hazards_data(fitted):
    model, X, time, event = fitted
    assert harrell_c(time[300:], event[300:], model.predict_risk(X.iloc[300:])) > 0.7


def test_survival_curves_are_monotone_probabilities(fitted):
    model, X, _, _ = fitted
    times = np.r_[model.event_times_[0] / 2, np.linspace(1, 60, 24)]
    surv = model.survival_function(X.iloc[:50], times)
    assert surv.shape == (50, 25)
    assert ((surv >= 0) & (surv <= 1)).all()
    assert (np.diff(surv, axis=1) <= 1e-15).all()
    np.testing.assert_allclose(surv[:, 0], 1.0)  # no event before the first event
    # higher risk -> lower survival at every time
    risk = model.predict_risk(X.iloc[:50])
    hi, lo = int(np.argmax(risk)), int(np.argmin(risk))
    assert (surv[hi, 1:] <= surv[lo, 1:]).all()


def test_breslow_baseline_matches_training_event_count(fitted):
    # Sum over patients of the Breslow cumulative hazard at their own time = number of events.
    model, X, time, event = fitted
    risk = model.predict_risk(X.iloc[:300])
    h = model.baseline_cumulative_hazard(time[:300]) * np.exp(risk)
    assert h.sum() == pytest.approx(event[:300].sum(), rel=1e-9)


def test_relapse_free_probability_columns(fitted):
    model, X, _, _ = fitted
    out = model.relapse_free_probability(X.iloc[:5])
    assert list(out.columns) == ["relapse_free_probability_6m", "relapse_free_probability_12m",
                                 "relapse_free_probability_24m"]
    assert out.index.equals(X.index[:5])
    custom = model.relapse_free_probability(X.iloc[:5], horizons=[3, 7.5])
    assert list(custom.columns) == ["relapse_free_probability_3m",
                                    "relapse_free_probability_7.5m"]
    assert horizon_column(12.0) == "relapse_free_probability_12m"
    np.testing.assert_allclose(out.to_numpy(),
                               model.survival_function(X.iloc[:5], [6, 12, 24]))


def test_survival_from_raw_scores_of_the_text_model(fitted, tmp_path):
    model, X, _, _ = fitted
    model.save(tmp_path / "relapse")
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(tmp_path / "relapse" / "model.txt"))
    raw = booster.predict(X.iloc[:20].to_numpy(), raw_score=True)
    np.testing.assert_allclose(raw, model.predict_risk(X.iloc[:20]), atol=1e-12)
    np.testing.assert_allclose(model.survival_from_risk(raw, [6, 12]),
                               model.survival_function(X.iloc[:20], [6, 12]), atol=1e-12)


def test_save_load_round_trip(fitted, tmp_path):
    model, X, _, _ = fitted
    model.save(tmp_path / "relapse")
    assert {p.name for p in (tmp_path / "relapse").iterdir()} == {
        "model.txt", "baseline_hazard.json", "relapse.json"}
    loaded = RelapseModel.load(tmp_path / "relapse")
    np.testing.assert_array_equal(loaded.predict_risk(X), model.predict_risk(X))
    pd.testing.assert_frame_equal(loaded.relapse_free_probability(X),
                                  model.relapse_free_probability(X))
    assert loaded.get_params() == model.get_params()


def test_same_seed_same_predictions(survival_data):
    X, time, event, _ = survival_data
    params = dict(FAST, n_estimators=40, seed=3, num_threads=2)
    a = RelapseModel(**params).fit(X.iloc[:200], time[:200], event[:200])
    b = RelapseModel(**params).fit(X.iloc[:200], time[:200], event[:200])
    np.testing.assert_allclose(a.predict_risk(X), b.predict_risk(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.cumulative_hazard_, b.cumulative_hazard_, rtol=0, atol=1e-12)


def test_rows_missing_outcome_are_ignored(survival_data):
    X, time, event, _ = survival_data
    t, e = time[:120].copy(), event[:120].copy()
    t[:3] = np.nan
    model = RelapseModel(**dict(FAST, n_estimators=20)).fit(X.iloc[:120], t, e)
    assert model.n_train_ == 117


def test_bad_inputs_are_input_errors(survival_data):
    X, time, event, _ = survival_data
    with pytest.raises(InputError):
        RelapseModel(**FAST).fit(X.iloc[:50], time[:50], np.zeros(50))
    with pytest.raises(InputError):
        RelapseModel(**FAST).fit(X.iloc[:50], -time[:50], event[:50])
    with pytest.raises(InputError):
        RelapseModel(**FAST).fit(X.iloc[:50], time[:40], event[:50])
