import numpy as np
import pandas as pd
import pytest

from predictor.errors import InputError
from predictor.models import lgbm


def test_check_features_returns_names_and_categoricals():
    X = pd.DataFrame({"a b": [1.0], "c": [0.0]})
    assert lgbm.check_features(X, ["c"]) == (["a b", "c"], ["c"])


@pytest.mark.parametrize("bad", [pd.DataFrame(), np.zeros((2, 2)),
                                 pd.DataFrame({"x[1]": [1.0]}),
                                 pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])])
def test_check_features_rejects_bad_matrices(bad):
    with pytest.raises(InputError):
        lgbm.check_features(bad)


def test_to_matrix_orders_columns_and_keeps_nan():
    X = pd.DataFrame({"b": [1.0, np.nan], "a": [3.0, 4.0], "extra": ["x", "y"]})
    out = lgbm.to_matrix(X, ["a", "b"])
    np.testing.assert_array_equal(out, [[3.0, 1.0], [4.0, np.nan]])
    assert out.dtype == np.float64


def test_to_matrix_rejects_text_and_missing_columns():
    with pytest.raises(InputError):
        lgbm.to_matrix(pd.DataFrame({"a": ["x"]}), ["a"])
    with pytest.raises(InputError, match="'z'"):
        lgbm.to_matrix(pd.DataFrame({"a": [1.0]}), ["a", "z"])


def test_effective_folds():
    assert lgbm.effective_folds([30, 3], 5, "x") == 3
    assert lgbm.effective_folds([30, 30], 5, "x") == 5
    with pytest.raises(InputError):
        lgbm.effective_folds([30, 1], 5, "x")


def test_contributions_sum_to_raw_score(response_data):
    from predictor.models.response import ResponseModel

    X, y = response_data
    model = ResponseModel(n_estimators=20, inner_folds=2, early_stopping_rounds=5, num_threads=1)
    model.fit(X.iloc[:200], y[:200])
    contrib = model.contributions(X.iloc[:10])
    assert list(contrib.columns) == [*X.columns, "bias"]
    np.testing.assert_allclose(contrib.sum(axis=1), model.raw_score(X.iloc[:10]), atol=1e-9)
    importance = model.feature_importance()
    assert set(importance.index) == set(X.columns)
    assert importance.iloc[0] >= importance.iloc[-1]


def test_threads_for_small_and_large_data():
    assert lgbm.threads_for(100, 2) == 1
    assert lgbm.threads_for(lgbm.SINGLE_THREAD_ROWS, 2) == 2
    assert lgbm.threads_for(10**6, 0) == 1


def test_target_array_aligns_series_by_index_else_by_position():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=pd.Index(["p1", "p2", "p3"], dtype="string"))
    shuffled = pd.Series([30.0, 10.0, 20.0], index=["p3", "p1", "p2"])
    np.testing.assert_array_equal(lgbm.target_array(X, shuffled, "labels"), [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(lgbm.target_array(X, pd.Series([1.0, 0.0, np.nan]), "labels"),
                                  [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(lgbm.target_array(X, [1, 0, 1], "labels"), [1.0, 0.0, 1.0])
    with pytest.raises(InputError):
        lgbm.target_array(X, [1.0, 0.0], "labels")
