import numpy as np
import pandas as pd
import pytest

from predictor.errors import InputError
from predictor.evaluation.metrics import expected_calibration_error, roc_auc
from predictor.models.response import ResponseModel

FAST = {"n_estimators": 120, "inner_folds": 3, "early_stopping_rounds": 15, "learning_rate": 0.1,
        "num_threads": 1,  # one thread: faster on tiny data, robust on a busy machine
        "tree_weight": 1.0}  # trees alone: the linear blend is tested in test_linear.py


@pytest.fixture(scope="module")
def fitted(response_data):
    X, y = response_data
    model = ResponseModel(**FAST).fit(X.iloc[:400], y[:400], categorical_features=["cat"])
    return model, X, y


def test_beats_random_and_is_calibrated_on_held_out(fitted):
    model, X, y = fitted
    p = model.predict_proba(X.iloc[400:])
    assert roc_auc(y[400:], p) > 0.75
    assert expected_calibration_error(y[400:], p) < 0.1
    assert ((p >= 0) & (p <= 1)).all()


def test_learned_state(fitted):
    model, X, _ = fitted
    assert model.feature_names_ == list(X.columns)
    assert model.categorical_features_ == ["cat"]
    assert 1 <= model.best_iteration_ <= FAST["n_estimators"]
    assert model.booster_.current_iteration() == model.best_iteration_
    assert len(model.inner_best_iterations_) == 3
    assert 0.0 < model.threshold_ < 1.0
    assert np.isfinite(model.oof_raw_score_).all()


def test_calibrate_applies_to_raw_scores_computed_elsewhere(fitted):
    model, X, _ = fitted
    raw = model.booster_.predict(X.to_numpy(), raw_score=True)
    np.testing.assert_allclose(model.calibrate(raw), model.predict_proba(X), atol=1e-12)


def test_column_order_does_not_matter(fitted):
    model, X, _ = fitted
    shuffled = X[list(reversed(X.columns))]
    np.testing.assert_array_equal(model.predict_proba(shuffled), model.predict_proba(X))


def test_missing_feature_is_an_input_error(fitted):
    model, X, _ = fitted
    with pytest.raises(InputError, match="f3"):
        model.predict_proba(X.drop(columns=["f3"]))


def test_save_load_round_trip(fitted, tmp_path):
    model, X, _ = fitted
    model.save(tmp_path / "response")
    assert {p.name for p in (tmp_path / "response").iterdir()} == {
        "model.txt", "calibration.json", "response.json"}
    loaded = ResponseModel.load(tmp_path / "response")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.threshold_ == model.threshold_
    assert loaded.feature_names_ == model.feature_names_
    assert loaded.categorical_features_ == ["cat"]
    assert loaded.get_params() == model.get_params()


def test_same_seed_same_predictions(response_data):
    X, y = response_data
    X, y = X.iloc[:200], y[:200]
    params = dict(FAST, n_estimators=40, num_threads=2)
    a = ResponseModel(**params, seed=7).fit(X, y).predict_proba(X)
    b = ResponseModel(**params, seed=7).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_unlabelled_rows_are_ignored(response_data):
    X, y = response_data
    X, y = X.iloc[:150], y[:150].copy()
    params = dict(FAST, n_estimators=30, calibration="sigmoid", threshold=0.4)
    y_nan = np.concatenate([y, [np.nan, np.nan]])
    X_nan = pd.concat([X, X.iloc[:2]], ignore_index=True)
    a = ResponseModel(**params).fit(X, y)
    b = ResponseModel(**params).fit(X_nan, y_nan)
    assert b.n_train_ == 150
    assert b.threshold_ == 0.4
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-12)


@pytest.mark.parametrize("tree_weight", [1.0, 0.5, 0.0])
def test_monotone_constraint_is_respected(response_data, tree_weight):
    # f0 raises the response; constraining it to decrease forces both trees and the linear
    # part (whose f0 term is then dropped) to be flat or decreasing in f0.
    X, y = response_data
    model = ResponseModel(**dict(FAST, n_estimators=40, tree_weight=tree_weight),
                          calibration=None, monotone_constraints={"f0": -1, "f1": -1}
                          ).fit(X.iloc[:300], y[:300])
    for name in ("f0", "f1"):
        grid = pd.DataFrame({"f0": 0.0, "f1": 0.0, "f2": 0.0, "f3": 0.0, "cat": 1.0},
                            index=range(50))
        grid[name] = np.linspace(-3, 3, 50)
        assert (np.diff(model.raw_score(grid)) <= 1e-12).all()
    if tree_weight < 1:
        assert not [t for t in model.linear_.terms if t.feature == 0 and t.kind == "value"]


def test_bad_inputs_are_input_errors(response_data):
    X, y = response_data
    with pytest.raises(InputError):
        ResponseModel(**FAST).fit(X.iloc[:50], np.zeros(50))
    with pytest.raises(InputError):
        ResponseModel(**FAST).fit(X.iloc[:50], np.full(50, 2.0))
    with pytest.raises(InputError):
        ResponseModel(**FAST).fit(X.iloc[:50], y[:50], categorical_features=["nope"])
    with pytest.raises(InputError):
        ResponseModel(**FAST).fit(X.iloc[:50].rename(columns={"f0": "a:b"}), y[:50])
    with pytest.raises(InputError):
        ResponseModel(**FAST, monotone_constraints={"zz": 1}).fit(X.iloc[:50], y[:50])
    with pytest.raises(InputError, match="categorical"):
        ResponseModel(**FAST, monotone_constraints={"cat": 1}).fit(
            X.iloc[:50], y[:50], categorical_features=["cat"])


def test_load_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        ResponseModel.load(tmp_path / "nothing")


def test_calibration_undoes_class_weighting_on_imbalanced_data(make_response):
    X, y = make_response(1200, seed=5, strength=1.0)
    # keep about 1 responder in 6
    rng = np.random.default_rng(0)
    keep = (y == 0) | (rng.random(len(y)) < 0.2)
    X, y = X[keep].reset_index(drop=True), y[keep]
    half = len(y) // 2
    model = ResponseModel(**FAST, class_weight="balanced").fit(X.iloc[:half], y[:half])
    raw = model.raw_score(X.iloc[half:])
    observed = y[half:].mean()
    uncalibrated = 1.0 / (1.0 + np.exp(-raw))
    assert uncalibrated.mean() - observed > 0.1  # weighting inflates the raw scale
    assert abs(model.predict_proba(X.iloc[half:]).mean() - observed) < 0.05


def test_threshold_from_config_text_and_bad_params_fail_before_fitting(response_data):
    X, y = response_data
    model = ResponseModel(**dict(FAST, n_estimators=10), threshold="0.3").fit(X[:100], y[:100])
    assert model.threshold_ == 0.3
    for bad in ({"threshold": "median"}, {"threshold": 1.5}, {"calibration": "beta"},
                {"class_weight": "auto"}, {"inner_folds": 1}):
        with pytest.raises(InputError):
            ResponseModel(**dict(FAST, **bad)).fit(X[:100], y[:100])


def test_tiny_cohort_gives_a_constant_model_with_a_warning(response_data, caplog):
    X, y = response_data
    with caplog.at_level("WARNING"):
        model = ResponseModel(**FAST).fit(X.iloc[:30], y[:30])
    assert "learned no split" in caplog.text
    p = model.predict_proba(X.iloc[:10])
    assert np.ptp(p) == 0.0 and 0.0 < p[0] < 1.0
