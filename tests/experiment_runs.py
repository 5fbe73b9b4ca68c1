"""Run a named experiment as a user does: ``predictor-train +experiment=NAME`` in a fresh
process, in a scratch folder, with its own sqlite MLflow store (shared by the real-cohort
end-to-end tests); and load a script of ``experiments/`` as a module."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def load_script(name: str) -> ModuleType:
    """``experiments/<name>.py`` as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


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
