"""What every reference model checks of its inputs, in one place (as scikit-survival's
``check_y_survival`` serves all its estimators): the response labels, the survival target and
the TMB column the TMB-based baselines read."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from predictor.errors import InputError

TMB_COLUMNS = ("tmb", "pt_tmb", "TMB")


def check_response(X: pd.DataFrame, y: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """The rows with a label (mask) and their 0/1 labels; a bad label array is an InputError."""
    y_arr = pd.Series(y, dtype="float64").to_numpy()
    if len(y_arr) != len(X):
        raise InputError(f"{len(X)} feature rows but {len(y_arr)} labels")
    keep = ~np.isnan(y_arr)
    if not np.isin(y_arr[keep], (0.0, 1.0)).all():
        raise InputError("response labels must be 0, 1 or missing")
    if len(np.unique(y_arr[keep])) < 2:
        raise InputError("response labels have a single class; cannot fit a baseline")
    return keep, y_arr[keep].astype(int)


def check_survival(X: pd.DataFrame, time: Iterable[float], event: Iterable[float]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows with time and event (mask), their times and boolean events."""
    t = pd.Series(time, dtype="float64").to_numpy()
    e = pd.Series(event, dtype="float64").to_numpy()
    if not len(t) == len(e) == len(X):
        raise InputError(f"{len(X)} feature rows but {len(t)} times and {len(e)} events")
    keep = ~(np.isnan(t) | np.isnan(e))
    if (t[keep] < 0).any() or not np.isin(e[keep], (0.0, 1.0)).all():
        raise InputError("relapse times must be >= 0 and events 0 or 1")
    return keep, t[keep], e[keep].astype(bool)


def tmb_column(X: pd.DataFrame) -> str:
    """The TMB column the TMB baselines use: the first of ``tmb``, ``pt_tmb``, ``TMB``."""
    for name in TMB_COLUMNS:
        if name in X.columns:
            return name
    raise InputError(f"no TMB column for the TMB baseline (looked for {', '.join(TMB_COLUMNS)})")
