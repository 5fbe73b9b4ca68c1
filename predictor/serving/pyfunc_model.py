"""The MLflow pyfunc of a trained predictor, logged as *models-from-code*.

MLflow stores this file's source (:data:`PYFUNC_CODE`) and the model bundle directory
(artifact ``bundle``), and runs the file at load time, so no Python object is ever pickled.
``predict`` takes flat per-patient rows in schema column names (``patient_id``,
``cancer_type``, ``regimen``, ..., plus any precomputed feature columns) and returns the
bundle's predictions (one row per patient). It lives in serving because it serves a bundle;
the tracking layer only logs the file it is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from predictor.data.cohort import Cohort
from predictor.data.flat import cohort_from_frame
from predictor.errors import InputError

PYFUNC_CODE = Path(__file__)


def rows_to_cohort(rows: pd.DataFrame) -> Cohort:
    """Flat per-patient rows (schema names) -> a validated :class:`Cohort` without outcomes."""
    if not isinstance(rows, pd.DataFrame):
        raise InputError("the predictor model expects a pandas DataFrame of patient rows")
    return cohort_from_frame(rows, None, name="pyfunc_input", outcomes=False)


class PredictorModel(PythonModel):
    """Loads the bundle once per process; scores batches of flat patient rows."""

    def load_context(self, context: Any) -> None:
        from predictor.serving.bundle import load_bundle

        self._predictor = load_bundle(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None
                ) -> pd.DataFrame:
        return self._predictor.predict(rows_to_cohort(model_input))


mlflow.models.set_model(PredictorModel())
