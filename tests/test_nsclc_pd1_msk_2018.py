"""A real cBioPortal study end to end, as a user runs it (needs ../shared/data; skipped without).

``predictor-train +experiment=nsclc_pd1_msk_2018`` in a fresh process with a sqlite MLflow store
in a temporary folder, then ``predictor predict`` on the study folder with the logged model.
See docs/nsclc_pd1_msk_2018.md for the numbers and how they were chosen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from experiment_runs import train_experiment

from predictor.tracking.metric_names import flat_metrics

pytestmark = [pytest.mark.shared, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT.parent / "shared" / "data" / "nsclc_pd1_msk_2018"
EXPERIMENT = "nsclc-e2e"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not STUDY.is_dir():
        pytest.skip("../shared/data/nsclc_pd1_msk_2018 is not available")
    work = tmp_path_factory.mktemp("nsclc")
    return vars(train_experiment(
        "nsclc_pd1_msk_2018", work, f"tracking.experiment_name={EXPERIMENT}",
        "tracking.registered_model_name=nsclc-e2e"))


def test_the_experiment_logs_cv_metrics_of_both_heads_and_every_baseline(trained: dict) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=trained["uri"])
    experiment = client.get_experiment_by_name(EXPERIMENT)
    (run,) = client.search_runs([experiment.experiment_id])
    metrics = flat_metrics(run.data.metrics)  # MLflow names -> metrics.json names
    for key in ("cv_roc_auc", "cv_roc_auc_ci_low", "cv_roc_auc_ci_high", "cv_harrell_c",
                "cv_harrell_c_ci_low", "cv_baseline_tmb_only_roc_auc",
                "cv_baseline_pdl1_only_roc_auc", "cv_baseline_logistic_roc_auc",
                "cv_baseline_tmb_risk_harrell_c", "cv_baseline_coxph_harrell_c",
                "cv_roc_auc_repeat_sd", "cv_harrell_c_repeat_sd",
                "cv_baseline_tmb_only_roc_auc_repeat_sd"):
        assert key in metrics, key
    assert not any(k.startswith("test_") for k in metrics)  # no held-out split: CV only
    assert metrics["cv_n_labelled"] == 227  # 240 minus 13 not evaluable (NE)
    assert metrics["cv_n_relapse"] == 240  # NE patients still count for PFS
    assert metrics["cv_baseline_pdl1_only_n_labelled"] < 100  # scored where PD-L1 is known
    assert run.data.params["evaluation.n_splits"] == "5"
    # The TMB baseline reads the TMB computed from the MAF, never cBioPortal's column.
    assert 0.58 < metrics["cv_baseline_tmb_only_roc_auc"] < 0.63
    assert metrics["cv_roc_auc"] > 0.55 and metrics["cv_harrell_c"] > 0.53
    assert 0 < metrics["cv_roc_auc_repeat_sd"] < 0.1  # spread over the 5 CV repeats
    assert trained["seconds"] < 600, f"the experiment took {trained['seconds']:.0f} s"


def test_the_model_uses_computed_features_not_cbioportal_columns(trained: dict) -> None:
    import yaml

    bundle = yaml.safe_load((trained["work"] / "run" / "model" / "bundle.yaml").read_text())
    names = set(bundle["feature_names"])
    assert {"tmb", "cn_fga", "clin_line_of_therapy", "clin_ever_smoker", "pdl1"} <= names
    assert not names & {"tmb_nonsynonymous", "pt_tmb_nonsynonymous", "fga", "pt_fga",
                        "mutation_rate", "pt_mutation_rate"}


def test_predict_scores_every_patient_of_the_study_folder(trained: dict) -> None:
    uri = trained["stdout"].strip().splitlines()[-1].split(": ", 1)[1]
    assert uri.startswith("models:/")
    out = trained["work"] / "p.csv"
    script = Path(sys.executable).with_name("predictor")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "predictor.cli"]
    result = subprocess.run([*command, "predict", "--model", uri, "--input", str(STUDY),
                             "--output", str(out)], cwd=trained["work"], env=trained["env"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = pd.read_csv(out)
    assert len(predictions) == 240 and predictions["patient_id"].is_unique
    assert predictions["response_probability"].between(0, 1).all()
    assert predictions["relapse_risk"].notna().all()
