"""Percentile bootstrap over patients for any metric, and paired comparisons of two models.

Resamples whose metric is undefined (NaN, or the metric raises ``ValueError``, e.g. a resample
with a single class or no events) are skipped; intervals come from the remaining ones and are
NaN when fewer than ``min_valid`` remain (default: 20, or half of a small ``n_boot``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

MIN_VALID = 20


def _as_arrays(arrays: Sequence[Any]) -> list[np.ndarray]:
    out = [np.asarray(a) for a in arrays]
    lengths = {len(a) for a in out}
    if len(lengths) != 1:
        raise ValueError(f"arrays differ in length: {sorted(lengths)}")
    return out


def _safe(metric_fn: Callable[..., float], *args: Any) -> float:
    try:
        value = float(metric_fn(*args))
    except (ValueError, ZeroDivisionError):
        return float("nan")
    return value


def _enough(n_valid: int, n_boot: int, min_valid: int | None) -> bool:
    """At least ``min_valid`` defined resamples (default: 20, or half of a small ``n_boot``)."""
    need = min(MIN_VALID, max(2, n_boot // 2)) if min_valid is None else int(min_valid)
    return n_valid >= need


def _indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_ci(
    metric_fn: Callable[..., float],
    *arrays: Sequence[Any],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    min_valid: int | None = None,
) -> tuple[float, float, float]:
    """(point estimate, lower, upper) of ``metric_fn(*arrays)``; rows are patients, resampled
    with replacement, the same rows for every array (e.g. ``(y, p)`` or ``(time, event, risk)``).
    """
    data = _as_arrays(arrays)
    point = _safe(metric_fn, *data)
    values = np.array([_safe(metric_fn, *[a[idx] for a in data])
                       for idx in _indices(len(data[0]), n_boot, seed)])
    values = values[np.isfinite(values)]
    if not _enough(len(values), n_boot, min_valid):
        return point, float("nan"), float("nan")
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)


def _take(y: Any, idx: np.ndarray) -> Any:
    if isinstance(y, tuple):
        return tuple(np.asarray(part)[idx] for part in y)
    return np.asarray(y)[idx]


def _call(metric_fn: Callable[..., float], y: Any, score: np.ndarray) -> float:
    return _safe(metric_fn, y, score)


def paired_bootstrap_diff(
    metric_fn: Callable[..., float],
    y: Any,
    score_a: Sequence[float],
    score_b: Sequence[float],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    min_valid: int | None = None,
) -> tuple[float, float, float, float]:
    """metric(a) - metric(b) on the same patients: (diff, lower, upper, two-sided p-value).

    ``metric_fn(y, score)``: ``y`` is a label array for response metrics or a tuple
    ``(time, event)`` for survival ones (e.g. ``lambda te, r: harrell_c(*te, r)``); each
    resample draws the same patients for both models. The p-value is twice the smaller
    bootstrap tail around 0 (with a +1 correction), capped at 1.
    """
    score_a = np.asarray(score_a, dtype=np.float64)
    score_b = np.asarray(score_b, dtype=np.float64)
    n = len(score_a)
    parts = y if isinstance(y, tuple) else (y,)
    if len(score_b) != n or any(len(np.asarray(p)) != n for p in parts):
        raise ValueError("labels and both scores must have one row per patient")
    diff = _call(metric_fn, y, score_a) - _call(metric_fn, y, score_b)
    diffs = []
    for idx in _indices(n, n_boot, seed):
        yb = _take(y, idx)
        diffs.append(_call(metric_fn, yb, score_a[idx]) - _call(metric_fn, yb, score_b[idx]))
    boot = np.asarray(diffs)
    boot = boot[np.isfinite(boot)]
    if not _enough(len(boot), n_boot, min_valid):
        return diff, float("nan"), float("nan"), float("nan")
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    tail = min(np.sum(boot <= 0), np.sum(boot >= 0))
    p_value = min(1.0, 2.0 * (tail + 1) / (len(boot) + 1))
    return diff, float(low), float(high), float(p_value)
