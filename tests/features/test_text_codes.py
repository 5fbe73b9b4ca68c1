"""Per-distinct-value helpers of the feature families: the same codes and values as pandas'
row-wise paths, for the text dtypes a cohort table can hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictor.features.base import by_distinct, text_codes
from predictor.features.clinical import SEX_CODES, encode_categories

VALUES = ["NSCLC", None, "Melanoma", "NSCLC", "Unseen", None, "Melanoma"]


@pytest.mark.parametrize("dtype", ["string", "object", "category"])
def test_text_codes_are_pandas_factorize_of_the_text(dtype: str) -> None:
    values = pd.Series(VALUES, dtype=dtype)
    codes, uniques = text_codes(values)
    want_codes, want_uniques = pd.factorize(values.astype("string"))
    assert codes.tolist() == want_codes.tolist()
    assert list(uniques) == list(want_uniques)
    codes, uniques = text_codes(values, use_na_sentinel=False)
    want_codes, want_uniques = pd.factorize(values.astype("string"), use_na_sentinel=False)
    assert codes.tolist() == want_codes.tolist() and len(uniques) == len(want_uniques)


@pytest.mark.parametrize("dtype", ["string", "object"])
def test_encode_categories_unseen_and_missing_are_nan(dtype: str) -> None:
    got = encode_categories(pd.Series(VALUES, dtype=dtype), ["Melanoma", "NSCLC"])
    np.testing.assert_array_equal(got, [1, np.nan, 0, 1, np.nan, np.nan, 0])
    assert np.isnan(encode_categories(pd.Series([None, None], dtype=dtype), ["a"])).all()
    assert encode_categories(pd.Series([], dtype=dtype), ["a"]).shape == (0,)


def test_by_distinct_maps_missing_like_a_value() -> None:
    sex = pd.Series(["Male", None, " female", "M", None, "x"], dtype="string")

    def fn(s: pd.Series) -> pd.Series:
        return s.astype("string").str.strip().str.lower().map(SEX_CODES).astype("float64")

    np.testing.assert_array_equal(by_distinct(sex, fn), fn(sex).to_numpy())
    np.testing.assert_array_equal(by_distinct(sex.astype(object), fn), fn(sex).to_numpy())
    assert by_distinct(pd.Series([], dtype="string"), fn).shape == (0,)
