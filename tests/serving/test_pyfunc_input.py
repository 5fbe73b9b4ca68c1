"""Casting a caller's frame to a pyfunc signature's types (no server needed)."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.types import ColSpec, Schema

from predictor.errors import InputError
from predictor.serving.pyfunc_input import conform_to_signature

SCHEMA = Schema([ColSpec("string", "patient_id", required=False),
                 ColSpec("double", "age", required=False),
                 ColSpec("double", "Stage", required=False)])


def test_integers_become_doubles_and_numeric_ids_text() -> None:
    rows = pd.DataFrame({"patient_id": [7, 8], "age": [61, 70], "Stage": [1.0, None],
                         "other": [1, 2]})
    out = conform_to_signature(rows, SCHEMA)
    assert out["age"].dtype == "float64" and list(out["age"]) == [61.0, 70.0]
    assert list(out["patient_id"]) == ["7", "8"]
    assert out["other"].dtype == "int64"  # not in the signature: left alone
    assert rows["age"].dtype == "int64"   # the caller's frame is not modified


def test_an_integer_not_exact_as_a_double_is_refused() -> None:
    with pytest.raises(InputError, match="'age'"):
        conform_to_signature(pd.DataFrame({"age": [2**53 + 1]}), SCHEMA)
