"""Cox proportional-hazards partial likelihood for LightGBM's custom objective, and the
Breslow baseline cumulative hazard.

With raw scores f (log relative hazards), times t and event indicators d, the loss is the
negative log partial likelihood with **Breslow's handling of ties**: every patient with
``t_j >= t_i`` is in the risk set of an event at ``t_i``, and tied events at one time all share
that same risk-set denominator::

    L(f) = - sum_{i: d_i = 1} [ f_i - log sum_{j: t_j >= t_i} exp(f_j) ]

Its gradient and diagonal Hessian, with S_g the risk-set sum at event time g and D_g the number
of events at g, are::

    dL/df_k   = -d_k + exp(f_k) * A_k,                A_k = sum_{g: t_g <= t_k} D_g / S_g
    d2L/df_k2 = exp(f_k) * A_k - exp(2 f_k) * B_k,    B_k = sum_{g: t_g <= t_k} D_g / S_g^2

computed after one stable sort with reversed and forward cumulative sums: O(n log n), no loop
over patients. Scores are shifted by their maximum before ``exp``; the loss is invariant to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import lightgbm as lgb

# LightGBM splits need some curvature; a patient censored before the first event has none.
_MIN_HESSIAN = 1e-12


@dataclass(frozen=True)
class RiskSets:
    """The sort order and tie groups of one set of (time, event): computed once per dataset,
    reused by every boosting iteration (only the scores change between iterations)."""

    time: np.ndarray
    event: np.ndarray
    order: np.ndarray  # positions sorted by time (stable)
    first: np.ndarray  # per tie group: first sorted position
    group: np.ndarray  # per sorted position: its tie group
    deaths: np.ndarray  # per tie group: number of events

    @classmethod
    def build(cls, time: np.ndarray, event: np.ndarray) -> RiskSets:
        time = np.asarray(time, dtype=np.float64).reshape(-1)
        event = np.asarray(event, dtype=np.float64).reshape(-1)
        order = np.argsort(time, kind="stable")
        _, first, group = np.unique(time[order], return_index=True, return_inverse=True)
        deaths = np.bincount(group, weights=event[order], minlength=len(first))
        return cls(time, event, order, first, group, deaths)

    def sums(self, preds: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        """(scores, shift, exp(score - shift) in sorted order, risk-set sum per tie group)."""
        preds = np.asarray(preds, dtype=np.float64).reshape(-1)
        shift = float(np.max(preds)) if preds.size else 0.0
        r_sorted = np.exp(preds[self.order] - shift)
        tail = np.cumsum(r_sorted[::-1])[::-1]  # sum of r over sorted positions >= p
        return preds, shift, r_sorted, tail[self.first]  # Breslow: everyone with t >= t_g


def _gradient_hessian(preds: np.ndarray, rs: RiskSets) -> tuple[np.ndarray, np.ndarray]:
    preds, _, r_sorted, risk_sum = rs.sums(preds)
    has = rs.deaths > 0
    inc_a = np.zeros_like(risk_sum)
    inc_b = np.zeros_like(risk_sum)
    inc_a[has] = rs.deaths[has] / risk_sum[has]
    inc_b[has] = rs.deaths[has] / risk_sum[has] ** 2
    cum_a = np.cumsum(inc_a)[rs.group]
    cum_b = np.cumsum(inc_b)[rs.group]
    grad = np.empty_like(preds)
    hess = np.empty_like(preds)
    grad[rs.order] = -rs.event[rs.order] + r_sorted * cum_a
    hess[rs.order] = np.maximum(r_sorted * cum_a - r_sorted**2 * cum_b, _MIN_HESSIAN)
    return grad, hess


def _negative_log_likelihood(preds: np.ndarray, rs: RiskSets) -> float:
    preds, shift, _, risk_sum = rs.sums(preds)
    has = rs.deaths > 0
    return float(-np.sum(rs.event * (preds - shift))
                 + np.sum(rs.deaths[has] * np.log(risk_sum[has])))


def cox_gradient_hessian(
    preds: np.ndarray, time: np.ndarray, event: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and diagonal Hessian of the negative log partial likelihood w.r.t. ``preds``."""
    return _gradient_hessian(preds, RiskSets.build(time, event))


def cox_negative_log_likelihood(preds: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """Negative log partial likelihood (Breslow ties), summed over events."""
    return _negative_log_likelihood(preds, RiskSets.build(time, event))


def cox_loss_and_gradient(preds: np.ndarray, rs: RiskSets) -> tuple[float, np.ndarray]:
    """Negative log partial likelihood and its gradient w.r.t. ``preds`` (for linear Cox
    models: the gradient w.r.t. coefficients is ``X.T @ gradient``)."""
    grad, _ = _gradient_hessian(preds, rs)
    return _negative_log_likelihood(preds, rs), grad


def cox_objective(time: np.ndarray, event: np.ndarray) -> Callable:
    """A LightGBM (>= 4) custom objective bound to the training set's times and events."""
    rs = RiskSets.build(time, event)

    def objective(preds: np.ndarray, train_data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        return _gradient_hessian(preds, rs)

    return objective


def cox_metric(survival: dict[int, tuple[np.ndarray, np.ndarray]]) -> Callable:
    """A LightGBM ``feval`` reporting the negative log partial likelihood per event (lower is
    better). ``survival`` maps ``id(dataset)`` to that dataset's (time, event), because a
    LightGBM Dataset cannot carry two label columns."""
    risk_sets = {key: RiskSets.build(t, e) for key, (t, e) in survival.items()}

    def metric(preds: np.ndarray, data: lgb.Dataset) -> tuple[str, float, bool]:
        rs = risk_sets[id(data)]
        n_events = float(np.sum(rs.event))
        return "cox_nll", _negative_log_likelihood(preds, rs) / max(n_events, 1.0), False

    return metric


def breslow_cumulative_hazard(
    risk: np.ndarray, time: np.ndarray, event: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Breslow's baseline cumulative hazard at each distinct event time.

    ``H0(t) = sum_{event times s <= t} D_s / sum_{j: t_j >= s} exp(risk_j)``; with it,
    ``S(t | x) = exp(-H0(t) * exp(risk(x)))`` for the same raw-score scale ``risk``.
    """
    rs = RiskSets.build(time, event)
    _, shift, _, risk_sum = rs.sums(risk)
    has = rs.deaths > 0
    hazard = rs.deaths[has] / risk_sum[has] * np.exp(-shift)
    return rs.time[rs.order][rs.first][has], np.cumsum(hazard)


def cumulative_hazard_at(
    event_times: np.ndarray, cum_hazard: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """Step-function lookup of H0 at ``times`` (0 before the first event, flat after the last)."""
    times = np.asarray(times, dtype=np.float64)
    idx = np.searchsorted(np.asarray(event_times), times, side="right") - 1
    values = np.asarray(cum_hazard, dtype=np.float64)
    out = np.where(idx >= 0, values[np.clip(idx, 0, None)] if len(values) else 0.0, 0.0)
    return out.astype(np.float64)
