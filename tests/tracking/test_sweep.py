"""A Hydra multirun is one parent MLflow run with one nested child run per job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

EXPERIMENT = "sweep"


def test_multirun_jobs_are_nested_under_one_parent(mlflow_server: str, tmp_path: Path) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    env.pop("PREDICTOR_MLFLOW_PARENT_RUN_ID", None)
    args = ["-m", "+experiment=demo_fast", "data=simulated", "data.simulate.n_patients=120",
            "model.response.num_leaves=4,8", "compile=false", "evaluation.plots=false",
            "tracking.registered_model_name=null", f"tracking.experiment_name={EXPERIMENT}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    result = subprocess.run([sys.executable, "-m", "predictor.train", *args], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]

    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert sorted(c.data.params["model.response.num_leaves"] for c in children) == ["4", "8"]
    assert sorted(c.info.run_name for c in children) == ["demo_fast-0", "demo_fast-1"]
    assert "model.response.num_leaves=4,8" in parent.data.params["sweep.overrides"]
    best = max(c.data.metrics["cv/roc_auc"] for c in children)
    assert parent.data.metrics["best_objective"] == pytest.approx(best)
    recorded = (tmp_path / "sweep" / "mlflow_parent_run_id").read_text().strip()
    assert recorded == parent.info.run_id
    # One summary table of the jobs, best CV objective first, next to them and on the parent.
    summary = pd.read_csv(tmp_path / "sweep" / "sweep_summary.csv")
    assert sorted(summary["model.response.num_leaves"]) == [4, 8]
    objective = summary["objective (cv_roc_auc)"].tolist()
    assert objective == sorted((c.data.metrics["cv/roc_auc"] for c in children), reverse=True)
    assert set(summary["status"]) == {"COMPLETED"}
    assert "cv_harrell_c" in summary.columns and not any(c.startswith("test_")
                                                         for c in summary.columns)
    logged = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"sweep_summary.md", "sweep_summary.csv"} <= logged
    assert "sweep jobs 2/2 done" in result.stderr  # one line per finished job, of the total
    assert "sweep summary" in result.stderr and "| job | model.response.num_leaves |" in \
        result.stderr
    # Unregistered models are printed as runs:/ URIs, one per job.
    uris = [line for line in result.stdout.splitlines() if line.startswith("model_uri: ")]
    assert sorted(uris) == sorted(f"model_uri: runs:/{c.info.run_id}/model" for c in children)
