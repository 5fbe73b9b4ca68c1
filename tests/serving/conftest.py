"""Shared fixtures for serving tests: tiny LightGBM models trained on synthetic data."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

N_ROWS = 600
N_FEATURES = 6
CAT_FEATURE = 5
SPARSE_FEATURE = 4


def synthetic_matrix(n: int, seed: int) -> np.ndarray:
    """Numeric features with NaN plus one categorical column (codes 0..4, some NaN)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    X[:, CAT_FEATURE] = rng.integers(0, 5, n)
    X[rng.random(n) < 0.5, SPARSE_FEATURE] = 0.0  # many exact zeros: splits at +-1e-35
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


def cox_objective(time: np.ndarray, event: np.ndarray):
    """Cox partial-likelihood gradient/hessian (Breslow, no ties handling needed here)."""
    order = np.argsort(-time, kind="stable")  # descending time: risk set is a prefix

    def objective(preds: np.ndarray, _data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        eta = preds[order]
        w = np.exp(eta - eta.max())
        risk_sum = np.cumsum(w)
        ev = event[order]
        frac = np.cumsum(ev / risk_sum)
        frac2 = np.cumsum(ev / risk_sum**2)
        grad = w * frac - ev
        hess = np.maximum(w * frac - w**2 * frac2, 1e-6)
        out_g, out_h = np.empty_like(grad), np.empty_like(hess)
        out_g[order], out_h[order] = grad, hess
        return out_g, out_h

    return objective


@pytest.fixture(scope="session")
def train_matrix() -> np.ndarray:
    return synthetic_matrix(N_ROWS, seed=1)


@pytest.fixture(scope="session")
def binary_model_txt(tmp_path_factory: pytest.TempPathFactory, train_matrix) -> Path:
    rng = np.random.default_rng(2)
    X = train_matrix
    logit = (np.nan_to_num(X[:, 0]) - 0.5 * np.nan_to_num(X[:, 1]) + (X[:, CAT_FEATURE] == 2)
             + (X[:, SPARSE_FEATURE] > 0) - (X[:, SPARSE_FEATURE] < 0))
    y = (logit + rng.normal(size=len(X)) > 0.3).astype(float)
    data = lgb.Dataset(X, y, categorical_feature=[CAT_FEATURE], free_raw_data=False)
    booster = lgb.train({"objective": "binary", "num_leaves": 8, "verbose": -1,
                         "min_data_per_group": 5, "cat_smooth": 1}, data, num_boost_round=25)
    path = tmp_path_factory.mktemp("binary") / "model.txt"
    booster.save_model(str(path))
    return path


@pytest.fixture(scope="session")
def cox_model_txt(tmp_path_factory: pytest.TempPathFactory, train_matrix) -> Path:
    rng = np.random.default_rng(3)
    X = train_matrix
    hazard = np.exp(0.8 * np.nan_to_num(X[:, 0]) + 0.5 * (X[:, CAT_FEATURE] == 1))
    time = rng.exponential(1 / hazard) * 12
    event = (rng.random(len(X)) < 0.7).astype(float)
    data = lgb.Dataset(X, time, categorical_feature=[CAT_FEATURE], free_raw_data=False)
    params = {"objective": cox_objective(time, event), "num_leaves": 8, "verbose": -1,
              "learning_rate": 0.05, "min_data_per_group": 5}
    booster = lgb.train(params, data, num_boost_round=25)
    path = tmp_path_factory.mktemp("cox") / "model.txt"
    booster.save_model(str(path))
    return path


# ---------------------------------------------------------------------------- full bundle
REPO = Path(__file__).resolve().parents[2]
HORIZONS = (6.0, 12.0, 24.0)


@pytest.fixture(scope="session")
def sim_cohort():
    """A tiny simulated cohort (300 patients) with every table and outcomes."""
    from predictor.data.simulator import simulate_cohort

    cohort, _truth = simulate_cohort(300, 7)
    return cohort


@pytest.fixture(scope="session")
def fitted(sim_cohort):
    """Feature pipeline and both heads fitted with few trees (fast)."""
    import yaml

    from predictor.data.labels import ResponseRule, relapse_target, response_labels
    from predictor.features.pipeline import build_feature_pipeline
    from predictor.models.relapse import RelapseModel
    from predictor.models.response import ResponseModel

    cfg = yaml.safe_load((REPO / "conf/features/default.yaml").read_text())
    cfg["families"]["mutation"]["gene_sets"] = str(REPO / "conf/knowledge/gene_sets.yaml")
    cfg["families"]["mechanism"]["knowledge_base"] = str(REPO / "conf/knowledge/drugs.yaml")
    pipeline = build_feature_pipeline(cfg).fit(sim_cohort)
    X = pipeline.transform(sim_cohort)
    cats = pipeline.categorical_features_
    y = response_labels(sim_cohort.outcomes, ResponseRule())
    target = relapse_target(sim_cohort.outcomes, "pfs")
    # A fixed blend weight: serving must add each head's linear part to the compiled trees.
    small = {"n_estimators": 30, "inner_folds": 2, "early_stopping_rounds": 10,
             "tree_weight": 0.5}
    response = ResponseModel(**small).fit(X, y, cats)
    relapse = RelapseModel(**small, horizons_months=HORIZONS).fit(
        X, target["time"], target["event"], cats)
    return {"pipeline": pipeline, "response": response, "relapse": relapse, "X": X}


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory, fitted, sim_cohort) -> Path:
    from predictor.serving.bundle import save_bundle

    out = tmp_path_factory.mktemp("bundles") / "model"
    save_bundle(out, feature_pipeline=fitted["pipeline"],
                heads={"response": fitted["response"], "relapse": fitted["relapse"]},
                input_mapping=None,
                label_rule={"source": "best_response", "positive": ["CR", "PR"]},
                horizons=HORIZONS, metadata={"fingerprint": sim_cohort.fingerprint()},
                probe_cohort=sim_cohort, training_features=fitted["X"])
    return out


@pytest.fixture(scope="session")
def flat_csv(tmp_path_factory, sim_cohort) -> Path:
    """The cohort's clinical table as a flat CSV in schema names (no outcomes)."""
    from predictor.data.flat import write_flat

    path = tmp_path_factory.mktemp("flat") / "patients.csv"
    write_flat(sim_cohort.without_outcomes(), path)
    return path


def register_bundle(client, bundle_dir: Path, art: Path, experiment: str, name: str):
    """Log ``bundle_dir`` under a new run's ``model/artifacts/bundle`` in ``experiment`` (artifacts
    kept in ``art``) and register that model as a new version of ``name``;
    returns (run, version)."""
    experiment_id = client.create_experiment(experiment, artifact_location=art.as_uri())
    run = client.create_run(experiment_id)
    client.log_artifacts(run.info.run_id, str(bundle_dir), artifact_path="model/artifacts/bundle")
    client.set_terminated(run.info.run_id)
    client.create_registered_model(name)
    source = f"{art.as_uri()}/{run.info.run_id}/artifacts/model"
    return run, client.create_model_version(name, source, run_id=run.info.run_id)
