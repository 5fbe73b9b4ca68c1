import json

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import brier_score_loss

from predictor.errors import InputError
from predictor.evaluation.metrics import expected_calibration_error, roc_auc
from predictor.models.calibration import Calibrator, fit_calibrator


def _overconfident(n: int, seed: int):
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0.0, 1.0, n) - 0.7
    y = (rng.random(n) < expit(true_logit)).astype(float)
    raw = 3.0 * true_logit + 1.0  # too steep and shifted, as class weighting would do
    return raw, y


@pytest.mark.parametrize("method", ["centered_isotonic", "isotonic", "sigmoid"])
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


@pytest.mark.parametrize("method", ["centered_isotonic", "isotonic", "sigmoid", None])
def test_json_round_trip_is_exact(method):
    raw, y = _overconfident(300, seed=3)
    cal = fit_calibrator(raw, y, method)
    again = Calibrator.from_dict(cal.to_dict())
    grid = np.linspace(-10, 10, 101)
    np.testing.assert_array_equal(cal(grid), again(grid))


@pytest.mark.parametrize("method", ["centered_isotonic", "isotonic"])
def test_isotonic_is_monotone_and_bounded(method):
    raw, y = _overconfident(500, seed=4)
    p = fit_calibrator(raw, y, method)(np.linspace(-20, 20, 500))
    assert (np.diff(p) >= 0).all()
    assert p.min() >= 0.0 and p.max() <= 1.0


def test_centered_isotonic_is_strictly_increasing_and_keeps_the_ranking():
    raw, y = _overconfident(600, seed=5)
    cal = fit_calibrator(raw, y, "centered_isotonic")
    iso = fit_calibrator(raw, y, "isotonic")
    x = np.asarray(cal.x)
    assert (np.diff(x) > 0).all() and (np.diff(cal.y) > 0).all()
    # one knot per isotonic block plus the two tail knots
    assert len(x) == len(np.unique(iso(raw))) + 2
    inner = np.linspace(x[1], x[-2], 2000)  # between the first and the last block
    assert (np.diff(cal(inner)) > 0).all()
    # held-out scores keep their order: AUC of calibrated == AUC of raw, isotonic loses some
    raw_test, y_test = _overconfident(3000, seed=6)
    assert len(np.unique(cal(raw_test))) == len(np.unique(raw_test))
    assert roc_auc(y_test, cal(raw_test)) == pytest.approx(roc_auc(y_test, raw_test),
                                                           abs=1e-12)
    assert roc_auc(y_test, iso(raw_test)) < roc_auc(y_test, raw_test)
    # and it is about as well calibrated as plain isotonic
    ece_cir = expected_calibration_error(y_test, cal(raw_test))
    ece_iso = expected_calibration_error(y_test, iso(raw_test))
    assert ece_cir <= ece_iso + 0.01
    assert ece_cir < expected_calibration_error(y_test, expit(raw_test))


def test_centered_isotonic_knots_sit_at_block_means():
    raw = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    cal = fit_calibrator(raw, y, "centered_isotonic")
    # PAVA blocks: {0} -> 0, {1, 2} -> 0.5, {3, 4, 5} -> 1
    np.testing.assert_allclose(cal.x[1:-1], [0.0, 1.5, 4.0])
    np.testing.assert_allclose(cal.y[1:-1], [1e-6, 0.5, 1 - 1e-6])
    assert cal(np.array([2.75]))[0] == pytest.approx(0.75, abs=1e-6)  # linear between knots
    assert cal(np.array([-100.0]))[0] == cal(np.array([-1000.0]))[0]  # flat far outside


def test_unknown_method_is_an_input_error():
    with pytest.raises(InputError):
        fit_calibrator(np.zeros(4), np.array([0, 1, 0, 1]), "beta")
    with pytest.raises(InputError):
        Calibrator.from_dict({"method": "spline"})
    with pytest.raises(InputError):
        Calibrator.from_dict({"method": "centered_isotonic", "x": [1.0, 0.0], "y": [0.1, 0.2]})


def test_logit_update_composes_with_its_base_and_round_trips():
    from scipy.special import expit, logit

    base = fit_calibrator(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]),
                          np.array([0, 0, 1, 0, 1, 1]), "centered_isotonic")
    raw = np.linspace(-3, 4, 50)
    same = Calibrator(method="logit_update", a=1.0, b=0.0, base=base.to_dict())
    np.testing.assert_allclose(same(raw), base(raw), atol=1e-12)
    shifted = Calibrator(method="logit_update", a=0.8, b=0.5, base=base.to_dict())
    np.testing.assert_allclose(shifted(raw), expit(0.8 * logit(base(raw)) + 0.5), atol=1e-12)
    again = Calibrator.from_dict(json.loads(json.dumps(shifted.to_dict())))
    np.testing.assert_array_equal(again(raw), shifted(raw))
    assert np.all(np.diff(shifted(raw)) > 0)  # strictly increasing: the ranking is kept


def test_logit_update_needs_a_valid_base():
    with pytest.raises(InputError, match="base"):
        Calibrator.from_dict({"method": "logit_update", "a": 1.0, "b": 0.0})
    with pytest.raises(InputError):
        Calibrator.from_dict({"method": "logit_update", "base": {"method": "spline"}})
