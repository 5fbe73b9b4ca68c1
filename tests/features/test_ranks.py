"""Within-sample ranks and singscore (predictor.features.ranks) against hand computations and
against scipy's ranking."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from predictor.features.ranks import first_measured, percentiles, selected_ranks, singscore


def test_ranks_match_scipy_min_ties_block_by_block() -> None:
    rng = np.random.default_rng(1)
    values = np.round(rng.lognormal(size=(300, 37)), 1).astype(np.float32)  # many ties
    rows = np.array([0, 5, 299, 17, -1])
    ranks, n = selected_ranks(values, rows, block=8)  # several blocks, a partial last one
    expected = np.stack([rankdata(values[:, j], method="min") for j in range(37)], axis=1)
    np.testing.assert_array_equal(ranks[:4], expected[rows[:4]])
    assert np.isnan(ranks[4]).all()  # row -1: a gene the matrix lacks
    np.testing.assert_array_equal(n, 300)


def test_nan_genes_are_not_ranked_and_do_not_count() -> None:
    values = np.array([[1.0, 5.0], [np.nan, 2.0], [3.0, np.nan], [2.0, 1.0]], dtype=np.float32)
    ranks, n = selected_ranks(values, np.arange(4))
    np.testing.assert_array_equal(n, [3, 3])
    np.testing.assert_array_equal(ranks[:, 0], [1, np.nan, 3, 2])
    np.testing.assert_array_equal(ranks[:, 1], [3, 2, np.nan, 1])


def test_caller_matrix_is_never_sorted_in_place() -> None:
    # A Fortran-ordered matrix (as DataFrame.to_numpy gives) transposes to a C-contiguous view.
    values = np.asfortranarray(np.array([[3.0, 1.0], [1.0, 2.0], [2.0, 3.0]], dtype=np.float32))
    before = values.copy()
    ranks, _ = selected_ranks(values, np.arange(3))
    np.testing.assert_array_equal(values, before)
    np.testing.assert_array_equal(ranks[:, 0], [3, 1, 2])


def test_singscore_by_hand() -> None:
    # Sample 1: G1..G6 = 5, 1, 3, 3, 10, 0 -> min-ranks 5, 2, 3, 3, 6, 1 (N = 6).
    # Sample 2: 2, 2, 7, NaN, 1, 4 -> ranks 2, 2, 5, -, 1, 4 (N = 5 measured genes).
    values = np.array([[5, 2], [1, 2], [3, 7], [3, np.nan], [10, 1], [0, 4]], dtype=np.float32)
    ranks, n = selected_ranks(values, np.arange(6))
    # Set {G1, G5}: sample 1 mean rank 5.5, bounds (n+1)/2 = 1.5 and (2N-n+1)/2 = 5.5 -> 1,
    # centred 0.5; sample 2 mean 1.5 = its lower bound -> -0.5.
    up, cov = singscore(ranks[[0, 4]], n, min_coverage=0.5)
    np.testing.assert_allclose(up, [0.5, -0.5])
    np.testing.assert_allclose(cov, [1.0, 1.0])
    # Set {G3, G4, G6}: sample 1 ranks 3, 3, 1, mean 7/3, bounds 2 and 5 -> (7/3-2)/3 - 0.5;
    # sample 2 measured G3, G6 only (coverage 2/3): mean 4.5, bounds 1.5 and 4.5 -> 0.5.
    score, cov = singscore(ranks[[2, 3, 5]], n, min_coverage=0.6)
    np.testing.assert_allclose(score, [(7 / 3 - 2) / 3 - 0.5, 0.5])
    np.testing.assert_allclose(cov, [1.0, 2 / 3])
    strict, _ = singscore(ranks[[2, 3, 5]], n, min_coverage=0.75)
    assert strict[0] == pytest.approx(score[0]) and np.isnan(strict[1])
    down, _ = singscore(ranks[[0, 4]], n, min_coverage=0.5, direction="down")
    np.testing.assert_allclose(down, [-0.5, 0.5])  # singscore's 1 - normalised, centred


def test_singscore_matches_an_independent_implementation() -> None:
    """The published definition written out with scipy ranks, on a random matrix."""
    rng = np.random.default_rng(7)
    values = rng.lognormal(size=(500, 20)).astype(np.float32)
    genes = rng.choice(500, size=25, replace=False)
    ranks, n = selected_ranks(values, genes)
    ours, _ = singscore(ranks, n, min_coverage=1.0)
    big_n, k = 500, len(genes)
    for j in range(20):
        mean = rankdata(values[:, j], method="min")[genes].mean()
        expected = (mean - (k + 1) / 2) / ((2 * big_n - k + 1) / 2 - (k + 1) / 2) - 0.5
        assert ours[j] == pytest.approx(expected, abs=1e-12)


def test_first_measured_takes_the_renamed_symbol() -> None:
    ranks = np.array([[1.0, np.nan], [np.nan, 4.0]])  # CCN2 in sample 1, CTGF in sample 2
    np.testing.assert_array_equal(first_measured(ranks, [[0, 1], [-1, 1]]),
                                  [[1.0, 4.0], [np.nan, 4.0]])


def test_percentiles() -> None:
    np.testing.assert_allclose(percentiles(np.array([[1.0, 5.0]]), np.array([5.0, 5.0])),
                               [[0.0, 1.0]])
