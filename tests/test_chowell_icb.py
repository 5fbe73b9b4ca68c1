"""The real-cohort benchmark end to end: ``predictor-train +experiment=chowell_icb`` on
../shared/data/chowell_icb (skipped when absent), then ``predictor predict`` on thinner files.

Checks that the metrics logged to MLflow are what a fresh computation from the logged model
gives on test.csv, that the published LORIS reference numbers are reproduced, that the
numbers quoted in docs/chowell_icb.md are the ones this run logs, and that a file lacking
columns (even the cancer type or the id) is still scored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictor.evaluation import metrics as M
from predictor.tracking.metric_names import flat_metrics

pytestmark = [pytest.mark.shared, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _command(name: str) -> list[str]:
    executable = BIN / name
    module = {"predictor-train": "predictor.train", "predictor": "predictor.cli"}[name]
    return [str(executable)] if executable.exists() else [sys.executable, "-m", module]


@pytest.fixture(scope="module")
def chowell_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = REPO.parent / "shared" / "data" / "chowell_icb"
    if not (folder / "train.csv").is_file() or not (folder / "test.csv").is_file():
        pytest.skip("../shared/data/chowell_icb is not available")
    root = tmp_path_factory.mktemp("chowell_icb")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    done = subprocess.run(
        [*_command("predictor-train"), "+experiment=chowell_icb",
         f"hydra.run.dir={root / 'run'}"],
        cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    model_uri = done.stdout.strip().splitlines()[-1].removeprefix("model_uri: ")
    return {"root": root, "env": env, "uri": uri, "model_uri": model_uri,
            "out": root / "run", "folder": folder, "stdout": done.stdout}


def _logged_metrics(uri: str) -> dict[str, float]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("predictor")
    runs = client.search_runs([experiment.experiment_id], "attributes.run_name = 'chowell_icb'")
    assert len(runs) == 1
    return flat_metrics(runs[0].data.metrics)  # MLflow names -> metrics.json names


def _predict(run: dict, input_path: Path, name: str) -> pd.DataFrame:
    output = run["root"] / f"{name}.csv"
    done = subprocess.run(
        [*_command("predictor"), "predict", "--model", run["model_uri"], "--input",
         str(input_path), "--output", str(output)],
        cwd=run["root"], env=run["env"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return pd.read_csv(output, dtype={"patient_id": str})


def test_a_file_with_one_input_column_is_refused(chowell_run: dict) -> None:
    """One of the 18 input columns the mapping names (wrong file or delimiter): exit 2."""
    test = pd.read_csv(chowell_run["folder"] / "test.csv")
    path = chowell_run["root"] / "only_platelets.csv"
    test[["SAMPLE_ID", "Platelets"]].head(60).to_csv(path, index=False)
    done = subprocess.run(
        [*_command("predictor"), "predict", "--model", chowell_run["model_uri"], "--input",
         str(path), "--output", str(chowell_run["root"] / "only_platelets_pred.csv")],
        cwd=chowell_run["root"], env=chowell_run["env"], capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 2 and "only 1 of the 18 input columns" in done.stderr


def test_logged_test_metrics_match_a_fresh_computation(chowell_run: dict) -> None:
    logged = _logged_metrics(chowell_run["uri"])
    saved = json.loads((chowell_run["out"] / "metrics.json").read_text())
    for key in ("test_roc_auc", "test_ece", "test_harrell_c", "test_baseline_loris_roc_auc",
                "test_baseline_rf16_roc_auc", "test_model_minus_loris_roc_auc"):
        assert logged[key] == pytest.approx(saved[key], abs=1e-9), key
    # The published references of the data README, reproduced by the run.
    assert logged["test_baseline_loris_roc_auc"] == pytest.approx(0.754, abs=0.005)
    assert logged["test_baseline_tmb_only_roc_auc"] == pytest.approx(0.648, abs=0.005)
    assert logged["test_baseline_loris_risk_harrell_c"] == pytest.approx(0.665, abs=0.005)
    # The logged model, scored afresh on test.csv through the command line.
    test = pd.read_csv(chowell_run["folder"] / "test.csv")
    predictions = _predict(chowell_run, chowell_run["folder"] / "test.csv", "test_predictions")
    assert predictions["patient_id"].tolist() == test["SAMPLE_ID"].astype(str).tolist()
    p = predictions["response_probability"].to_numpy()
    risk = predictions["relapse_risk"].to_numpy()
    y = test["Response"].to_numpy(float)
    assert M.roc_auc(y, p) == pytest.approx(logged["test_roc_auc"], abs=1e-3)
    assert M.expected_calibration_error(y, p) == pytest.approx(logged["test_ece"], abs=2e-3)
    c = M.harrell_c(test["PFS_Months"].to_numpy(float), test["PFS_Event"].to_numpy(float), risk)
    assert c == pytest.approx(logged["test_harrell_c"], abs=1e-3)


def test_report_has_every_section(chowell_run: dict) -> None:
    report = (chowell_run["out"] / "report.md").read_text()
    for needle in ("| loris |", "| rf16 |", "| tmb_only |", "| loris_risk |", "ece",
                   "loris_roc_auc", "Response ROC AUC by cancer type (test)",
                   "each group of input columns removed", "| tumour_sequencing |",
                   "| missing column |"):
        assert needle in report, needle
    assert (chowell_run["out"] / "plots" / "km_by_risk.png").is_file()
    assert (chowell_run["out"] / "plots" / "calibration.png").is_file()


def test_docs_quote_the_numbers_of_this_run(chowell_run: dict) -> None:
    saved = json.loads((chowell_run["out"] / "metrics.json").read_text())
    docs = (REPO / "docs" / "chowell_icb.md").read_text()
    for key in ("cv_roc_auc", "test_roc_auc", "test_roc_auc_ci_low", "test_roc_auc_ci_high",
                "test_ece", "test_harrell_c", "test_baseline_loris_roc_auc",
                "test_baseline_rf16_roc_auc", "test_baseline_tmb_only_roc_auc",
                "test_model_minus_loris_roc_auc"):
        assert f"{saved[key]:.3f}" in docs, key


@pytest.mark.parametrize("columns", [
    ["SAMPLE_ID", "CancerType", "TMB", "Age", "Albumin"],
    ["SAMPLE_ID", "TMB", "NLR", "Drug"],                  # no cancer type
    ["CancerType", "TMB", "HED", "Systemic_therapy_history"],  # no id: rows are numbered
    ["SAMPLE_ID", "Platelets", "TMB"],
])
def test_predict_scores_a_file_with_a_subset_of_the_columns(chowell_run: dict,
                                                            columns: list[str]) -> None:
    test = pd.read_csv(chowell_run["folder"] / "test.csv")
    path = chowell_run["root"] / f"subset_{'_'.join(columns)}.csv"
    test[columns].head(60).to_csv(path, index=False)
    predictions = _predict(chowell_run, path, path.stem + "_predictions")
    assert len(predictions) == 60
    assert np.isfinite(predictions["response_probability"]).all()
    assert np.isfinite(predictions["relapse_risk"]).all()
    assert predictions["response_probability"].between(0, 1).all()
