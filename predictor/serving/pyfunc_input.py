"""Rows for an in-process pyfunc call, in the types its signature declares.

Why: ``mlflow.pyfunc.load_model(uri).predict(frame)`` checks the frame against the signature
before the model sees it, and MLflow's conversion rules cast an integer column to ``double``
only when it is at most 32 bits wide (or holds only 0 and 1): a ``pandas.read_csv`` frame,
whose integer columns (``SAMPLE_ID``, ``Drug``, ``Stage``, ``Platelets`` ...) are int64, is
refused. No column type of an MLflow signature accepts both int64 and float64 with missing
values while keeping ``text/csv`` requests to ``mlflow models serve`` working (the scoring
server reads CSV with the signature's pandas types), so the signature keeps ``double`` and
this function does the cast MLflow leaves to the caller, exactly: an integer beyond 2**53
(not exact as a double) is refused with its column.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from predictor.errors import InputError

EXACT_INTEGER = 2**53  # every integer of smaller magnitude is exact as a float64


def _input_types(model_or_schema: Any) -> dict[str, str]:
    """Column name -> MLflow type name (``double``, ``string`` ...) of a loaded pyfunc model
    or of its input schema."""
    schema = model_or_schema
    if hasattr(schema, "metadata"):  # a PyFuncModel
        schema = schema.metadata.get_input_schema()
    if schema is None:
        return {}
    return {spec.name: getattr(spec.type, "name", str(spec.type)) for spec in schema.inputs
            if spec.name is not None}


def _as_double(name: str, values: pd.Series) -> pd.Series:
    numbers = values.astype("float64")
    exact = values.dropna().astype("int64") if not pd.api.types.is_bool_dtype(values) else None
    big = pd.Series(False, index=values.index)
    if exact is not None:
        big.loc[exact.index] = exact.abs() > EXACT_INTEGER
    if big.any():
        raise InputError(f"column {name!r}: integer {values[big].iloc[0]} is too large to be "
                         "sent as a number exactly (beyond 2**53)")
    return numbers


def _as_text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: None if pd.isna(v) else str(v)).astype(object)


def conform_to_signature(rows: pd.DataFrame, model_or_schema: Any) -> pd.DataFrame:
    """``rows`` with integer (and boolean) columns cast to the signature's ``double``, and
    number columns the signature declares ``string`` (ids) as their text; other columns as
    they are. ``model_or_schema``: the loaded pyfunc model or its input schema."""
    if not isinstance(rows, pd.DataFrame):
        raise InputError("expected a pandas DataFrame of patient rows")
    types = _input_types(model_or_schema)
    out = rows.copy()
    for name in rows.columns:
        kind = types.get(str(name))
        col = rows[name]
        is_int = pd.api.types.is_integer_dtype(col) or pd.api.types.is_bool_dtype(col)
        if kind == "double" and is_int:
            out[name] = _as_double(str(name), col)
        elif kind == "string" and pd.api.types.is_numeric_dtype(col) and not \
                pd.api.types.is_bool_dtype(col):
            out[name] = _as_text(col)
    return out
