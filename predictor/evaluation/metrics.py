"""Discrimination and calibration metrics that return NaN, not an exception, when undefined.

Cross-validation folds of small cohorts routinely have a single class or no events; a metric
that cannot be computed on such a fold is NaN so that summaries can skip it (``np.nanmean``).

Survival metrics that weight by the inverse probability of censoring (Uno's C, time-dependent
AUC, integrated Brier score) estimate the censoring distribution on the *training* data
(``train_time``/``train_event``; the test data when not given). scikit-survival cannot weight a
test patient followed beyond the training follow-up, so the test data are administratively
censored at the largest training time for those metrics only (Harrell's C uses them as given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, brier_score_loss
from sksurv.metrics import (
    brier_score,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
    integrated_brier_score,
)

SurvivalInput = Callable[[np.ndarray], np.ndarray] | tuple[np.ndarray, np.ndarray]

ECE_BINS = 10


# --------------------------------------------------------------------------- response
def _binary(y: Sequence[float], p: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"labels and scores differ in length ({len(y)} vs {len(p)})")
    keep = ~(np.isnan(y) | np.isnan(p))
    return y[keep], p[keep]


def roc_auc(y: Sequence[float], p: Sequence[float]) -> float:
    """ROC AUC (Mann-Whitney form with mid-ranks for tied scores, equal to sklearn's
    ``roc_auc_score`` but several times faster, which matters inside bootstraps); NaN with a
    single class. Rows with a missing label or score are dropped."""
    y, p = _binary(y, p)
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def pr_auc(y: Sequence[float], p: Sequence[float]) -> float:
    """Average precision (area under the precision-recall curve); NaN without positives."""
    y, p = _binary(y, p)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(average_precision_score(y, p))


def brier(y: Sequence[float], p: Sequence[float]) -> float:
    """Mean squared error of probabilities; NaN when empty."""
    y, p = _binary(y, p)
    return float(brier_score_loss(y, p)) if len(y) else float("nan")


def expected_calibration_error(y: Sequence[float], p: Sequence[float],
                               n_bins: int = ECE_BINS) -> float:
    """ECE with ``n_bins`` **equal-width** probability bins on [0, 1]: the patient-weighted
    mean of |observed rate - mean predicted probability| over non-empty bins (p = 1 goes in
    the last bin)."""
    y, p = _binary(y, p)
    if not len(y):
        return float("nan")
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    used = count > 0
    gap = np.abs(sum_y[used] - sum_p[used]) / count[used]
    return float(np.sum(gap * count[used]) / len(y))


PROBABILITY_CLIP = 1e-6  # probabilities are clipped to [1e-6, 1 - 1e-6] before the logit


def logistic_recalibration(y: Sequence[float], p: Sequence[float], slope: bool = True,
                           clip: float = PROBABILITY_CLIP) -> tuple[float, float]:
    """(intercept, slope) of the logistic model y ~ intercept + slope * logit(p), by Newton's
    method; with ``slope=False`` the slope is fixed at 1 (logit(p) an offset). NaN with a
    single class or when the fit does not converge (e.g. perfectly separated scores).
    Probabilities are clipped to [clip, 1 - clip] first."""
    y, p = _binary(y, p)
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan")
    p = np.clip(p, clip, 1 - clip)
    z = np.log(p) - np.log1p(-p)
    design = np.column_stack([np.ones_like(z), z]) if slope else np.ones((len(z), 1))
    offset = np.zeros_like(z) if slope else z
    beta = np.zeros(design.shape[1])
    if slope:
        beta[1] = 1.0
    for _ in range(50):
        eta = design @ beta + offset
        mu = expit(eta)
        w = np.maximum(mu * (1 - mu), 1e-12)
        hessian = design.T @ (design * w[:, None])
        try:
            step = np.linalg.solve(hessian, design.T @ (y - mu))
        except np.linalg.LinAlgError:
            return float("nan"), float("nan")
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        return float("nan"), float("nan")
    if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 50:
        return float("nan"), float("nan")
    return float(beta[0]), float(beta[1]) if slope else 1.0


def calibration_intercept(y: Sequence[float], p: Sequence[float]) -> float:
    """Calibration in the large: the intercept of y ~ offset(logit p); 0 is ideal, > 0 means
    the model predicts too low (Van Calster et al. 2016)."""
    return logistic_recalibration(y, p, slope=False)[0]


def calibration_slope(y: Sequence[float], p: Sequence[float]) -> float:
    """The slope of y ~ logit(p); 1 is ideal, < 1 means predictions too extreme."""
    return logistic_recalibration(y, p, slope=True)[1]


def response_metrics(y: Sequence[float], p: Sequence[float]) -> dict[str, float]:
    """roc_auc, pr_auc, brier, ece (10 equal-width bins), n, prevalence."""
    y_arr, _ = _binary(y, p)
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "brier": brier(y, p),
        "ece": expected_calibration_error(y, p),
        "n": float(len(y_arr)),
        "prevalence": float(np.mean(y_arr)) if len(y_arr) else float("nan"),
    }


def per_group_auc(y: Sequence[float], p: Sequence[float], groups: Sequence,
                  min_n: int = 20) -> pd.DataFrame:
    """ROC AUC within each group (e.g. cancer type): columns group, n, n_positive, roc_auc.
    Groups with fewer than ``min_n`` labelled patients or a single class get NaN."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    g = pd.Series(np.asarray(groups, dtype=object)).fillna("<missing>").astype(str).to_numpy()
    if not len(y) == len(p) == len(g):
        raise ValueError("labels, scores and groups differ in length")
    rows = []
    for name in sorted(set(g)):
        mask = (g == name) & ~np.isnan(y) & ~np.isnan(p)
        n = int(mask.sum())
        auc = roc_auc(y[mask], p[mask]) if n >= min_n else float("nan")
        rows.append({"group": name, "n": n, "n_positive": int(np.sum(y[mask] == 1)),
                     "roc_auc": auc})
    return pd.DataFrame(rows, columns=["group", "n", "n_positive", "roc_auc"])


# --------------------------------------------------------------------------- relapse
def _surv(time: Sequence[float], event: Sequence[float]) -> np.ndarray:
    out = np.empty(len(time), dtype=[("event", bool), ("time", np.float64)])
    out["event"] = np.asarray(event, dtype=np.float64) > 0
    out["time"] = np.asarray(time, dtype=np.float64)
    return out


def clean_survival(time, event, *others):
    """Times, events and per-patient ``others`` as float arrays, without the patients missing
    any of them (used by the survival metrics and plots)."""
    time = np.asarray(time, dtype=np.float64).reshape(-1)
    event = np.asarray(event, dtype=np.float64).reshape(-1)
    keep = ~(np.isnan(time) | np.isnan(event))
    rest = []
    for other in others:
        arr = np.asarray(other, dtype=np.float64)
        if len(arr) != len(time):
            raise ValueError("survival arrays differ in length")
        keep &= ~np.isnan(arr.reshape(len(arr), -1)).any(axis=1)
        rest.append(arr)
    return (time[keep], event[keep], *[a[keep] for a in rest])


def harrell_c(time: Sequence[float], event: Sequence[float], risk: Sequence[float],
              tied_tol: float = 1e-8) -> float:
    """Harrell's concordance; NaN with no events or no comparable pair.

    Same definition as scikit-survival's ``concordance_index_censored``: a pair is comparable
    when the patient with the shorter time had the event (or both times are equal and only
    that one had it); risk ties (within ``tied_tol``) count 1/2.

    O(n log^2 n) without a Python loop over patients (it runs inside bootstraps): patients are
    ordered by time (censored before events within a tied time), so the comparable partners of
    an event are two position ranges, and the partners with a lower (or tied) risk are counted
    with sorted blocks of a binary decomposition of the positions (see ``_count_below``).
    """
    time, event, risk = clean_survival(time, event, risk)
    risk = risk.reshape(-1)
    n = len(time)
    if n < 2 or not np.any(event > 0):
        return float("nan")
    is_event = event > 0
    order = np.lexsort((is_event, time))       # by time; censored first within a tied time
    t, e, r = time[order], is_event[order], risk[order]
    sorted_risk = np.sort(r)
    rank = np.searchsorted(sorted_risk, r, side="left")   # r_j < v  <=>  rank_j < #(risk < v)
    ev = np.flatnonzero(e)
    group_start = np.searchsorted(t, t[ev], side="left")    # first patient with the same time
    group_end = np.searchsorted(t, t[ev], side="right")     # first patient with a later time
    n_censored_tied = _censored_before(e, group_start, group_end)
    denominator = int(np.sum(n - group_end) + np.sum(n_censored_tied))
    if denominator == 0:
        return float("nan")
    below = np.searchsorted(sorted_risk, r[ev] - tied_tol, side="left")    # concordant partner
    upto = np.searchsorted(sorted_risk, r[ev] + tied_tol, side="right")    # ... or tied
    # comparable partners: positions [group_end, n), and [group_start, group_start + censored)
    # for the events that share their time with censored patients
    tied = n_censored_tied > 0
    starts = np.concatenate([group_end, group_start[tied],
                             group_start[tied] + n_censored_tied[tied]])
    sign = np.concatenate([np.ones(len(ev), np.int64), np.ones(tied.sum(), np.int64),
                           -np.ones(tied.sum(), np.int64)])
    idx = np.concatenate([np.arange(len(ev)), np.flatnonzero(tied), np.flatnonzero(tied)])
    counts = _count_below(rank, np.tile(starts, 2), np.concatenate([below[idx], upto[idx]]))
    n_below, n_upto = (int(c) for c in counts.reshape(2, -1) @ sign)
    return float((n_below + 0.5 * (n_upto - n_below)) / denominator)


def _censored_before(is_event: np.ndarray, group_start: np.ndarray,
                     group_end: np.ndarray) -> np.ndarray:
    """Censored patients in each tied-time group [start, end) (they come first in the group)."""
    cum = np.r_[0, np.cumsum(~is_event)]
    return cum[group_end] - cum[group_start]


def _count_below(rank: np.ndarray, starts: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """``#{p >= starts[q] : rank[p] < limits[q]}`` for every query q, vectorised.

    A prefix [0, s) is the union of aligned blocks of size 2^k, one for each bit k set in s
    (block index (s >> k) - 1); within each level the (block, rank) pairs are sorted once and
    counted with ``searchsorted``. The suffix is the total minus the prefix.
    """
    n = len(rank)
    width = n + 1                                   # ranks and limits lie in [0, n]
    total = np.searchsorted(np.sort(rank), limits, side="left")
    prefix = np.zeros(len(starts), dtype=np.int64)
    positions = np.arange(n)
    k = 0
    while (1 << k) <= n:
        keys = np.sort((positions >> k) * width + rank)
        has_bit = ((starts >> k) & 1).astype(bool)
        block = (starts[has_bit] >> k) - 1
        base = block * width
        prefix[has_bit] += (np.searchsorted(keys, base + limits[has_bit], side="left")
                            - np.searchsorted(keys, base, side="left"))
        k += 1
    return total - prefix


def _admin_censor(time: np.ndarray, event: np.ndarray, limit: float):
    """Censor test follow-up at ``limit`` (the training max) for IPCW metrics."""
    over = time >= limit
    return np.where(over, limit, time), np.where(over, 0.0, event)


def uno_c(time, event, risk, train_time=None, train_event=None, tau: float | None = None) -> float:
    """Uno's IPCW concordance up to ``tau`` (default: the training/test follow-up limit)."""
    time, event, risk = clean_survival(time, event, risk)
    train_time, train_event = _train_or_test(time, event, train_time, train_event)
    if event.sum() < 1 or len(train_time) < 2:
        return float("nan")
    limit = float(train_time.max())
    t, e = _admin_censor(time, event, limit)
    if tau is not None:
        tau = min(float(tau), limit)
    try:
        return float(concordance_index_ipcw(_surv(train_time, train_event), _surv(t, e),
                                            risk.reshape(-1), tau=tau)[0])
    except (ValueError, ZeroDivisionError):
        return float("nan")


def _train_or_test(time, event, train_time, train_event):
    if train_time is None or train_event is None:
        return time, event
    tt, te = clean_survival(train_time, train_event)
    return tt, te


def time_dependent_auc(time, event, risk, horizons: Sequence[float], train_time=None,
                       train_event=None) -> dict[float, float]:
    """Cumulative/dynamic AUC at each horizon; NaN where the horizon is outside the test
    follow-up or has no case or no control."""
    time, event, risk = clean_survival(time, event, risk)
    train_time, train_event = _train_or_test(time, event, train_time, train_event)
    out: dict[float, float] = {float(h): float("nan") for h in horizons}
    if event.sum() < 1 or len(train_time) < 2:
        return out
    t, e = _admin_censor(time, event, float(train_time.max()))
    survival_train, survival_test = _surv(train_time, train_event), _surv(t, e)
    for h in out:
        cases = np.sum((t <= h) & (e > 0))
        controls = np.sum(t > h)
        if not (t.min() <= h < t.max()) or cases == 0 or controls == 0:
            continue
        try:
            auc, _ = cumulative_dynamic_auc(survival_train, survival_test, risk.reshape(-1), [h])
            out[h] = float(np.asarray(auc).reshape(-1)[0])
        except (ValueError, ZeroDivisionError):
            continue
    return out


def evaluation_times(time: np.ndarray, n_times: int = 20, low_q: float = 0.1,
                     high_q: float = 0.9) -> np.ndarray:
    """A grid for the integrated Brier score inside the test follow-up (10th-90th percentile)."""
    time = np.asarray(time, dtype=np.float64)
    lo, hi = np.quantile(time, [low_q, high_q])
    return np.unique(np.linspace(lo, hi, n_times))


def _survival_on_grid(time, event, surv: SurvivalInput, train_time, train_event,
                      times: Sequence[float] | None, n_times: int):
    """Training survival, censored test survival, valid evaluation times and the matching
    survival matrix rows/columns; None when fewer than one valid time remains."""
    time = np.asarray(time, dtype=np.float64).reshape(-1)
    event = np.asarray(event, dtype=np.float64).reshape(-1)
    keep = ~(np.isnan(time) | np.isnan(event))
    if keep.sum() < 2 or event[keep].sum() < 1:
        return None
    tr_t, tr_e = _train_or_test(time[keep], event[keep], train_time, train_event)
    t, e = _admin_censor(time[keep], event[keep], float(tr_t.max()))
    if callable(surv):
        grid = evaluation_times(t, n_times) if times is None else np.asarray(times, np.float64)
        grid = np.unique(grid[(grid >= t.min()) & (grid < t.max())])
        if not len(grid):
            return None
        matrix = np.asarray(surv(grid), dtype=np.float64)
        if matrix.shape != (len(time), len(grid)):
            raise ValueError(f"survival callable returned shape {matrix.shape}, expected "
                             f"({len(time)}, {len(grid)}): one row per patient of `time`")
    else:
        grid, matrix = np.asarray(surv[0], dtype=np.float64), np.asarray(surv[1], np.float64)
        if matrix.shape != (len(time), len(grid)):
            raise ValueError(f"survival matrix shape {matrix.shape} != "
                             f"({len(time)}, {len(grid)})")
        columns = (grid >= t.min()) & (grid < t.max())
        if times is not None:
            columns &= np.isin(grid, np.asarray(times, dtype=np.float64))
        grid, matrix = grid[columns], matrix[:, columns]
        if not len(grid):
            return None
    return _surv(tr_t, tr_e), _surv(t, e), grid, matrix[keep]


def integrated_brier(time, event, surv: SurvivalInput, train_time=None, train_event=None,
                     n_times: int = 20) -> float:
    """Integrated Brier score of survival curves.

    ``surv`` is either a callable ``times -> ndarray [n_patients, len(times)]`` (e.g.
    ``lambda t: model.survival_function(X_test, t)``, one row per entry of ``time``),
    evaluated on a grid between the 10th and 90th percentile of test times, or a pair
    ``(times, matrix)``; its times outside the valid follow-up range are dropped. NaN when
    fewer than two valid times remain.
    """
    prepared = _survival_on_grid(time, event, surv, train_time, train_event, None, n_times)
    if prepared is None or len(prepared[2]) < 2:
        return float("nan")
    survival_train, survival_test, grid, matrix = prepared
    try:
        return float(integrated_brier_score(survival_train, survival_test, matrix, grid))
    except (ValueError, ZeroDivisionError):
        return float("nan")


def brier_at(time, event, surv: SurvivalInput, horizons: Sequence[float], train_time=None,
             train_event=None) -> dict[float, float]:
    """IPCW Brier score of the relapse-free probability at each horizon (NaN outside the
    test follow-up; with a ``(times, matrix)`` pair, only horizons that are columns)."""
    out = {float(h): float("nan") for h in horizons}
    if not out:
        return out
    prepared = _survival_on_grid(time, event, surv, train_time, train_event, list(out), 0)
    if prepared is None:
        return out
    survival_train, survival_test, grid, matrix = prepared
    try:
        _, scores = brier_score(survival_train, survival_test, matrix, grid)
    except (ValueError, ZeroDivisionError):
        return out
    out.update({float(h): float(v) for h, v in zip(grid, np.atleast_1d(scores), strict=True)})
    return out


def relapse_metrics(
    time: Sequence[float],
    event: Sequence[float],
    risk: Sequence[float],
    surv: SurvivalInput | None = None,
    train_time: Sequence[float] | None = None,
    train_event: Sequence[float] | None = None,
    horizons: Sequence[float] | None = None,
    tau: float | None = None,
) -> dict[str, float]:
    """harrell_c, uno_c, td_auc_<H>m per horizon and td_auc_mean; ibs and brier_<H>m when
    ``surv`` is given (see ``integrated_brier``); n, n_events. Keys are always present;
    undefined values are NaN."""
    horizons = list(horizons or [])
    t, e, _ = clean_survival(time, event, risk)
    out: dict[str, float] = {
        "harrell_c": harrell_c(time, event, risk),
        "uno_c": uno_c(time, event, risk, train_time, train_event, tau=tau),
    }
    td = time_dependent_auc(time, event, risk, horizons, train_time, train_event)
    for h, value in td.items():
        out[f"td_auc_{h:g}m"] = value
    values = [v for v in td.values() if np.isfinite(v)]
    out["td_auc_mean"] = float(np.mean(values)) if values else float("nan")
    out["ibs"] = (integrated_brier(time, event, surv, train_time, train_event)
                  if surv is not None else float("nan"))
    if surv is not None:
        briers = brier_at(time, event, surv, horizons, train_time, train_event)
    else:
        briers = {float(h): float("nan") for h in horizons}
    for h, value in briers.items():
        out[f"brier_{h:g}m"] = value
    out["n"] = float(len(t))
    out["n_events"] = float(np.sum(e))
    return out
