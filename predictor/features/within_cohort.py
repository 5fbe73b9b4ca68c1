"""Within-cohort rank normal scores: each feature ranked inside its patient's cohort.

Why: pooled public cohorts differ in level (TPM scale, FFPE vs frozen, a TMB counted on all or
on non-synonymous mutations, a tumour type's stroma), and a model trained on those levels
learns which cohort a patient comes from, which does not help rank the patients of a new
cohort. Replacing every value by its normal score inside its own cohort keeps only the order
within the cohort (the approach of TIDE, Jiang et al. Nat Med 2018, and of Litchfield et al.
Cell 2021, who normalise within each cohort).

Stateless for a new cohort: ``transform`` ranks each group of its input against itself,
exactly as the training cohorts were ranked in ``fit``; nothing learned from the training
cohorts enters a group that can rank itself. The one learned state is a fallback reference: a
group with fewer than ``min_group_size`` values of a feature (a single new patient, a small
batch) cannot be ranked against itself, so its values are placed among ``n_reference``
quantiles of the pooled training values (aggregates, no patient row) and get the normal score
of that position. Without the group column the whole input is one group.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from predictor.errors import InputError
from predictor.features.estimator import BaseEstimator, TransformerMixin, check_is_fitted

_INV_CDF = np.frompyfunc(NormalDist().inv_cdf, 1, 1)


def normal_score(p: np.ndarray) -> np.ndarray:
    """``Phi^-1(p)`` elementwise for p in (0, 1); NaN stays NaN (no SciPy at transform)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = _INV_CDF(p[ok]).astype(np.float64)
    return out


class WithinCohortRanks(TransformerMixin, BaseEstimator):
    """Replace features by rank normal scores ``Phi^-1((rank - 0.5) / n)`` inside each group.

    ``column``: the clinical column naming a patient's cohort (``cohort`` for pooled studies);
    ``features``: names to transform (None: every feature); ``min_group_size``: groups with
    fewer values of a feature use the training reference; ``n_reference``: quantiles kept
    per feature for it. Mid-ranks for ties; NaN stays NaN (a feature a cohort lacks stays
    missing, never 0).
    """

    def __init__(self, column: str = "cohort", features: list[str] | None = None,
                 min_group_size: int = 10, n_reference: int = 101) -> None:
        self.column = column
        self.features = features
        self.min_group_size = min_group_size
        self.n_reference = n_reference

    def groups_of(self, clinical: pd.DataFrame | None, index: pd.Index) -> np.ndarray:
        """Each patient's group label (one group when the column is absent; a blank value is
        a group of its own)."""
        if clinical is None or self.column not in clinical.columns:
            return np.zeros(len(index), dtype=object)
        values = clinical[self.column].reindex(index).astype("string").fillna("")
        return values.to_numpy(dtype=object)

    def fit(self, X: pd.DataFrame, groups: Any = None) -> WithinCohortRanks:
        if int(self.min_group_size) < 1 or int(self.n_reference) < 2:
            raise InputError("within_cohort: min_group_size must be >= 1 and n_reference >= 2")
        names = [str(c) for c in X.columns]
        chosen = names if self.features is None else [str(f) for f in self.features]
        unknown = [f for f in chosen if f not in names]
        if unknown:
            raise InputError("within_cohort names a feature the pipeline does not make",
                             column=unknown[0])
        probs = np.linspace(0.0, 1.0, int(self.n_reference))
        self.features_ = chosen
        self.reference_: dict[str, list[float]] = {}
        self.reference_n_: dict[str, int] = {}
        for name in chosen:
            finite = X[name].to_numpy(dtype=np.float64)
            finite = finite[~np.isnan(finite)]
            self.reference_n_[name] = len(finite)
            self.reference_[name] = (np.quantile(finite, probs).tolist() if len(finite)
                                     else [])
        return self

    def transform(self, X: pd.DataFrame, groups: Any = None) -> pd.DataFrame:
        """``X`` with the chosen features replaced by their within-group normal scores."""
        check_is_fitted(self, "features_")
        labels = (np.zeros(len(X), dtype=object) if groups is None
                  else np.asarray(groups, dtype=object))
        if len(labels) != len(X):
            raise ValueError(f"{len(X)} rows but {len(labels)} group labels")
        out = X.copy()
        present = [f for f in self.features_ if f in out.columns]
        if not present or not len(out):
            return out
        part = out[present].astype("float64")
        key = pd.Series(labels, index=part.index)
        ranks = part.groupby(key, sort=False).rank(method="average")
        counts = part.notna().groupby(key, sort=False).transform("sum")
        p = ((ranks - 0.5) / counts).to_numpy(dtype=np.float64)
        values = part.to_numpy(dtype=np.float64)
        small = (counts.to_numpy() < int(self.min_group_size)) & ~np.isnan(values)
        for j, name in enumerate(present):
            rows = small[:, j]
            if rows.any():
                p[rows, j] = self._reference_position(name, values[rows, j])
        out[present] = normal_score(p)
        return out

    def transform_replaced(self, X: pd.DataFrame, groups: Any, positions: np.ndarray,
                           values: np.ndarray, names: list[str]) -> np.ndarray:
        """The scores :meth:`transform` would give row ``positions[i]`` of ``X`` if that row
        alone had ``values[i]`` in the columns ``names`` (the other rows as they are).

        Why: a what-if row (one patient under another regimen) must be ranked among the same
        neighbours as the patient's plain row, so that the patient's own values give exactly
        the plain scores. ``values``: ``(len(positions), len(names))``; a name this step does
        not rank keeps its value. Mid-ranks and the small-group reference as in
        :meth:`transform`."""
        check_is_fitted(self, "features_")
        positions = np.asarray(positions, dtype=np.int64)
        out = np.array(values, dtype=np.float64, copy=True)
        labels = (np.zeros(len(X), dtype=object) if groups is None
                  else np.asarray(groups, dtype=object))
        mine = labels[positions]
        ranked = set(self.features_)
        for j, name in enumerate(names):
            if name not in ranked or name not in X.columns:
                continue
            column = X[name].to_numpy(dtype=np.float64)
            new = out[:, j]
            old = column[positions]
            p = np.full(len(new), np.nan)
            for label in pd.unique(mine):
                rows = mine == label
                pool = np.sort(column[(labels == label) & ~np.isnan(column)])
                v, o = new[rows], old[rows]
                # the others = the group's values without the patient's own
                less = np.searchsorted(pool, v, side="left") - (o < v).astype(np.int64)
                equal = (np.searchsorted(pool, v, side="right") - (o <= v).astype(np.int64)
                         - less)
                n = (len(pool) - (~np.isnan(o)).astype(np.int64)
                     + (~np.isnan(v)).astype(np.int64))
                with np.errstate(invalid="ignore", divide="ignore"):
                    p[rows] = np.where(np.isnan(v), np.nan, (less + (equal + 2) / 2 - 0.5) / n)
                small = np.flatnonzero(rows)[(n < int(self.min_group_size)) & ~np.isnan(v)]
                if len(small):
                    p[small] = self._reference_position(name, new[small])
            out[:, j] = normal_score(p)
        return out

    def _reference_position(self, name: str, values: np.ndarray) -> np.ndarray:
        """Where ``values`` fall among the training values (mid-position of equal quantiles),
        kept inside (0, 1) by half a training patient."""
        quantiles = np.asarray(self.reference_.get(name) or [], dtype=np.float64)
        n = int(self.reference_n_.get(name, 0))
        if not len(quantiles) or n == 0:
            return np.full(len(values), np.nan)
        probs = np.linspace(0.0, 1.0, len(quantiles))
        below = np.searchsorted(quantiles, values, side="left")
        above = np.searchsorted(quantiles, values, side="right")
        # interpolate between neighbouring quantiles; ties (equal quantiles) take the middle
        lo = np.interp(values, quantiles, probs, left=0.0, right=1.0)
        tied = above > below
        if tied.any():
            mid = (probs[np.clip(below[tied], 0, len(probs) - 1)]
                   + probs[np.clip(above[tied] - 1, 0, len(probs) - 1)]) / 2.0
            lo[tied] = mid
        edge = 0.5 / n
        return np.clip(lo, edge, 1.0 - edge)
