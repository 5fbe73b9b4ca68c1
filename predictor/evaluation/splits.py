"""Cross-validation splits stratified by outcome x cancer type, robust to rare strata.

Strata combine the label (NaN -> its own "unlabeled" stratum, so patients with only a relapse
outcome are still split evenly) with the group (e.g. cancer type). A stratum smaller than
needed is merged into its label's "other groups" stratum, then into one pooled rare stratum,
and a pooled stratum that is still too small joins the largest stratum. Each function returns
positional indices (numpy int arrays) into the arrays it was given.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

from predictor.errors import InputError

MISSING = "<missing>"


def _label_keys(y: Sequence | None, n: int) -> np.ndarray:
    if y is None:
        return np.full(n, "all", dtype=object)
    values = pd.Series(np.asarray(y, dtype=object)).reset_index(drop=True)
    return np.array(["unlabeled" if pd.isna(v) else f"y={v}" for v in values], dtype=object)


def _group_keys(groups: Sequence | None, n: int) -> np.ndarray | None:
    if groups is None:
        return None
    keys = pd.Series(np.asarray(groups, dtype=object)).fillna(MISSING).astype(str).to_numpy()
    if len(keys) != n:
        raise InputError(f"{n} outcomes but {len(keys)} group values")
    return keys.astype(object)


def make_strata(y: Sequence | None, groups: Sequence | None = None,
                min_size: int = 2) -> np.ndarray:
    """Integer stratum per patient; every stratum has at least ``min_size`` members (when the
    cohort has that many patients)."""
    n = len(y) if y is not None else len(groups)  # type: ignore[arg-type]
    labels = _label_keys(y, n)
    group_keys = _group_keys(groups, n)
    keys = labels if group_keys is None else labels + "|" + group_keys

    def rare(k: np.ndarray) -> np.ndarray:
        _, inverse, counts = np.unique(k, return_inverse=True, return_counts=True)
        return counts[inverse] < min_size

    small = rare(keys)
    keys = np.where(small, labels + "|<other>", keys)
    small = rare(keys)
    keys = np.where(small, "<rare>", keys)
    uniq, counts = np.unique(keys, return_counts=True)
    pooled = keys == "<rare>"
    if pooled.any() and pooled.sum() < min_size and len(uniq) > 1:
        others = [(c, u) for u, c in zip(uniq, counts, strict=True) if u != "<rare>"]
        keys = np.where(pooled, max(others)[1], keys)
    return np.unique(keys, return_inverse=True)[1].astype(np.int64)


def repeated_stratified_kfold(
    y: Sequence | None,
    groups: Sequence | None = None,
    n_splits: int = 5,
    n_repeats: int = 2,
    seed: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``n_repeats`` x ``n_splits`` (train_idx, test_idx), repeat-major; repeat r shuffles with
    seed ``seed + r``. Test folds of one repeat are disjoint and cover every patient."""
    n = len(y) if y is not None else len(groups or [])
    if n_splits < 2:
        raise InputError(f"n_splits must be at least 2, got {n_splits}")
    if n < n_splits:
        raise InputError(f"{n} patients cannot be split into {n_splits} folds")
    strata = make_strata(y, groups, min_size=n_splits)
    placeholder = np.zeros(n)
    for repeat in range(int(n_repeats)):
        folds = StratifiedKFold(int(n_splits), shuffle=True, random_state=int(seed) + repeat)
        for train_idx, test_idx in folds.split(placeholder, strata):
            yield train_idx.astype(np.int64), test_idx.astype(np.int64)


def leave_one_group_out(groups: Sequence) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One split per group (e.g. cohort or hospital), groups in sorted order; missing group
    values form their own group. ``groups[test_idx[0]]`` names the held-out group."""
    keys = _group_keys(groups, len(groups))
    assert keys is not None
    names = sorted(set(keys))
    if len(names) < 2:
        raise InputError("leave-one-group-out needs at least 2 groups", column="cohort")
    for name in names:
        test = keys == name
        yield np.flatnonzero(~test).astype(np.int64), np.flatnonzero(test).astype(np.int64)


def train_test_split_stratified(
    y: Sequence | None,
    groups: Sequence | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """One stratified (train_idx, test_idx) split; falls back to coarser strata when the test
    set is too small to hold one patient of every stratum."""
    if not 0.0 < float(test_fraction) < 1.0:
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n = len(y) if y is not None else len(groups or [])
    if n < 2:
        raise InputError(f"{n} patients cannot be split")
    placeholder = np.zeros(n)
    attempts = [(y, groups), (y, None), (None, None)]
    for labels, grp in attempts:
        if labels is None:
            strata = np.zeros(n, dtype=np.int64)
        else:
            strata = make_strata(labels, grp, min_size=2)
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=float(test_fraction),
                                          random_state=int(seed))
        try:
            train_idx, test_idx = next(splitter.split(placeholder, strata))
        except ValueError:
            continue
        return np.sort(train_idx).astype(np.int64), np.sort(test_idx).astype(np.int64)
    raise InputError(f"cannot split {n} patients with test_fraction {test_fraction}")
