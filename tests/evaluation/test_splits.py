import numpy as np
import pytest

from predictor.errors import InputError
from predictor.evaluation.splits import (
    leave_one_group_out,
    make_strata,
    repeated_stratified_kfold,
    train_test_split_stratified,
)


def _cohort(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(float)
    y[rng.random(n) < 0.15] = np.nan  # relapse-only patients
    groups = rng.choice(["NSCLC", "Melanoma", "Bladder", "RCC"], n, p=[0.5, 0.3, 0.17, 0.03])
    return y, groups


def test_folds_are_disjoint_cover_everyone_and_repeat():
    y, groups = _cohort()
    splits = list(repeated_stratified_kfold(y, groups, n_splits=5, n_repeats=2, seed=0))
    assert len(splits) == 10
    for repeat in range(2):
        tests = [test for _, test in splits[repeat * 5:(repeat + 1) * 5]]
        assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(len(y)))
    for train, test in splits:
        assert not set(train) & set(test)
        assert len(train) + len(test) == len(y)
    assert not np.array_equal(splits[0][1], splits[5][1])  # repeats reshuffle


def test_folds_are_stratified_by_label_and_keep_unlabelled_patients_spread():
    y, groups = _cohort(200, seed=1)
    positive_rate = np.nanmean(y)
    unlabelled = np.isnan(y).mean()
    for _, test in repeated_stratified_kfold(y, groups, n_splits=5, n_repeats=1, seed=3):
        assert abs(np.nanmean(y[test]) - positive_rate) < 0.08
        assert abs(np.isnan(y[test]).mean() - unlabelled) < 0.06
        assert abs((groups[test] == "NSCLC").mean() - (groups == "NSCLC").mean()) < 0.08


def test_same_seed_same_splits():
    y, groups = _cohort()
    a = list(repeated_stratified_kfold(y, groups, seed=4))
    b = list(repeated_stratified_kfold(y, groups, seed=4))
    assert all(np.array_equal(x[1], z[1]) for x, z in zip(a, b, strict=True))


def test_rare_strata_are_merged():
    y, groups = _cohort()
    strata = make_strata(y, groups, min_size=5)
    assert np.bincount(strata).min() >= 5
    # a single patient of a unique group still gets split without an sklearn warning/error
    groups = groups.copy()
    groups[0] = "unique"
    assert np.bincount(make_strata(y, groups, min_size=5)).min() >= 5


def test_too_few_patients_is_an_input_error():
    with pytest.raises(InputError):
        list(repeated_stratified_kfold([0, 1, 0], n_splits=5))


def test_leave_one_group_out():
    groups = np.array(["b", "a", "b", None, "a", "c"], dtype=object)
    splits = list(leave_one_group_out(groups))
    assert len(splits) == 4
    held_out = [set(np.asarray(groups, dtype=object)[test]) for _, test in splits]
    assert held_out == [{None}, {"a"}, {"b"}, {"c"}]  # "<missing>" sorts first
    for train, test in splits:
        assert not set(train) & set(test) and len(train) + len(test) == 6
    with pytest.raises(InputError):
        list(leave_one_group_out(["x", "x"]))


def test_train_test_split_is_stratified_and_disjoint():
    y, groups = _cohort(300, seed=2)
    train, test = train_test_split_stratified(y, groups, test_fraction=0.25, seed=0)
    assert len(test) == 75 and len(train) == 225
    assert not set(train) & set(test)
    assert abs(np.nanmean(y[test]) - np.nanmean(y[train])) < 0.06


def test_train_test_split_falls_back_when_test_set_is_tiny():
    y, groups = _cohort(40, seed=3)
    train, test = train_test_split_stratified(y, groups, test_fraction=0.1, seed=0)
    assert len(train) + len(test) == 40 and len(test) >= 1
    with pytest.raises(InputError):
        train_test_split_stratified(y, groups, test_fraction=1.5)
