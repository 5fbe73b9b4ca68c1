"""End to end against a real MLflow server: the app's run, params, metrics, artifacts, model.

The app runs as a user runs it (``python -m predictor.train ...`` in a fresh process) on a small
simulated cohort with the ``demo_fast`` experiment; everything is then read back through
``MlflowClient`` over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from predictor.data.simulator import simulate_cohort
from predictor.tracking.metric_names import baseline_names, mlflow_metrics

pytestmark = pytest.mark.slow

N_PATIENTS = 160
SEED = 7
EXPERIMENT = "e2e"
REGISTERED = "predictor-e2e"


def run_app(args: list[str], cwd: Path, tracking_uri: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    env.pop("PREDICTOR_MLFLOW_PARENT_RUN_ID", None)
    result = subprocess.run([sys.executable, "-m", "predictor.train", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def trained(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("e2e")
    result = run_app(["+experiment=demo_fast", "data=simulated",
                      f"data.simulate.n_patients={N_PATIENTS}", f"seed={SEED}",
                      f"hydra.run.dir={work / 'run'}",
                      f"tracking.experiment_name={EXPERIMENT}",
                      f"tracking.registered_model_name={REGISTERED}"], work, mlflow_server)
    mlflow.set_tracking_uri(mlflow_server)
    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    cohort, _ = simulate_cohort(N_PATIENTS, seed=SEED)
    return {"stdout": result.stdout, "stderr": result.stderr, "client": client, "run": runs[0],
            "work": work, "ids": set(cohort.patient_ids), "uri": mlflow_server}


def test_last_stdout_line_is_the_registered_model_uri(trained: dict) -> None:
    lines = trained["stdout"].strip().splitlines()
    last = lines[-1]
    assert last.startswith("model_uri: ")
    assert not [line for line in lines if "INFO" in line or "[HYDRA]" in line]  # logs: stderr
    assert any(line.startswith("test_roc_auc: ") for line in lines)
    # A single run: no callback may fail (Hydra only warns when one raises).
    assert "raised" not in trained["stderr"] and "Traceback" not in trained["stderr"]
    uri = last.split(": ", 1)[1]
    versions = trained["client"].search_model_versions(f"name='{REGISTERED}'")
    assert [f"models:/{REGISTERED}/{v.version}" for v in versions] == [uri]
    assert versions[0].run_id == trained["run"].info.run_id


def test_params_and_tags_describe_the_run_without_patient_ids(trained: dict) -> None:
    run = trained["run"]
    params, tags = run.data.params, run.data.tags
    assert params["model.response.n_estimators"] == "60"       # from experiments/demo_fast
    assert params["evaluation.n_splits"] == "2"
    assert params["seed"] == str(SEED)
    assert not any(k.startswith("hydra") for k in params)
    assert all(len(v) <= 500 for v in params.values())
    assert tags["predictor_version"]
    assert len(tags["data_fingerprint"]) == 16
    for value in [*params.values(), *tags.values()]:
        assert not any(pid in value for pid in trained["ids"])


def test_metrics_cover_cv_test_baselines_and_oracle(trained: dict) -> None:
    metrics = trained["run"].data.metrics
    for key in ("cv/roc_auc", "test/roc_auc", "cv/harrell_c", "test/harrell_c",
                "baseline/logistic/test/roc_auc", "baseline/coxph/test/harrell_c",
                "baseline/tmb_only/cv/roc_auc", "oracle/roc_auc", "oracle/harrell_c",
                "test/roc_auc_over_oracle"):
        assert key in metrics, key
    assert metrics["test/roc_auc_ci_low"] <= metrics["test/roc_auc"] <= \
        metrics["test/roc_auc_ci_high"]
    assert 0.0 <= metrics["test/roc_auc"] <= 1.0
    assert metrics["test/roc_auc_over_oracle"] == pytest.approx(
        metrics["test/roc_auc"] / metrics["oracle/roc_auc"])
    # metrics.json keeps the flat names; the documented mapping gives the MLflow ones.
    saved = json.loads((trained["work"] / "run" / "metrics.json").read_text())
    finite = {k: v for k, v in saved.items() if v is not None}
    mapped = mlflow_metrics(finite, baseline_names(finite))
    final = {k for k in metrics if not k.startswith("cv/fold/")}
    assert mapped.keys() == final  # every finite metric logged once, NaNs skipped
    assert all(metrics[k] == pytest.approx(v) for k, v in mapped.items())
    # Only the headline sections and one per baseline: the UI groups by the first "/".
    assert {k.split("/")[0] for k in metrics} <= {"cv", "test", "oracle", "final", "baseline"}


def test_the_run_lived_as_long_as_the_training_and_logged_each_fold(trained: dict) -> None:
    run = trained["run"]
    assert run.info.status == "FINISHED"
    assert "error" not in run.data.tags
    # The run opened before cross-validation: it spans the fits, not only the logging.
    assert (run.info.end_time - run.info.start_time) / 1000 > 3.0
    history = trained["client"].get_metric_history(run.info.run_id, "cv/fold/roc_auc")
    assert sorted(m.step for m in history) == [0, 1]  # demo_fast: 2 folds x 1 repeat
    assert all(0.0 <= m.value <= 1.0 for m in history)
    stamps = sorted(m.timestamp for m in history)
    assert stamps[0] < run.info.end_time - 1000  # logged while training, not at the end


def test_experiment_opens_on_training_runs(trained: dict) -> None:
    experiment = trained["client"].get_experiment_by_name(EXPERIMENT)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_cohorts_are_logged_as_datasets_without_patient_ids(trained: dict) -> None:
    inputs = {d.tags[0].value: d.dataset for d in trained["run"].inputs.dataset_inputs}
    assert set(inputs) == {"training", "test"}
    train, test = inputs["training"], inputs["test"]
    assert len(train.digest) == 16 and train.digest != test.digest
    train_profile, test_profile = json.loads(train.profile), json.loads(test.profile)
    assert train_profile["patients"] + test_profile["patients"] == N_PATIENTS
    assert "cancer_type" in train.schema
    for text in (train.profile, train.schema, train.source, test.profile):
        assert not any(pid in text for pid in trained["ids"])


def test_artifacts_hold_plots_config_report_and_an_unpickled_model(trained: dict,
                                                                    tmp_path: Path) -> None:
    client, run_id = trained["client"], trained["run"].info.run_id
    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"config_resolved.yaml", "report.md", "metrics.json", "plots"} <= top
    plots = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert {"plots/roc.png", "plots/km_by_risk.png", "plots/calibration.png"} <= plots
    report = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="report.md",
                                                      dst_path=str(tmp_path)))
    text = report.read_text()
    assert "| **model** |" in text and "logistic" in text
    model_dir = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model",
                                                         dst_path=str(tmp_path / "m")))
    files = [p for p in model_dir.rglob("*") if p.is_file()]
    assert any(p.name == "bundle.yaml" for p in files)
    assert any(p.name == "pyfunc_model.py" for p in files)
    assert not [p for p in files if p.suffix in (".pkl", ".pickle", ".joblib", ".cloudpickle")]
    assert "python_model.pkl" not in (model_dir / "MLmodel").read_text()


def test_registered_model_loads_and_predicts_flat_rows(trained: dict) -> None:
    uri = trained["stdout"].strip().splitlines()[-1].split(": ", 1)[1]
    model = mlflow.pyfunc.load_model(uri)
    rows = pd.DataFrame({"patient_id": ["new-1", "new-2"], "cancer_type": ["NSCLC", "Melanoma"],
                         "regimen": ["pembrolizumab", "nivolumab+ipilimumab"],
                         "age": [61.0, 70.0]})
    out = model.predict(rows)
    assert list(out["patient_id"]) == ["new-1", "new-2"]
    assert out["response_probability"].between(0, 1).all()
    assert out["relapse_risk"].notna().all()


def test_the_local_bundle_is_in_the_run_dir(trained: dict) -> None:
    from predictor.serving.bundle import load_bundle

    predictor = load_bundle(trained["work"] / "run" / "model")
    cohort, _ = simulate_cohort(20, seed=99)
    out = predictor.predict(cohort.without_outcomes())
    assert len(out) == 20 and out["response_probability"].between(0, 1).all()


def test_run_and_model_version_record_the_manifest_hash(trained: dict) -> None:
    """``models:/`` and ``runs:/`` loads on any machine check bundle.yaml against these tags."""
    from predictor.serving.trust import bundle_manifest_sha256
    from predictor.tracking.tags import MANIFEST_TAG

    digest = bundle_manifest_sha256(trained["work"] / "run" / "model")
    client = trained["client"]
    assert client.get_run(trained["run"].info.run_id).data.tags[MANIFEST_TAG] == digest
    uri = trained["stdout"].strip().splitlines()[-1].split(": ", 1)[1]
    version = client.get_model_version(REGISTERED, uri.rsplit("/", 1)[1])
    assert version.tags[MANIFEST_TAG] == digest


def test_a_shared_server_holds_the_run_and_its_artifacts(trained: dict) -> None:
    """Team use: ``tracking.uri`` (here ``$MLFLOW_TRACKING_URI``) names a real ``mlflow server``
    with its own sqlite file; nothing is written to a local store, artifacts go through it."""
    work = trained["work"]
    assert not (work / "mlruns.db").exists() and not (work / "mlruns").exists()
    assert trained["run"].info.artifact_uri.startswith("mlflow-artifacts:/")
