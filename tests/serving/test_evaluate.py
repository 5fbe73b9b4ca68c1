"""``predictor evaluate``: metrics of a bundle on labelled patients, as the user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from predictor.cli import app
from predictor.data.labels import ResponseRule, relapse_target, response_labels
from predictor.evaluation import metrics as M

runner = CliRunner()
N_LOCAL = 240


@pytest.fixture(scope="module")
def local_cohort():
    """Other simulated patients than the bundle's training ones (another seed)."""
    from predictor.data.simulator import simulate_cohort

    cohort, _ = simulate_cohort(N_LOCAL, 11)
    return cohort


@pytest.fixture(scope="module")
def local_study(local_cohort, tmp_path_factory) -> Path:
    """The local cohort as a cBioPortal study folder (the real on-disk format)."""
    from predictor.data.cbioportal import write_cbioportal

    out = tmp_path_factory.mktemp("local") / "study"
    write_cbioportal(local_cohort, out)
    return out


@pytest.fixture(scope="module")
def local_csv(local_cohort, tmp_path_factory) -> Path:
    """The local cohort as a flat CSV with outcome columns (schema names)."""
    from predictor.data.flat import write_flat

    path = tmp_path_factory.mktemp("flat_local") / "local.csv"
    write_flat(local_cohort, path)
    return path


def evaluate(*args: str):
    return runner.invoke(app, ["evaluate", *args])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The installed CLI in a fresh process: what a user sees on stderr, and the exit code."""
    return subprocess.run([sys.executable, "-m", "predictor.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_auc_equals_the_auc_of_predict_output(bundle_dir, local_study, local_cohort, tmp_path):
    out = tmp_path / "eval"
    result = evaluate("--model", str(bundle_dir), "--input", str(local_study), "--output",
                      str(out), "--n-boot", "50")
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    pred_file = tmp_path / "pred.csv"
    result = runner.invoke(app, ["predict", "--model", str(bundle_dir), "--input",
                                 str(local_study), "--output", str(pred_file)])
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(pred_file, dtype={"patient_id": str}).set_index("patient_id")
    labels = response_labels(local_cohort.outcomes, ResponseRule(positive=("CR", "PR")))
    y = labels.reindex(pred.index).to_numpy(float)
    assert metrics["roc_auc"] == pytest.approx(M.roc_auc(y, pred["response_probability"]),
                                               abs=1e-12)
    target = relapse_target(local_cohort.outcomes, "pfs").reindex(pred.index)
    assert metrics["harrell_c"] == pytest.approx(
        M.harrell_c(target["time"], target["event"], pred["relapse_risk"]), abs=1e-12)
    assert metrics["n_labelled"] == np.isfinite(y).sum()


def test_outputs_and_metric_names(bundle_dir, local_study, tmp_path):
    out = tmp_path / "eval"
    result = evaluate("--model", str(bundle_dir), "--input", str(local_study), "--output",
                      str(out), "--n-boot", "50")
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("roc_auc", "pr_auc", "brier", "ece", "calibration_intercept",
                "calibration_slope", "harrell_c", "uno_c", "td_auc_12m", "ibs",
                "roc_auc_ci_low", "ece_ci_high", "harrell_c_ci_low", "uno_c_ci_high",
                "baseline_tmb_roc_auc", "model_minus_tmb_roc_auc_ci_low",
                "baseline_tmb_harrell_c", "model_minus_tmb_harrell_c_p_value"):
        assert key in metrics, key
    assert metrics["roc_auc_ci_low"] <= metrics["roc_auc"] <= metrics["roc_auc_ci_high"]
    report = (out / "report.md").read_text()
    for heading in ("## Response", "## Relapse", "## By cancer type", "published baselines"):
        assert heading in report
    names = {p.name for p in (out / "plots").iterdir()}
    assert {"roc.png", "calibration.png", "km_by_risk.png",
            "relapse_calibration_12m.png"} <= names
    assert not list(tmp_path.glob(".eval.*"))  # no temp folder left behind


def test_unlabelled_and_incomplete_outcomes_are_counted_and_named(bundle_dir, local_csv,
                                                                  tmp_path):
    frame = pd.read_csv(local_csv, dtype={"patient_id": str})
    frame.loc[0:4, "best_response"] = np.nan                 # 5 unlabelled patients
    frame.loc[10, "pfs_months"] = np.nan                    # an event without a time
    frame.loc[10, "pfs_event"] = 1
    frame.loc[11, "pfs_months"] = -2.0                      # a negative time
    frame.loc[12, "pfs_event"] = np.nan                     # a time without an event
    messy = tmp_path / "registry.csv"
    frame.to_csv(messy, index=False)
    out = tmp_path / "eval"
    result = evaluate("--model", str(bundle_dir), "--input", str(messy), "--output", str(out),
                      "--n-boot", "20")
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    n_nan = frame["best_response"].isna().sum() + (frame["best_response"] == "NE").sum()
    assert metrics["n_labelled"] == len(frame) - n_nan
    assert metrics["n_relapse"] == len(frame) - 3
    assert metrics["n_patients"] == len(frame)
    assert metrics["n_outcome_problems"] == 3
    report = (out / "report.md").read_text()
    assert f"{n_nan} without a label (predicted, not in the metrics)" in report
    for row, reason in ((10, "pfs_event is set but pfs_months is missing"),
                        (11, "pfs_months is negative"), (12, "pfs event is missing")):
        assert f"| {frame.loc[row, 'patient_id']} | " in report
        assert reason in report
    assert "| 13 | pfs | pfs_months is negative |" in report  # file line of row 11


def test_training_reads_stay_strict(local_csv, tmp_path):
    from predictor.data.readers import read_cohort
    from predictor.errors import InputError

    frame = pd.read_csv(local_csv, dtype={"patient_id": str})
    frame.loc[3, "pfs_months"] = -1.0
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(InputError, match="outside"):
        read_cohort(bad)


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bad_inputs_exit_2_with_one_line(bundle_dir, local_csv, tmp_path):
    frame = pd.read_csv(local_csv, dtype={"patient_id": str})
    no_label = tmp_path / "no_label.csv"
    frame.drop(columns=["best_response"]).to_csv(no_label, index=False)
    one_class = tmp_path / "one_class.csv"
    frame.assign(best_response="PD").to_csv(one_class, index=False)
    cases = {
        "no label column": (["--input", str(no_label)], "no label column"),
        "one class": (["--input", str(one_class)], "one class only"),
        "unknown mapping": (["--input", str(local_csv), "--mapping",
                             str(tmp_path / "nope.yaml")], "mapping file not found"),
    }
    for name, (args, expected) in cases.items():
        out = tmp_path / f"out_{name.replace(' ', '_')}"
        line = _one_error_line(run_cli("evaluate", "--model", str(bundle_dir), *args,
                                       "--output", str(out), "--n-boot", "5"))
        assert expected in line, (name, line)
        assert not out.exists(), name


def test_refuses_a_non_empty_output_folder(bundle_dir, local_csv, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = evaluate("--model", str(bundle_dir), "--input", str(local_csv), "--output",
                      str(out))
    assert result.exit_code == 2
    assert (out / "notes.txt").read_text() == "keep me"
