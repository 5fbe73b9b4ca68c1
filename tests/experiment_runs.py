"""Run a named experiment as a user does: ``predictor-train +experiment=NAME`` in a fresh
process, in a scratch folder, with its own sqlite MLflow store (shared by the real-cohort
end-to-end tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TrainedExperiment:
    work: Path
    uri: str
    env: dict[str, str]
    stdout: str
    seconds: float


def train_experiment(experiment: str, work: Path, *overrides: str) -> TrainedExperiment:
    """Train ``+experiment=<experiment>`` in ``work`` (outputs in ``work/run``); fails the test
    with the end of stderr when the command does not exit 0."""
    uri = f"sqlite:///{work / 'mlruns.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    env.pop("PREDICTOR_MLFLOW_PARENT_RUN_ID", None)
    script = Path(sys.executable).with_name("predictor-train")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "predictor.train"]
    start = time.monotonic()
    result = subprocess.run(
        [*command, f"+experiment={experiment}", f"hydra.run.dir={work / 'run'}", *overrides],
        cwd=work, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-3000:]
    return TrainedExperiment(work, uri, env, result.stdout, seconds)
