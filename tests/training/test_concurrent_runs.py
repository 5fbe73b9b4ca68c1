"""Two trainings at once: a fresh sqlite store is created once, and an output folder holds one
training at a time (issue: ``table ... already exists`` tracebacks, mixed ``outputs/<name>``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from predictor.training.output_lock import lock_output_dir

CREATE = """
import sys
from predictor.tracking.mlflow_run import use_experiment
use_experiment(sys.argv[1], "together")
"""


def test_a_fresh_sqlite_store_is_created_once_by_concurrent_trainings(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    processes = [subprocess.Popen([sys.executable, "-c", CREATE, uri], cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    for code, stderr in results:
        assert code == 0, stderr[-1500:]
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(tracking_uri=uri).get_experiment_by_name("together")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_a_busy_output_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "outputs" / "demo_fast"
    handle = lock_output_dir(folder)  # another training holds it
    try:
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlruns.db'}"}
        result = subprocess.run(
            [sys.executable, "-m", "predictor.train", "+experiment=demo_fast", "data=simulated",
             "data.simulate.n_patients=80", f"hydra.run.dir={folder}"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    finally:
        handle.close()
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "in use by another training" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert f"pid {os.getpid()}" in errors[0]
    assert not (folder / ".hydra").exists()  # nothing of the second run was written there
    assert not (tmp_path / "mlruns.db").exists()


def test_the_lock_is_released_with_its_holder(tmp_path: Path) -> None:
    handle = lock_output_dir(tmp_path / "run")
    handle.close()
    lock_output_dir(tmp_path / "run").close()  # free again: no error


@pytest.mark.parametrize("holders", [2])
def test_a_second_lock_in_the_same_folder_fails(tmp_path: Path, holders: int) -> None:
    from predictor.errors import InputError

    handle = lock_output_dir(tmp_path / "run")
    try:
        code = ("import sys; from predictor.training.output_lock import lock_output_dir; "
                f"lock_output_dir(__import__('pathlib').Path({str(tmp_path / 'run')!r}))")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode != 0 and InputError.__name__ in result.stderr
    finally:
        handle.close()
