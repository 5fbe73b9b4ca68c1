"""``evaluate --log`` and ``recalibrate --register`` against a real MLflow server.

A small bundle is registered as version 1 of a model; the CLI then runs in a fresh process
(as a user runs it) against the server, and everything is read back over HTTP.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NAME = "local-eval"


def _cli(args: list[str], tracking_uri: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    env.pop("PREDICTOR_MLFLOW_PARENT_RUN_ID", None)
    result = subprocess.run([sys.executable, "-m", "predictor.cli", *args], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def registered(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny bundle (simulated patients) registered as ``models:/local-eval/1``, and a local
    labelled cohort of other simulated patients as a cBioPortal study."""
    from predictor.data.cbioportal import write_cbioportal
    from predictor.data.labels import ResponseRule, relapse_target, response_labels
    from predictor.data.simulator import simulate_cohort
    from predictor.features.pipeline import build_feature_pipeline
    from predictor.models.relapse import RelapseModel
    from predictor.models.response import ResponseModel
    from predictor.serving.bundle import load_bundle, save_bundle
    from predictor.serving.pyfunc_model import PYFUNC_CODE, rows_to_cohort
    from predictor.serving.trust import bundle_manifest_sha256
    from predictor.tracking.mlflow_run import tracked_run
    from predictor.tracking.model_logging import log_predictor_model, synthetic_input_example

    work = tmp_path_factory.mktemp("eval_logging")
    train, _ = simulate_cohort(200, 7)
    cfg = yaml.safe_load((REPO / "conf/features/minimal.yaml").read_text())
    pipeline = build_feature_pipeline(cfg).fit(train)
    X = pipeline.transform(train)
    small = {"n_estimators": 20, "inner_folds": 2, "early_stopping_rounds": 5}
    response = ResponseModel(**small).fit(X, response_labels(train.outcomes, ResponseRule()),
                                          pipeline.categorical_features_)
    target = relapse_target(train.outcomes, "pfs")
    relapse = RelapseModel(**small).fit(X, target["time"], target["event"],
                                        pipeline.categorical_features_)
    bundle = save_bundle(work / "model", feature_pipeline=pipeline,
                         heads={"response": response, "relapse": relapse}, input_mapping=None,
                         label_rule={"source": "best_response", "positive": ["CR", "PR"]},
                         horizons=(6, 12), metadata={"name": "tiny"}, probe_cohort=train,
                         training_features=X)
    mlflow.set_tracking_uri(mlflow_server)
    example = synthetic_input_example(train)
    output = load_bundle(bundle).predict(rows_to_cohort(example))
    with tracked_run(uri=mlflow_server, experiment_name="predictor", run_name="train"):
        uri = log_predictor_model(bundle, model_code=PYFUNC_CODE, input_example=example,
                                  output_example=output, registered_model_name=NAME,
                                  manifest_sha256=bundle_manifest_sha256(bundle))
    assert uri == f"models:/{NAME}/1"
    # The registry vouches for the manifest on any machine: its hash is a version tag.
    version = MlflowClient(tracking_uri=mlflow_server).get_model_version(NAME, "1")
    assert version.tags["predictor.manifest_sha256"] == bundle_manifest_sha256(bundle)
    local, _ = simulate_cohort(220, 23)
    write_cbioportal(local, work / "local_study")
    return {"work": work, "uri": uri, "study": work / "local_study", "local": local,
            "server": mlflow_server, "client": MlflowClient(tracking_uri=mlflow_server)}


def test_evaluation_run_is_linked_to_the_model_version(registered: dict) -> None:
    work, client = registered["work"], registered["client"]
    result = _cli(["evaluate", "--model", registered["uri"], "--input",
                   str(registered["study"]), "--output", str(work / "eval"), "--n-boot", "20",
                   "--log"], registered["server"])
    run_id = result.stdout.strip().rsplit("MLflow evaluation run ", 1)[1]
    run = client.get_run(run_id)
    tags = run.data.tags
    assert tags["predictor.run_type"] == "evaluation"
    assert tags["evaluated_model_name"] == NAME and tags["evaluated_model_version"] == "1"
    version = client.get_model_version(NAME, "1")
    assert tags["evaluated_model_run_id"] == version.run_id
    assert version.tags["last_evaluation_run_id"] == run_id
    local_metrics = json.loads((work / "eval" / "metrics.json").read_text())
    # Grouped like a training's metrics (section ``external``); metrics.json keeps its names.
    assert run.data.metrics["external/roc_auc"] == pytest.approx(local_metrics["roc_auc"])
    assert run.data.metrics["external/ece"] == pytest.approx(local_metrics["ece"])
    assert run.data.metrics["baseline/tmb/external/roc_auc"] == pytest.approx(
        local_metrics["baseline_tmb_roc_auc"])
    assert not [k for k in run.data.metrics if "/" not in k]
    from predictor.tracking.metric_names import flat_metrics

    assert set(flat_metrics(run.data.metrics)) == {
        k for k, v in local_metrics.items() if v is not None}
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"report.md", "metrics.json", "plots"} <= names
    # No patient id anywhere in what MLflow holds: params, tags, the logged report.
    ids = {str(i) for i in registered["local"].patient_ids}
    logged = Path(client.download_artifacts(run_id, "report.md", str(work / "dl")))
    text = logged.read_text() + json.dumps(run.data.params) + json.dumps(tags)
    assert not [i for i in ids if i in text]


def test_recalibrated_bundle_is_registered_as_a_new_version(
        registered: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    work, client = registered["work"], registered["client"]
    out = work / "recalibrated"
    result = _cli(["recalibrate", "--model", registered["uri"], "--input",
                   str(registered["study"]), "--output", str(out), "--n-boot", "20",
                   "--register", NAME], registered["server"])
    assert result.stdout.strip().splitlines()[-1] == f"model_uri: models:/{NAME}/2"
    version = client.get_model_version(NAME, "2")
    run = client.get_run(version.run_id)
    assert run.data.tags["predictor.run_type"] == "recalibration"
    assert run.data.tags["parent_model_name"] == NAME
    assert run.data.tags["parent_model_version"] == "1"
    assert run.data.params["method"] == "intercept"
    assert "after_ece" in run.data.metrics and "before_ece" in run.data.metrics
    # The registered version is the new bundle: its manifest names the parent.
    from predictor.serving.bundle import resolve_bundle_dir

    monkeypatch.setenv("MLFLOW_TRACKING_URI", registered["server"])
    folder, download = resolve_bundle_dir(f"models:/{NAME}/2")
    record = yaml.safe_load((folder / "bundle.yaml").read_text())["recalibration"]
    from predictor.serving.trust import bundle_manifest_sha256

    assert version.tags["predictor.manifest_sha256"] == bundle_manifest_sha256(folder)
    shutil.rmtree(download)
    assert record["parent"]["uri"] == registered["uri"]
