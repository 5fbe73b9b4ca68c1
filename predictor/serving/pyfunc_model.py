"""The MLflow pyfunc of a trained predictor, logged as *models-from-code*.

MLflow stores this file's source (:data:`PYFUNC_CODE`) and the model bundle directory
(artifact ``bundle``), and runs the file at load time, so no Python object is ever pickled.
``predict`` takes flat per-patient rows in either naming:

- the cohort file's own columns (``SAMPLE_ID``, ``CancerType``, ``Drug`` ... for a model
  trained with a column mapping): the bundle's stored mapping is applied, as
  ``predictor predict`` does for a file, so a row copied from the cohort file can be sent as
  it is;
- the schema names (``patient_id``, ``cancer_type``, ``regimen`` ..., plus any precomputed
  feature columns).

A row set with any mapped source column (one that is not also a schema name) is read through
the mapping. It returns the bundle's predictions (one row per patient); with the param
``regimens`` (``"all"`` or ``"a;b+c"``; the params schema is
:data:`predictor.tracking.model_logging.PYFUNC_PARAMS`) the what-if predictions, one row per
patient x candidate regimen (:mod:`predictor.serving.regimens`); ``explain`` adds the top-K
feature contributions. The logged signature
lists both namings, every column optional; the input example is in the file's own columns.
It lives in serving because it serves a bundle; the tracking layer only logs the file.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from predictor.data.cohort import Cohort
from predictor.data.flat import cohort_from_frame
from predictor.data.mappings import FlatMapping, load_mapping
from predictor.errors import InputError

PYFUNC_CODE = Path(__file__)


def regimen_param(value: Any) -> str | list[str] | None:
    """The ``regimens`` param: ``""`` (plain prediction), ``"all"``, or ``"a;b+c"`` (never a
    file name: a request must not make the server read its files)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if text.lower() == "all":
        return "all"
    names = [n.strip() for n in text.split(";")]
    if any(not n for n in names):
        raise InputError(f"regimens: an empty regimen name in {text!r} (use 'all' or 'a;b+c')")
    return names


def source_only_columns(mapping: FlatMapping) -> set[str]:
    """Columns only a row in the cohort file's own naming has (id, mapped and regimen code)."""
    from predictor.data import schema as S

    sources = {mapping.id_column, *mapping.columns.values()}
    if mapping.regimen_column:
        sources.add(mapping.regimen_column)
    schema_names = {c.name for c in S.CLINICAL.columns} | {"patient_id"}
    return {s for s in sources if s not in schema_names}


def uses_source_columns(rows: pd.DataFrame, mapping: FlatMapping | None) -> bool:
    """Whether ``rows`` are in the cohort file's own columns (then the mapping applies)."""
    return mapping is not None and bool(source_only_columns(mapping) & set(map(str, rows.columns)))


def _integral_ids(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """Numeric ids sent as JSON numbers (``7`` or ``7.0``) as the file's text ``7``."""
    if column in rows.columns and pd.api.types.is_float_dtype(rows[column]):
        values = rows[column]
        if values.notna().all() and (values % 1 == 0).all():
            rows = rows.copy()
            rows[column] = values.astype("int64").astype("string")
    return rows


def bundle_flat_mapping(manifest: Mapping) -> FlatMapping | None:
    """The bundle's input mapping when it is a flat-file mapping (else None: schema names)."""
    stored = manifest.get("input_mapping")
    if not isinstance(stored, Mapping):
        return None
    try:
        return load_mapping(dict(stored))
    except InputError:  # e.g. a cBioPortal study's mapping: rows come in schema names
        return None


def rows_to_cohort(rows: pd.DataFrame, mapping: FlatMapping | Mapping | None = None) -> Cohort:
    """Flat per-patient rows -> a validated :class:`Cohort` without outcomes.

    ``mapping`` (the bundle's ``input_mapping``) is applied when the rows are in the cohort
    file's own columns; rows in schema names are read as they are.
    """
    if not isinstance(rows, pd.DataFrame):
        raise InputError("the predictor model expects a pandas DataFrame of patient rows")
    flat = load_mapping(dict(mapping)) if isinstance(mapping, Mapping) else mapping
    rows = rows.infer_objects()  # "Any" columns arrive as Python objects: numbers as numbers
    if uses_source_columns(rows, flat):
        return cohort_from_frame(_integral_ids(rows, flat.id_column), flat, name="pyfunc_input",
                                 outcomes=False)
    return cohort_from_frame(_integral_ids(rows, "patient_id"), None, name="pyfunc_input",
                             outcomes=False)


@contextlib.contextmanager
def quiet_missing_inputs() -> Iterator[None]:
    """Silence the predictor's missing-input warning while a pyfunc input example is scored
    and logged: the example is flat per-patient rows, with no MAF, clone or TME tables by
    design, so the warning would be true but say nothing about the user's data."""
    logger = logging.getLogger("predictor.serving.predictor")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class PredictorModel(PythonModel):
    """Loads the bundle once per process; scores batches of flat patient rows."""

    def load_context(self, context: Any) -> None:
        from predictor.serving.bundle import load_bundle

        self._predictor = load_bundle(context.artifacts["bundle"])
        self._mapping = bundle_flat_mapping(self._predictor.manifest)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None
                ) -> pd.DataFrame:
        params = params or {}
        explain = int(params.get("explain") or 0)
        cohort = rows_to_cohort(model_input, self._mapping)
        regimens = regimen_param(params.get("regimens"))
        if regimens is None:
            return self._predictor.predict(cohort, explain=explain)
        return self._predictor.predict_regimens(cohort, regimens, explain=explain)


mlflow.models.set_model(PredictorModel())
