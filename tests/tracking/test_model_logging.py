"""Pieces of the MLflow logging that need no server: URIs, input example, schema, parent id."""

from __future__ import annotations

from pathlib import Path

import pytest

from predictor.data.simulator import simulate_cohort
from predictor.tracking.callbacks import PARENT_RUN_FILE, sweep_parent_run_id
from predictor.tracking.mlflow_run import (
    DEFAULT_TRACKING_URI,
    PARENT_RUN_ENV,
    resolve_tracking_uri,
)
from predictor.tracking.model_logging import input_schema, pip_requirements, synthetic_input_example


def test_tracking_uri_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None) == DEFAULT_TRACKING_URI == "sqlite:///mlruns.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    assert resolve_tracking_uri(None) == "http://env:5000"
    assert resolve_tracking_uri("http://config:5000") == "http://config:5000"


def test_input_example_is_synthetic_and_schema_requires_only_schema_columns() -> None:
    cohort, _ = simulate_cohort(40, seed=2)
    example = synthetic_input_example(cohort)
    assert list(example["patient_id"]) == ["example-1", "example-2"]
    assert not set(example["patient_id"]) & set(cohort.patient_ids)
    assert example["age"].iloc[0] == pytest.approx(cohort.clinical["age"].median())
    assert example["cancer_type"].iloc[0] == cohort.clinical["cancer_type"].mode().iloc[0]
    schema = {spec.name: spec for spec in input_schema(example).inputs}
    assert schema["patient_id"].required and schema["cancer_type"].required
    assert not schema["age"].required and schema["age"].type.name == "double"
    assert schema["regimen"].type.name == "string"


def test_requirements_pin_the_installed_runtime() -> None:
    reqs = pip_requirements()
    assert any(r.startswith("lightgbm==") for r in reqs)
    assert any(r.startswith("mlflow==") for r in reqs)


def test_parent_run_id_from_env_then_sweep_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PARENT_RUN_ENV, raising=False)
    assert sweep_parent_run_id(tmp_path) is None
    (tmp_path / PARENT_RUN_FILE).write_text("abc123\n")
    assert sweep_parent_run_id(tmp_path) == "abc123"
    monkeypatch.setenv(PARENT_RUN_ENV, "fromenv")
    assert sweep_parent_run_id(tmp_path) == "fromenv"
