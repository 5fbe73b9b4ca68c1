import numpy as np
import pytest

from predictor.evaluation import metrics as M
from predictor.evaluation.metrics import (
    expected_calibration_error,
    harrell_c,
    integrated_brier,
    per_group_auc,
    relapse_metrics,
    response_metrics,
    time_dependent_auc,
    uno_c,
)


def _ph_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    event_time = rng.exponential(10.0 / np.exp(x))
    censor = rng.uniform(5, 30, n)
    time = np.minimum(event_time, censor)
    return x, time, (event_time <= censor).astype(float)


def _exp_survival(x: np.ndarray, times: np.ndarray, scale: float = 10.0) -> np.ndarray:
    """True survival curves of ``_ph_data``."""
    return np.exp(-np.outer(np.exp(x), np.asarray(times)) / scale)


def test_perfect_ranking_gives_auc_one():
    out = response_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert out["roc_auc"] == 1.0
    assert out["pr_auc"] == 1.0
    assert out["brier"] == pytest.approx((0.01 + 0.04 + 0.04 + 0.01) / 4)
    assert out["n"] == 4 and out["prevalence"] == 0.5


def test_ece_zero_when_every_bin_is_calibrated():
    y = [1, 0, 0, 0, 1, 1, 1, 0]
    p = [0.25] * 4 + [0.75] * 4
    assert expected_calibration_error(y, p) == pytest.approx(0.0)


def test_ece_by_hand():
    # bin [0.2, 0.3): predicted 0.2, observed 1/2 -> gap 0.3 on 2 of 4 patients;
    # bin [0.9, 1.0]: predicted 1.0, observed 1 -> gap 0.
    assert expected_calibration_error([1, 0, 1, 1], [0.2, 0.2, 1.0, 1.0]) == pytest.approx(0.15)


def test_undefined_response_metrics_are_nan():
    out = response_metrics([1, 1, 1, np.nan], [0.2, 0.3, 0.4, 0.5])
    assert np.isnan(out["roc_auc"]) and np.isnan(out["pr_auc"])
    assert out["n"] == 3
    assert np.isfinite(out["brier"])


def test_harrell_c_by_hand():
    # comparable pairs (earlier time has an event): (1,2) (1,3) (1,4) (2,3) (2,4)
    # risk 4 > 1, 4 > 3, 4 > 1 concordant; (2,3): 1 < 3 discordant; (2,4): tie -> 1/2
    time, event, risk = [1, 2, 3, 4], [1, 1, 0, 1], [4, 1, 3, 1]
    assert harrell_c(time, event, risk) == pytest.approx(3.5 / 5)


def _harrell_pairs(time, event, risk, tol=1e-8):
    """The O(n^2) definition (as the previous implementation and scikit-survival)."""
    time, event, risk = (np.asarray(a, dtype=float) for a in (time, event, risk))
    numerator = denominator = 0.0
    for i in np.flatnonzero(event > 0):
        comparable = (time > time[i]) | ((time == time[i]) & (event == 0))
        numerator += np.sum(comparable & (risk < risk[i] - tol))
        numerator += 0.5 * np.sum(comparable & (np.abs(risk - risk[i]) <= tol))
        denominator += comparable.sum()
    return numerator / denominator if denominator else float("nan")


@pytest.mark.parametrize("seed", range(6))
def test_harrell_c_equals_the_pairwise_definition_and_sksurv_with_ties(seed):
    from sksurv.metrics import concordance_index_censored

    rng = np.random.default_rng(seed)
    for _ in range(15):
        n = int(rng.integers(2, 250))
        tied_times = seed % 2 == 0
        time = (rng.integers(1, max(2, n // 4), n).astype(float) if tied_times
                else rng.exponential(size=n))
        event = (rng.random(n) < rng.uniform(0.1, 1.0)).astype(float)
        risk = (rng.integers(0, 4, n).astype(float) if seed % 3 == 0 else rng.normal(size=n))
        risk[: n // 5] += rng.choice([0.0, 1e-9], n // 5)  # ties within the tolerance
        expected = _harrell_pairs(time, event, risk)
        got = harrell_c(time, event, risk)
        if np.isnan(expected):
            assert np.isnan(got)
            continue
        assert got == pytest.approx(expected, abs=1e-12)
        assert got == pytest.approx(
            concordance_index_censored(event > 0, time, risk)[0], abs=1e-12)


def test_harrell_c_drops_missing_rows_and_handles_bootstrap_duplicates():
    rng = np.random.default_rng(7)
    time, event, risk = rng.exponential(size=60), (rng.random(60) < 0.7) * 1.0, rng.normal(
        size=60)
    rows = rng.integers(0, 60, 60)  # a bootstrap resample: duplicated patients, tied times
    assert harrell_c(time[rows], event[rows], risk[rows]) == pytest.approx(
        _harrell_pairs(time[rows], event[rows], risk[rows]), abs=1e-12)
    time_nan = time.copy()
    time_nan[:5] = np.nan
    assert harrell_c(time_nan, event, risk) == pytest.approx(
        _harrell_pairs(time[5:], event[5:], risk[5:]), abs=1e-12)
    assert np.isnan(harrell_c([1.0], [1.0], [0.3]))
    assert np.isnan(harrell_c([2.0, 2.0], [1.0, 1.0], [0.3, 0.1]))  # no comparable pair


def test_no_events_gives_nan_not_an_error():
    out = relapse_metrics([1, 2, 3], [0, 0, 0], [0.1, 0.2, 0.3], horizons=[2])
    assert np.isnan(out["harrell_c"]) and np.isnan(out["uno_c"])
    assert np.isnan(out["td_auc_2m"]) and np.isnan(out["td_auc_mean"])
    assert np.isnan(out["ibs"])


def test_relapse_metrics_on_true_risk_with_train_censoring():
    _x_tr, t_tr, e_tr = _ph_data(300, seed=0)
    x, t, e = _ph_data(200, seed=1)
    out = relapse_metrics(t, e, x, surv=lambda times: _exp_survival(x, times),
                          train_time=t_tr, train_event=e_tr, horizons=[6, 12, 100])
    assert 0.65 < out["harrell_c"] < 0.85
    assert 0.6 < out["uno_c"] < 0.9
    assert out["td_auc_6m"] > 0.6 and out["td_auc_12m"] > 0.6
    assert np.isnan(out["td_auc_100m"])  # beyond follow-up
    assert out["td_auc_mean"] == pytest.approx((out["td_auc_6m"] + out["td_auc_12m"]) / 2)
    assert 0.0 < out["ibs"] < 0.25
    assert out["n"] == 200 and out["n_events"] == e.sum()


def test_true_curves_have_lower_brier_than_uninformative_ones():
    _x_tr, t_tr, e_tr = _ph_data(300, seed=2)
    x, t, e = _ph_data(300, seed=3)
    good = integrated_brier(t, e, lambda s: _exp_survival(x, s), t_tr, e_tr)
    flat = integrated_brier(t, e, lambda s: _exp_survival(np.zeros_like(x), s), t_tr, e_tr)
    assert good < flat


def test_survival_matrix_form_matches_callable_and_drops_out_of_range_times():
    _x_tr, t_tr, e_tr = _ph_data(200, seed=4)
    x, t, e = _ph_data(150, seed=5)
    grid = np.r_[np.linspace(np.quantile(t, 0.1), np.quantile(t, 0.9), 20), 1e6]
    from_matrix = integrated_brier(t, e, (grid, _exp_survival(x, grid)), t_tr, e_tr)
    from_callable = integrated_brier(t, e, lambda s: _exp_survival(x, s), t_tr, e_tr)
    assert from_matrix == pytest.approx(from_callable, rel=1e-9)


def test_test_follow_up_beyond_training_does_not_crash():
    _x_tr, t_tr, e_tr = _ph_data(100, seed=6)
    x, t, e = _ph_data(100, seed=7)
    t = t * 3.0  # most test patients followed longer than anyone in training
    out = relapse_metrics(t, e, x, surv=lambda s: _exp_survival(x, s), train_time=t_tr,
                          train_event=e_tr, horizons=[5, 10])
    assert np.isfinite(out["uno_c"])
    assert np.isfinite(out["td_auc_5m"])
    assert np.isfinite(out["ibs"])


def test_uno_c_without_censoring_equals_harrell():
    rng = np.random.default_rng(8)
    t = rng.exponential(1.0, 60)
    risk = -t + rng.normal(0, 0.5, 60)
    e = np.ones(60)
    assert uno_c(t, e, risk) == pytest.approx(harrell_c(t, e, risk), abs=0.02)


def test_time_dependent_auc_perfect_risk():
    t = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    e = np.ones(6)
    auc = time_dependent_auc(t, e, -t, horizons=[2.5, 4.5])
    assert auc[2.5] == pytest.approx(1.0) and auc[4.5] == pytest.approx(1.0)


def test_per_group_auc():
    rng = np.random.default_rng(0)
    y = np.r_[np.tile([0, 1], 15), np.tile([0, 1], 15), np.ones(5)]
    p = np.r_[np.tile([0.1, 0.9], 15), rng.random(30), rng.random(5)]
    groups = ["NSCLC"] * 30 + ["Melanoma"] * 30 + ["Bladder"] * 5
    table = per_group_auc(y, p, groups, min_n=20).set_index("group")
    assert table.loc["NSCLC", "roc_auc"] == 1.0
    assert table.loc["NSCLC", "n_positive"] == 15
    assert 0.0 <= table.loc["Melanoma", "roc_auc"] <= 1.0
    assert np.isnan(table.loc["Bladder", "roc_auc"])
    assert table.loc["Bladder", "n"] == 5


def test_relapse_metrics_from_the_relapse_head_survival_function():
    import pandas as pd

    from predictor.models.relapse import RelapseModel

    x_tr, t_tr, e_tr = _ph_data(300, seed=10)
    x, t, e = _ph_data(200, seed=11)
    X_tr, X = pd.DataFrame({"x": x_tr}), pd.DataFrame({"x": x})
    model = RelapseModel(n_estimators=60, inner_folds=2, early_stopping_rounds=10,
                         learning_rate=0.1, num_threads=1).fit(X_tr, t_tr, e_tr)
    out = relapse_metrics(t, e, model.predict_risk(X),
                          surv=lambda s: model.survival_function(X, s),
                          train_time=t_tr, train_event=e_tr, horizons=[6, 12])
    assert out["harrell_c"] > 0.65
    null = integrated_brier(t, e, lambda s: _exp_survival(np.zeros_like(x), s), t_tr, e_tr)
    assert out["ibs"] < null


def test_survival_callable_with_wrong_row_count_is_rejected():
    x, t, e = _ph_data(50, seed=12)
    with pytest.raises(ValueError, match="one row per patient"):
        integrated_brier(t, e, lambda s: _exp_survival(x[:40], s))


def test_brier_at_horizon_by_hand_without_censoring():
    from predictor.evaluation.metrics import brier_at

    t = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    e = np.ones(6)
    s = np.array([[0.1], [0.2], [0.6], [0.7], [0.8], [0.4]])  # P(relapse-free at 3.5)
    alive = (t > 3.5).astype(float)
    expected = np.mean((alive - s[:, 0]) ** 2)
    out = brier_at(t, e, (np.array([3.5]), s), horizons=[3.5, 10.0])
    assert out[3.5] == pytest.approx(expected)
    assert np.isnan(out[10.0])


def test_relapse_metrics_report_brier_per_horizon():
    _x_tr, t_tr, e_tr = _ph_data(200, seed=13)
    x, t, e = _ph_data(150, seed=14)
    out = relapse_metrics(t, e, x, surv=lambda s: _exp_survival(x, s), train_time=t_tr,
                          train_event=e_tr, horizons=[6, 12])
    assert 0.0 < out["brier_6m"] < 0.25 and 0.0 < out["brier_12m"] < 0.3
    no_curves = relapse_metrics(t, e, x, horizons=[6])
    assert np.isnan(no_curves["brier_6m"]) and np.isnan(no_curves["ibs"])


def test_calibration_intercept_and_slope_recover_a_known_miscalibration():
    from scipy.special import expit, logit

    rng = np.random.default_rng(0)
    true_p = expit(rng.normal(-0.5, 1.2, 20_000))
    y = (rng.random(len(true_p)) < true_p).astype(float)
    assert M.calibration_intercept(y, true_p) == pytest.approx(0.0, abs=0.05)
    assert M.calibration_slope(y, true_p) == pytest.approx(1.0, abs=0.05)
    too_low = expit(logit(true_p) - 0.7)      # every prediction 0.7 log-odds too low
    assert M.calibration_intercept(y, too_low) == pytest.approx(0.7, abs=0.05)
    too_extreme = expit(2.0 * logit(true_p))  # predictions twice too extreme: slope 1/2
    assert M.calibration_slope(y, too_extreme) == pytest.approx(0.5, abs=0.03)


def test_calibration_metrics_are_nan_when_undefined():
    assert np.isnan(M.calibration_intercept([1, 1, 1], [0.2, 0.5, 0.7]))
    assert np.isnan(M.calibration_slope([0, 1], [0.0, 1.0]))  # separated: no finite slope
