import numpy as np
import pytest

from predictor.models.cox import (
    breslow_cumulative_hazard,
    cox_gradient_hessian,
    cox_negative_log_likelihood,
    cumulative_hazard_at,
)


def test_two_patient_values_by_hand():
    time, event, preds = np.array([1.0, 2.0]), np.array([1.0, 0.0]), np.zeros(2)
    assert cox_negative_log_likelihood(preds, time, event) == pytest.approx(np.log(2.0))
    grad, hess = cox_gradient_hessian(preds, time, event)
    np.testing.assert_allclose(grad, [-0.5, 0.5])
    np.testing.assert_allclose(hess, [0.25, 0.25])


def _tied_problem():
    rng = np.random.default_rng(3)
    time = np.array([2.0, 1.0, 2.0, 3.0, 2.0, 5.0, 1.0, 4.0, 5.0, 0.5])
    event = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    preds = rng.normal(size=len(time))
    return preds, time, event


def test_gradient_matches_numerical_derivative_with_ties():
    preds, time, event = _tied_problem()
    grad, _ = cox_gradient_hessian(preds, time, event)
    eps = 1e-6
    numeric = np.empty_like(preds)
    for k in range(len(preds)):
        up, down = preds.copy(), preds.copy()
        up[k] += eps
        down[k] -= eps
        numeric[k] = (cox_negative_log_likelihood(up, time, event)
                      - cox_negative_log_likelihood(down, time, event)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_hessian_diagonal_matches_numerical_derivative_of_gradient():
    preds, time, event = _tied_problem()
    _, hess = cox_gradient_hessian(preds, time, event)
    eps = 1e-6
    for k in range(len(preds)):
        up, down = preds.copy(), preds.copy()
        up[k] += eps
        down[k] -= eps
        numeric = (cox_gradient_hessian(up, time, event)[0][k]
                   - cox_gradient_hessian(down, time, event)[0][k]) / (2 * eps)
        assert hess[k] == pytest.approx(max(numeric, 1e-12), rel=1e-4, abs=1e-7)


def test_loss_is_shift_invariant_and_stable_for_large_scores():
    preds, time, event = _tied_problem()
    base = cox_negative_log_likelihood(preds, time, event)
    assert cox_negative_log_likelihood(preds + 800.0, time, event) == pytest.approx(base)
    grad, hess = cox_gradient_hessian(preds + 800.0, time, event)
    assert np.isfinite(grad).all() and np.isfinite(hess).all()


def test_gradient_sums_to_zero():
    # Each event's softmax weights over its risk set sum to one: sum(grad) = 0.
    preds, time, event = _tied_problem()
    grad, _ = cox_gradient_hessian(preds, time, event)
    assert grad.sum() == pytest.approx(0.0, abs=1e-12)


def test_breslow_by_hand_with_ties():
    times, hazard = breslow_cumulative_hazard(np.zeros(4), np.array([1.0, 1.0, 2.0, 3.0]),
                                              np.array([1.0, 1.0, 0.0, 1.0]))
    np.testing.assert_allclose(times, [1.0, 3.0])
    np.testing.assert_allclose(hazard, [0.5, 1.5])
    np.testing.assert_allclose(cumulative_hazard_at(times, hazard, [0.5, 1.0, 2.9, 3.0, 10.0]),
                               [0.0, 0.5, 0.5, 1.5, 1.5])


def test_breslow_scales_with_risk():
    time, event = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0])
    _, h0 = breslow_cumulative_hazard(np.zeros(3), time, event)
    _, h1 = breslow_cumulative_hazard(np.full(3, np.log(2.0)), time, event)
    np.testing.assert_allclose(h1, h0 / 2.0)
