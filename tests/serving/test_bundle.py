"""Model bundle: round trip, backends agree, integrity checks, URIs, missing features."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from predictor.errors import InputError
from predictor.serving.bundle import load_bundle, save_bundle

from .conftest import HORIZONS, register_bundle

PRED_COLUMNS = ["patient_id", "response_probability", "response_predicted", "relapse_risk",
                "relapse_free_probability_6m", "relapse_free_probability_12m",
                "relapse_free_probability_24m"]


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    return frame.select_dtypes("number").to_numpy(dtype=np.float64)


def test_round_trip_matches_the_fitted_models(bundle_dir, fitted, sim_cohort):
    predictor = load_bundle(str(bundle_dir))
    assert predictor.backend == "compiled"
    out = predictor.predict(sim_cohort)
    assert list(out.columns) == PRED_COLUMNS
    assert out["patient_id"].tolist() == list(sim_cohort.patient_ids)
    X = fitted["X"]
    np.testing.assert_allclose(out["response_probability"], fitted["response"].predict_proba(X),
                               rtol=0, atol=1e-9)
    np.testing.assert_array_equal(out["response_predicted"], fitted["response"].predict(X))
    np.testing.assert_allclose(out["relapse_risk"], fitted["relapse"].predict_risk(X),
                               rtol=0, atol=1e-9)
    rfp = fitted["relapse"].relapse_free_probability(X, HORIZONS)
    np.testing.assert_allclose(out[list(rfp.columns)].to_numpy(), rfp.to_numpy(), rtol=0,
                               atol=1e-9)


def test_compiled_backend_equals_lightgbm(bundle_dir, sim_cohort):
    compiled = load_bundle(bundle_dir, backend="compiled")
    reference = load_bundle(bundle_dir, backend="lightgbm")
    assert (compiled.backend, reference.backend) == ("compiled", "lightgbm")
    a, b = compiled.predict(sim_cohort, explain=2), reference.predict(sim_cohort, explain=2)
    assert list(a.columns) == list(b.columns)
    np.testing.assert_allclose(_numeric(a), _numeric(b), rtol=0, atol=1e-9)
    assert (a["top1_feature"] == b["top1_feature"]).all()


@pytest.fixture(scope="module")
def zero_sensitive_bundle(tmp_path_factory, fitted, sim_cohort):
    """A bundle whose trees split between negative values and 0 (threshold -1e-35), where
    LightGBM's snapping of tiny values changes decisions. Whether the shared fixture's trees
    have such a split depends on the simulated data, so this one is made to have it: one
    column is -1 for responders (and patients progressing late) and 0 otherwise."""
    from predictor.data.labels import ResponseRule, relapse_target, response_labels
    from predictor.models.relapse import RelapseModel
    from predictor.models.response import ResponseModel

    X = fitted["X"].copy()
    cats = fitted["pipeline"].categorical_features_
    column = next(c for c in X.columns if c not in cats and X[c].nunique() > 10)
    y = response_labels(sim_cohort.outcomes, ResponseRule())
    target = relapse_target(sim_cohort.outcomes, "pfs")
    good = (y.reindex(X.index) == 1).to_numpy() | (target["time"].reindex(X.index) > 6).to_numpy()
    X[column] = np.where(good, -1.0, 0.0)
    small = {"n_estimators": 30, "inner_folds": 2, "early_stopping_rounds": 10,
             "tree_weight": 0.5}
    response = ResponseModel(**small).fit(X, y, cats)
    relapse = RelapseModel(**small, horizons_months=HORIZONS).fit(
        X, target["time"], target["event"], cats)
    out = tmp_path_factory.mktemp("zero_sensitive") / "model"
    save_bundle(out, feature_pipeline=fitted["pipeline"],
                heads={"response": response, "relapse": relapse}, input_mapping=None,
                label_rule={"source": "best_response", "positive": ["CR", "PR"]},
                horizons=HORIZONS, metadata={"fingerprint": sim_cohort.fingerprint()},
                probe_cohort=sim_cohort, training_features=X)
    return out, X


def test_backends_agree_on_tiny_values(zero_sensitive_bundle):
    """LightGBM reads |x| <= 1e-35 as 0: the compiled path must too (zero-count features)."""
    bundle, X = zero_sensitive_bundle
    X = X.copy()
    zeros = X.to_numpy() == 0.0
    assert zeros.any()
    # 1e-36, -1e-36 and -k in turn, k = LightGBM's zero threshold (the float32 1e-35, a little
    # above the double 1e-35): LightGBM reads each as 0. A split between negatives and 0 is
    # stored at threshold -k, so -k itself goes left (x <= -k) unless snapped.
    k = float(np.float32(1e-35))
    rows, cols = np.indices(zeros.shape)
    turn = (rows + cols) % 3  # every column gets all three (a flat index % 3 need not)
    tiny = np.where(zeros, np.choose(turn, [1e-36, -1e-36, -k]), X.to_numpy())
    X.loc[:, :] = tiny
    compiled = load_bundle(bundle, backend="compiled")
    assert any(h.scorer.snap for h in (compiled.response, compiled.relapse))
    a = compiled.predict_frame(X, check_inputs=False)
    b = load_bundle(bundle, backend="lightgbm").predict_frame(X, check_inputs=False)
    np.testing.assert_allclose(_numeric(a), _numeric(b), rtol=0, atol=1e-9)


def test_manifest_records_hashes_and_inputs(bundle_dir):
    manifest = yaml.safe_load((bundle_dir / "bundle.yaml").read_text())
    assert {"response/model.txt", "relapse/model.txt", "features.json"} <= set(manifest["files"])
    assert manifest["horizons_months"] == list(HORIZONS)
    assert 0.0 <= manifest["threshold"] <= 1.0
    assert manifest["compiled"]["relapse"]["backend"] == "compiled"
    expected = manifest["expected_inputs"]
    assert "tme" in expected["tables"] and expected["tables"]["tme"]
    assert "cohort" not in expected["columns"]  # not a feature input
    assert set(expected["columns"]["albumin"]) <= set(manifest["feature_names"])
    side = json.loads((bundle_dir / "compiled" / "relapse.json").read_text())
    assert side["objective_patched"] is True  # Cox model: custom objective, raw scores


def test_tampered_bundle_is_refused(bundle_dir, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir, copy)
    calibration = copy / "response" / "calibration.json"
    calibration.write_text(calibration.read_text().replace("isotonic", "sigmoid"))
    with pytest.raises(InputError, match="sha256"):
        load_bundle(copy)


@pytest.mark.parametrize("content, message", [
    (b"format: predictor-bundle\nname: \xff\n", "cannot read the bundle manifest"),
    (b"- a list\n", "not a predictor-bundle manifest"),
    (b"format: other\n", "not a predictor-bundle manifest"),
], ids=["not-utf8", "not-a-mapping", "other-format"])
def test_an_unreadable_manifest_is_one_line_naming_it(tmp_path, content, message):
    from predictor.serving.bundle import read_manifest

    (tmp_path / "bundle.yaml").write_bytes(content)
    with pytest.raises(InputError, match=message) as raised:
        read_manifest(tmp_path)
    assert str(raised.value.file) == str(tmp_path / "bundle.yaml")
    assert "\n" not in str(raised.value)


def test_save_is_atomic_and_refuses_overwrite(fitted, tmp_path):
    kwargs = {"feature_pipeline": fitted["pipeline"], "heads": {"response": fitted["response"]},
              "label_rule": None,
              "input_mapping": {"id_column": "ID", "value_maps": {"sex": {1: "Male"}}},
              "horizons": None, "compile": False}
    out = tmp_path / "only_response"
    save_bundle(out, **kwargs)
    with pytest.raises(InputError, match="not empty"):
        save_bundle(out, **kwargs)
    save_bundle(out, overwrite=True, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only_response"]  # no temp dir left
    manifest = yaml.safe_load((out / "bundle.yaml").read_text())
    assert manifest["heads"] == ["response"] and manifest["input_mapping"]["id_column"] == "ID"
    assert manifest["input_mapping"]["value_maps"]["sex"] == {1: "Male"}  # int keys kept
    assert not (out / "compiled").exists()
    assert (out.stat().st_mode & 0o777) == 0o755
    assert ((out / "bundle.yaml").stat().st_mode & 0o777) == 0o644
    other = tmp_path / "user_folder"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"holds no bundle\.yaml"):
        save_bundle(other, overwrite=True, **kwargs)
    assert (other / "notes.txt").read_text() == "mine"


def test_bundle_without_relapse_head_omits_its_columns(fitted, tmp_path, sim_cohort,
                                                        monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = save_bundle(tmp_path / "b", feature_pipeline=fitted["pipeline"],
                      heads={"response": fitted["response"]},
                      input_mapping=None, label_rule=None, horizons=None, compile=False)
    predictor = load_bundle(out)  # no compiled/ folder: compiled into the user cache
    assert predictor.backend == "compiled"
    assert any((tmp_path / "cache").rglob("*.o"))
    frame = predictor.predict(sim_cohort.subset(sim_cohort.patient_ids[:20]))
    assert list(frame.columns) == ["patient_id", "response_probability", "response_predicted"]


def test_explain_gives_top_contributions(bundle_dir, fitted, sim_cohort):
    predictor = load_bundle(bundle_dir)
    k = 3
    out = predictor.predict(sim_cohort, explain=k)
    names = predictor.response.feature_names
    # Contributions of the blended head (trees' TreeSHAP and linear terms, weighted alike).
    contrib = fitted["response"].contributions(fitted["X"][names]).drop(columns="bias")
    for j in range(1, k + 1):
        assert out[f"top{j}_feature"].isin(names).all()
    values = out[[f"top{j}_contribution" for j in range(1, k + 1)]].abs().to_numpy()
    assert (np.diff(values, axis=1) <= 1e-15).all()  # sorted by |contribution|
    np.testing.assert_allclose(values[:, 0], np.abs(contrib).max(axis=1), rtol=0, atol=1e-12)


def test_explain_covers_the_relapse_head(bundle_dir, fitted, sim_cohort):
    predictor = load_bundle(bundle_dir)
    k = 2
    out = predictor.predict(sim_cohort, explain=k)
    names = predictor.relapse.feature_names
    assert [c for c in out.columns if c.startswith("relapse_top")] == [
        "relapse_top1_feature", "relapse_top1_contribution",
        "relapse_top2_feature", "relapse_top2_contribution"]
    contrib = fitted["relapse"].contributions(fitted["X"][names])
    # The contributions (with the bias) add up to the relapse risk that is output.
    np.testing.assert_allclose(contrib.sum(axis=1), out["relapse_risk"], rtol=0, atol=1e-9)
    top = contrib.drop(columns="bias").to_numpy()
    rows = np.arange(len(top))
    first = [names.index(n) for n in out["relapse_top1_feature"]]
    np.testing.assert_allclose(out["relapse_top1_contribution"], top[rows, first], rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(np.abs(top[rows, first]), np.abs(top).max(axis=1), rtol=0,
                               atol=1e-12)


def test_missing_feature_columns_are_nan_with_one_warning(bundle_dir, fitted, caplog):
    predictor = load_bundle(bundle_dir)
    X = fitted["X"]
    dropped = X.columns[:2].tolist()
    with caplog.at_level(logging.WARNING, logger="predictor.serving"):
        out = predictor.predict_frame(X.drop(columns=dropped))
        predictor.predict_frame(X.drop(columns=dropped))  # second batch: no new warning
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and all(name in warnings[0].getMessage() for name in dropped)
    expected = predictor.predict_frame(X.assign(**{c: np.nan for c in dropped}))
    np.testing.assert_allclose(_numeric(out), _numeric(expected), rtol=0, atol=0)


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory) -> str:
    """One throw-away MLflow store for this module (creating a sqlite store takes seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlruns.db'}"


@pytest.mark.parametrize("uri", ["runs:/0123456789abcdef/model", "models:/no_such_model/1"])
def test_unknown_mlflow_uri_is_input_error(uri, tracking_uri, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    with pytest.raises(InputError, match="resolves to nothing"):
        load_bundle(uri)


def test_missing_local_bundle_is_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_bundle(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no bundle\.yaml"):
        load_bundle(tmp_path / "empty")


def test_runs_uri_resolves_logged_bundle(bundle_dir, tmp_path, monkeypatch, sim_cohort,
                                        tracking_uri):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)  # no global tracking state changed
    experiment = client.create_experiment("serving-test",
                                          artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(experiment)
    client.log_artifacts(run.info.run_id, str(bundle_dir), artifact_path="model/artifacts/bundle")
    client.set_terminated(run.info.run_id)
    predictor = load_bundle(f"runs:/{run.info.run_id}/model")
    out = predictor.predict(sim_cohort.subset(sim_cohort.patient_ids[:10]))
    local = load_bundle(bundle_dir).predict(sim_cohort.subset(sim_cohort.patient_ids[:10]))
    np.testing.assert_allclose(_numeric(out), _numeric(local), rtol=0, atol=1e-12)


def test_default_tracking_store_must_exist(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="no MLflow store"):
        load_bundle("runs:/0123456789abcdef/model")
    assert not (tmp_path / "mlruns.db").exists()  # resolving never creates a store


def test_models_uri_resolves_registered_bundle(bundle_dir, tmp_path, monkeypatch, tracking_uri):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    _, version = register_bundle(client, bundle_dir, tmp_path / "art", "serving-registry",
                                 "serving_test_model")
    # A caller's process-wide MLflow URI (as other tests or notebooks set) must not win over
    # MLFLOW_TRACKING_URI, and must be left as it was.
    from mlflow.tracking._tracking_service import utils as tracking_utils

    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setattr(tracking_utils, "_tracking_uri", other)
    predictor = load_bundle(f"models:/serving_test_model/{version.version}")
    assert predictor.response is not None and predictor.relapse is not None
    assert tracking_utils._tracking_uri == other


def test_a_head_added_to_the_registry_is_saved_served_and_carded(fitted, tmp_path, sim_cohort,
                                                                 monkeypatch):
    """One HEADS entry is all serving needs: bundle, predictions and card follow it."""
    from predictor.models import heads

    monkeypatch.setitem(heads.HEADS, "toxicity", heads.HeadKind(
        "toxicity", heads.BINARY, "predictor.models.response.ResponseModel"))
    out = save_bundle(tmp_path / "b", feature_pipeline=fitted["pipeline"],
                      heads={"toxicity": fitted["response"], "response": fitted["response"]},
                      input_mapping=None, label_rule=None, horizons=None, compile=False)
    manifest = yaml.safe_load((out / "bundle.yaml").read_text())
    assert manifest["heads"] == ["response", "toxicity"]  # registry order
    assert (out / "toxicity" / "model.txt").is_file()
    frame = load_bundle(out, backend="lightgbm").predict(
        sim_cohort.subset(sim_cohort.patient_ids[:20]), explain=1)
    assert list(frame.columns) == [
        "patient_id", "response_probability", "response_predicted", "toxicity_probability",
        "toxicity_predicted", "top1_feature", "top1_contribution", "toxicity_top1_feature",
        "toxicity_top1_contribution"]
    np.testing.assert_array_equal(frame["toxicity_probability"], frame["response_probability"])
    assert "- Toxicity probability (calibrated)" in (out / "MODEL_CARD.md").read_text()
    with pytest.raises(ValueError, match="unknown model head"):
        save_bundle(tmp_path / "c", feature_pipeline=fitted["pipeline"],
                    heads={"death": fitted["relapse"]}, input_mapping=None, label_rule=None,
                    horizons=None, compile=False)
