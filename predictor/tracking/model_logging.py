"""Log a model bundle to MLflow as a pyfunc (models-from-code) and register it.

The input example is synthetic (typical values per column and made-up ids), never a real
patient's row, because MLflow stores it in clear next to the model.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from importlib import metadata
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema
from mlflow.types.schema import ParamSchema, ParamSpec

from predictor.data import schema as S
from predictor.data.cohort import Cohort
from predictor.tracking.tags import MANIFEST_TAG

MODEL_NAME = "model"
# The served pyfunc's request params, name -> (MLflow type, default): ``regimens`` ("" plain
# prediction, "all" or "a;b+c": what-if regimens) and ``explain`` (top-K contributions).
PYFUNC_PARAMS = {"regimens": ("string", ""), "explain": ("long", 0)}
# Runtime requirements written into the model's requirements.txt, so MLflow does not have to
# import-sniff the model in a subprocess.
_RUNTIME_PACKAGES = ("mlflow", "numpy", "pandas", "pyarrow", "scipy", "scikit-learn",
                     "lightgbm", "lleaves", "llvmlite", "pyyaml")


def pip_requirements() -> list[str]:
    """Installed versions of the packages a loaded predictor needs (plus ``predictor``)."""
    reqs = []
    for name in _RUNTIME_PACKAGES:
        try:
            reqs.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    with contextlib.suppress(metadata.PackageNotFoundError):
        reqs.append(f"predictor=={metadata.version('predictor')}")
    return reqs


def synthetic_input_example(cohort: Cohort, n_rows: int = 2) -> pd.DataFrame:
    """Rows in schema names with the cohort's typical values and ids ``example-1``, ...

    Numbers take the median, text the most frequent value; no real row is copied.
    """
    clinical = cohort.clinical
    rows: dict[str, list] = {"patient_id": [f"example-{i + 1}" for i in range(n_rows)]}
    for name in clinical.columns:
        col = clinical[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = pd.to_numeric(col, errors="coerce").astype("float64")
            value = float(np.nanmedian(values)) if values.notna().any() else np.nan
        else:
            mode = col.dropna().astype("string").mode()
            value = str(mode.iloc[0]) if len(mode) else None
        rows[str(name)] = [value] * n_rows
    return pd.DataFrame(rows)


def input_schema(example: pd.DataFrame, other_naming: pd.DataFrame | None = None) -> Schema:
    """Columns of the example; only the schema's required clinical columns are required.

    Every other column may be absent (its features are then missing, as in batch prediction).
    With ``other_naming`` (the same rows in the cohort file's own columns) the schema lists
    both namings and no column is required: a request uses one naming or the other.
    """
    required = set() if other_naming is not None else {"patient_id", *S.CLINICAL.required}
    specs, seen = [], set()
    for frame in (example, other_naming if other_naming is not None else pd.DataFrame()):
        for name in frame.columns:
            if str(name) in seen:
                continue
            seen.add(str(name))
            col = frame[name]
            numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
            # Numbers are double: the scoring server parses JSON and CSV requests to the
            # signature's types (``Any`` would break CSV requests); in-process callers pass
            # floats, as MLflow refuses to cast int64 to double
            # (serving.pyfunc_input.conform_to_signature does it for them).
            specs.append(ColSpec("double" if numeric else "string", str(name),
                                 required=str(name) in required))
    return Schema(specs)


def signature_for(input_example: pd.DataFrame, output_example: pd.DataFrame,
                  other_naming: pd.DataFrame | None = None) -> ModelSignature:
    with warnings.catch_warnings():  # MLflow's hint about integer output columns: not useful
        warnings.simplefilter("ignore", UserWarning)
        outputs = infer_signature(input_example, output_example).outputs
    return ModelSignature(inputs=input_schema(input_example, other_naming), outputs=outputs,
                          params=params_schema())


def params_schema() -> ParamSchema:
    """The pyfunc's request params (:data:`PYFUNC_PARAMS`)."""
    return ParamSchema([ParamSpec(name, dtype, default)
                        for name, (dtype, default) in PYFUNC_PARAMS.items()])


def log_predictor_model(
    bundle_dir: Path,
    *,
    model_code: Path,
    input_example: pd.DataFrame,
    output_example: pd.DataFrame,
    registered_model_name: str | None,
    manifest_sha256: str | None = None,
    schema_example: pd.DataFrame | None = None,
) -> str:
    """Log the bundle as the active run's ``model`` (``model_code``: the models-from-code
    file that serves it, :data:`predictor.serving.pyfunc_model.PYFUNC_CODE`); return the URI.

    ``models:/<name>/<version>`` when registered, else ``runs:/<run_id>/model``.
    ``manifest_sha256`` (the bundle's canonical manifest hash, ``serving.trust``) is recorded
    as tag :data:`MANIFEST_TAG` of the run and of the model version: loading the model from
    the registry on any machine checks ``bundle.yaml`` against it.
    ``schema_example``: when ``input_example`` is in the cohort file's own columns, the same
    rows in schema names; the signature then documents both namings.
    """
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_predictor_model needs an active MLflow run")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # keep logs clean
    signature = (signature_for(schema_example, output_example, input_example)
                 if schema_example is not None else signature_for(input_example, output_example))
    naming = ("rows in the cohort file's own columns (the bundle's input mapping is applied) "
              "or in schema names (patient_id, cancer_type, regimen, ...); all columns optional"
              if schema_example is not None else "rows in schema names (patient_id, ...)")
    naming += ("; numbers are double: a Python caller with int64 columns (pandas.read_csv) "
               "passes predictor.serving.pyfunc_input.conform_to_signature(rows, model)")
    info = mlflow.pyfunc.log_model(
        name=MODEL_NAME,
        python_model=str(model_code),
        artifacts={"bundle": str(bundle_dir)},
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements(),
        registered_model_name=registered_model_name or None,
        metadata={"predictor_input": naming},
    )
    version = getattr(info, "registered_model_version", None)
    if manifest_sha256:
        mlflow.set_tag(MANIFEST_TAG, manifest_sha256)
        if registered_model_name and version is not None:
            from mlflow.tracking import MlflowClient

            MlflowClient().set_model_version_tag(registered_model_name, str(version),
                                                 MANIFEST_TAG, manifest_sha256)
    if registered_model_name and version is not None:
        return f"models:/{registered_model_name}/{version}"
    return f"runs:/{run.info.run_id}/{MODEL_NAME}"
