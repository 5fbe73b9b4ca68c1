import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import brier_score_loss

from predictor.errors import InputError
from predictor.models.calibration import Calibrator, fit_calibrator


def _overconfident(n: int, seed: int):
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0.0, 1.0, n) - 0.7
    y = (rng.random(n) < expit(true_logit)).astype(float)
    raw = 3.0 * true_logit + 1.0  # too steep and shifted, as class weighting would do
    return raw, y


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_improves_brier_on_held_out(method):
    raw_fit, y_fit = _overconfident(2000, seed=0)
    raw_test, y_test = _overconfident(2000, seed=1)
    cal = fit_calibrator(raw_fit, y_fit, method)
    before = brier_score_loss(y_test, expit(raw_test))
    after = brier_score_loss(y_test, cal(raw_test))
    assert after < before - 0.01


def test_sigmoid_recovers_the_true_link():
    raw, y = _overconfident(5000, seed=2)
    cal = fit_calibrator(raw, y, "sigmoid")
    # true p = expit((raw - 1) / 3) -> a = 1/3, b = -1/3
    assert cal.a == pytest.approx(1 / 3, abs=0.05)
    assert cal.b == pytest.approx(-1 / 3, abs=0.1)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid", None])
def test_json_round_trip_is_exact(method):
    raw, y = _overconfident(300, seed=3)
    cal = fit_calibrator(raw, y, method)
    again = Calibrator.from_dict(cal.to_dict())
    grid = np.linspace(-10, 10, 101)
    np.testing.assert_array_equal(cal(grid), again(grid))


def test_isotonic_is_monotone_and_bounded():
    raw, y = _overconfident(500, seed=4)
    p = fit_calibrator(raw, y, "isotonic")(np.linspace(-20, 20, 500))
    assert (np.diff(p) >= 0).all()
    assert p.min() >= 0.0 and p.max() <= 1.0


def test_unknown_method_is_an_input_error():
    with pytest.raises(InputError):
        fit_calibrator(np.zeros(4), np.array([0, 1, 0, 1]), "beta")
    with pytest.raises(InputError):
        Calibrator.from_dict({"method": "spline"})
