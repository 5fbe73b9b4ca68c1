import numpy as np
import pytest

from predictor.evaluation.bootstrap import bootstrap_ci, paired_bootstrap_diff
from predictor.evaluation.metrics import harrell_c, roc_auc


def _scored(n: int, seed: int, noise: float = 1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(float)
    return y, y + rng.normal(0, noise, n)


def test_ci_contains_point_and_narrows_with_n():
    y, p = _scored(60, seed=0)
    point, low, high = bootstrap_ci(roc_auc, y, p, n_boot=300, seed=1)
    assert point == pytest.approx(roc_auc(y, p))
    assert low <= point <= high
    y_big, p_big = _scored(600, seed=0)
    _, low_big, high_big = bootstrap_ci(roc_auc, y_big, p_big, n_boot=300, seed=1)
    assert high_big - low_big < (high - low) / 2


def test_same_seed_same_interval():
    y, p = _scored(50, seed=2)
    assert bootstrap_ci(roc_auc, y, p, n_boot=100, seed=3) == \
        bootstrap_ci(roc_auc, y, p, n_boot=100, seed=3)


def test_undefined_resamples_are_skipped():
    # One positive in 30: most resamples have it (AUC defined), many do not (NaN).
    y = np.zeros(30)
    y[0] = 1
    p = np.linspace(0, 1, 30)
    point, low, high = bootstrap_ci(roc_auc, y, p, n_boot=200, seed=0)
    assert point == 0.0
    assert np.isfinite(low) and np.isfinite(high)


def test_all_undefined_gives_nan_interval():
    point, low, high = bootstrap_ci(roc_auc, np.zeros(10), np.arange(10.0), n_boot=50)
    assert np.isnan(point) and np.isnan(low) and np.isnan(high)


def test_survival_metric_with_three_arrays():
    rng = np.random.default_rng(4)
    t = rng.exponential(1, 80)
    e = (rng.random(80) < 0.7).astype(float)
    risk = -t + rng.normal(0, 0.3, 80)
    point, low, high = bootstrap_ci(harrell_c, t, e, risk, n_boot=200, seed=0)
    assert low <= point <= high
    assert low > 0.6


def test_paired_diff_detects_the_better_model():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200).astype(float)
    good = y + rng.normal(0, 0.5, 200)
    bad = y + rng.normal(0, 3.0, 200)
    diff, low, high, p = paired_bootstrap_diff(roc_auc, y, good, bad, n_boot=300, seed=0)
    assert diff == pytest.approx(roc_auc(y, good) - roc_auc(y, bad))
    assert 0 < low <= diff <= high
    assert p < 0.05


def test_paired_diff_of_a_model_with_itself_is_zero():
    y, p = _scored(80, seed=6)
    diff, low, high, p_value = paired_bootstrap_diff(roc_auc, y, p, p, n_boot=100)
    assert diff == 0.0 and low == 0.0 and high == 0.0
    assert p_value == 1.0


def test_paired_diff_with_survival_tuple():
    rng = np.random.default_rng(7)
    t = rng.exponential(1, 150)
    e = (rng.random(150) < 0.8).astype(float)
    informative = -t + rng.normal(0, 0.3, 150)
    noise = rng.normal(size=150)
    diff, low, _high, p = paired_bootstrap_diff(lambda te, r: harrell_c(te[0], te[1], r),
                                               (t, e), informative, noise, n_boot=200)
    assert diff > 0.2 and low > 0 and p < 0.05


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError):
        bootstrap_ci(roc_auc, np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError):
        paired_bootstrap_diff(roc_auc, np.zeros(5), np.zeros(5), np.zeros(4))


def test_small_n_boot_still_gives_an_interval():
    y, p = _scored(60, seed=8)
    _point, low, high = bootstrap_ci(roc_auc, y, p, n_boot=10, seed=0)
    assert np.isfinite(low) and low <= high
    _, low, _ = bootstrap_ci(roc_auc, y, p, n_boot=10, seed=0, min_valid=11)
    assert np.isnan(low)
