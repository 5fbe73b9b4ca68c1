"""The training's MLflow run is live: visible while it trains, and ended FAILED/KILLED when the
training dies (a real ``mlflow server``, a real training process interrupted midway)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow


def _runs(client: MlflowClient, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    return [] if found is None else client.search_runs([found.experiment_id])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_training_is_a_killed_run_with_its_folds(mlflow_server: str,
                                                               tmp_path: Path,
                                                               signum: int) -> None:
    experiment = f"live-kill-{int(signum)}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "PREDICTOR_PROGRESS": "plain"}
    env.pop("PREDICTOR_MLFLOW_PARENT_RUN_ID", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "predictor.train", "+experiment=demo_fast", "data=simulated",
         "data.simulate.n_patients=200", "evaluation.n_splits=3", "evaluation.n_repeats=4",
         f"hydra.run.dir={tmp_path / 'run'}", f"tracking.experiment_name={experiment}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = MlflowClient(tracking_uri=mlflow_server)
    try:
        deadline = time.monotonic() + 300
        while True:  # wait until the run is RUNNING and its first fold is logged
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no fold metric logged in time"
            runs = _runs(client, experiment)
            if runs and client.get_metric_history(runs[0].info.run_id, "cv/fold/roc_auc"):
                break
            time.sleep(0.5)
        assert runs[0].info.status == "RUNNING"
        assert runs[0].data.params["evaluation.n_repeats"] == "4"  # params at the start
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    run = client.get_run(runs[0].info.run_id)
    assert run.info.status == "KILLED", stderr[-2000:]
    expected = "KeyboardInterrupt" if signum == signal.SIGINT else "Terminated"
    assert run.data.tags["error"].startswith(expected)
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "cv/fold/roc_auc")]
    assert 1 <= len(steps) < 12  # some folds logged, not all 3 x 4
    assert "test/roc_auc" not in run.data.metrics


def test_a_failing_training_ends_its_run_failed_with_the_error(tracking_env: str) -> None:
    from predictor.training.tracking import training_run

    tracking = {"enabled": True, "experiment_name": "live-fail"}
    with pytest.raises(RuntimeError), training_run(tracking, "boom") as live:
        live.log_fold(0, {"roc_auc": 0.7})
        raise RuntimeError("feature step exploded\nsecond line")
    client = MlflowClient(tracking_uri=tracking_env)
    (run,) = _runs(client, "live-fail")
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == "RuntimeError: feature step exploded"
    assert run.data.metrics["cv/fold/roc_auc"] == 0.7


CALLER = """
import sys, time
from predictor.training.tracking import training_run
with training_run({"enabled": True, "experiment_name": sys.argv[1]}, "caller") as live:
    live.log_fold(0, {"roc_auc": 0.7})
    print("ready", flush=True)
    time.sleep(120)
"""


def test_sigterm_ends_a_python_callers_run_killed(mlflow_server: str) -> None:
    """``run_training`` called from Python (no CLI handler): SIGTERM still ends the run KILLED
    (``files.sigterm_exits``, the CLIs' mechanism for the run's block) and the process 143."""
    experiment = "live-caller-sigterm"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    env.pop("PREDICTOR_MLFLOW_PARENT_RUN_ID", None)
    process = subprocess.Popen([sys.executable, "-c", CALLER, experiment], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", process.communicate()[1][-2000:]
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr[-2000:]
    (run,) = _runs(MlflowClient(tracking_uri=mlflow_server), experiment)
    assert run.info.status == "KILLED"
    assert run.data.tags["error"].startswith("Terminated")
