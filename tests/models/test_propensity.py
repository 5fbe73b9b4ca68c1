"""Regimen propensity: numpy prediction from JSON state, rare regimens, support and overlap,
and the simulator's confounding recovered from the feature pipeline's columns."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from predictor.models.propensity import (
    POOLED,
    RegimenPropensity,
    ipw_weights,
    observed_propensity,
    overlap_report,
    propensity_columns,
)


def confounded(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Two cancer types; drug_a mostly for marker carriers, drug_b otherwise, rare drug_c."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"P{i}" for i in range(n)], name="patient_id")
    cancer = pd.Series(np.where(rng.random(n) < 0.6, "Lung", "Skin"), index=ids)
    marker = (rng.random(n) < 0.4).astype(float)
    X = pd.DataFrame({"drv_marker": marker, "clin_age": rng.normal(60, 10, n),
                      "clin_cancer_type": (cancer == "Skin").astype(float).to_numpy(),
                      "rx_class_a": rng.random(n), "ctdna_landmark": rng.random(n)}, index=ids)
    X.loc[ids[::11], "clin_age"] = np.nan
    p_a = np.where(marker == 1, 0.85, 0.1)
    u = rng.random(n)
    regimen = np.where(u < p_a, "drug_a", "drug_b")
    regimen[(cancer == "Lung").to_numpy() & (rng.random(n) < 0.01)] = "drug_c"
    regimen[:3] = "drug_c"
    cancer.iloc[:3] = "Lung"
    X.iloc[:3, X.columns.get_loc("clin_cancer_type")] = 0.0
    return X, pd.Series(regimen, index=ids), cancer


@pytest.fixture(scope="module")
def fitted():
    X, regimen, cancer = confounded()
    model = RegimenPropensity(min_patients=10).fit(X, regimen, cancer, ["clin_cancer_type"])
    return model, X, regimen, cancer


def test_columns_exclude_what_depends_on_the_regimen():
    assert propensity_columns(["clin_age", "rx_class_a", "drv_egfr", "ctdna_landmark"]) == [
        "clin_age", "drv_egfr"]


def test_fit_uses_regimen_independent_columns_and_pools_rare_regimens(fitted):
    model, X, _, _ = fitted
    assert model.columns_ == ["drv_marker", "clin_age"]
    assert list(model.categories_) == ["clin_cancer_type"]
    assert model.pooled_ == ["drug_c"] and POOLED in model.classes_
    proba = model.predict_proba(X)
    assert list(proba.columns) == ["drug_a", "drug_b", "drug_c"]
    assert proba.index.equals(X.index)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    # the confounder: marker carriers get drug_a far more often
    carriers = X["drv_marker"] == 1
    assert proba.loc[carriers, "drug_a"].mean() > 0.7
    assert proba.loc[~carriers, "drug_a"].mean() < 0.2


def test_regimen_columns_do_not_change_the_propensity(fitted):
    model, X, _, _ = fitted
    changed = X.assign(rx_class_a=0.0, ctdna_landmark=5.0)
    pd.testing.assert_frame_equal(model.predict_proba(X), model.predict_proba(changed))


def test_json_round_trip_predicts_the_same(fitted):
    model, X, _, cancer = fitted
    state = json.loads(json.dumps(model.to_state()))
    again = RegimenPropensity.from_state(state)
    a, b = model.predict_proba(X), again.predict_proba(X)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-12)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(model.supported(a, cancer), again.supported(b, cancer))


def test_a_state_written_with_the_old_seed_param_still_loads(fitted):
    """Bundles written before ``seed`` was dropped hold ``"seed": 0`` in the params of
    ``regimens.json``'s propensity: it loads, is ignored, and predicts the same."""
    model, X, _, cancer = fitted
    state = json.loads(json.dumps(model.to_state()))
    assert "seed" not in state["params"]
    state["params"]["seed"] = 0  # as the earlier code wrote it
    old = RegimenPropensity.from_state(state)
    assert not hasattr(old, "seed") and "seed" not in old.to_state()["params"]
    pd.testing.assert_frame_equal(old.predict_proba(X), model.predict_proba(X))
    pd.testing.assert_frame_equal(old.supported(old.predict_proba(X), cancer),
                                  model.supported(model.predict_proba(X), cancer))


def test_fitting_draws_nothing_so_needs_no_seed():
    X, regimen, cancer = confounded()
    a = RegimenPropensity().fit(X, regimen, cancer, ["clin_cancer_type"]).to_state()
    b = RegimenPropensity().fit(X, regimen, cancer, ["clin_cancer_type"]).to_state()
    assert a == b


def test_predict_tolerates_missing_and_unseen_values(fitted):
    model, X, _, _ = fitted
    odd = X.iloc[:4].drop(columns=["clin_age"]).assign(clin_cancer_type=[np.nan, 7.0, 0.0, 1.0])
    proba = model.predict_proba(odd)
    assert np.isfinite(proba.to_numpy()).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)


def test_supported_needs_the_cancer_type_and_the_floor(fitted):
    model, X, _, cancer = fitted
    proba = model.predict_proba(X)
    support = model.supported(proba, cancer, floor=0.05)
    skin = (cancer == "Skin").to_numpy()
    assert not support.loc[skin, "drug_c"].any()      # never given in Skin
    assert (support.to_numpy() <= (proba.to_numpy() >= 0.05)).all()
    # a higher floor supports fewer regimens
    assert model.supported(proba, cancer, floor=0.5).to_numpy().sum() < support.to_numpy().sum()
    # an unknown cancer type: nothing supported
    assert not model.supported(proba.iloc[:2], pd.Series(["Brain", "Brain"],
                                                         index=proba.index[:2])).any().any()


def test_seen_is_the_cancer_type_part_of_supported(fitted):
    model, X, regimen, cancer = fitted
    proba = model.predict_proba(X)
    seen = model.seen(proba, cancer)
    given = pd.crosstab(cancer, regimen) > 0  # cancer type x regimen given in training
    want = given.reindex(index=cancer.to_numpy(), columns=proba.columns, fill_value=False)
    np.testing.assert_array_equal(seen.to_numpy(), want.to_numpy())
    assert not seen.loc[(cancer == "Skin").to_numpy(), "drug_c"].any()
    for floor in (0.0, 0.05, 0.5):
        np.testing.assert_array_equal(
            model.supported(proba, cancer, floor).to_numpy(),
            seen.to_numpy() & (proba.to_numpy() >= floor))


def test_ipw_weights_finite_normalised_and_clipped(fitted):
    model, X, regimen, _ = fitted
    p = observed_propensity(model.predict_proba(X), regimen)
    assert np.isfinite(p).all()
    w = ipw_weights(p, clip=0.05)
    assert np.isfinite(w).all() and abs(w.mean() - 1.0) < 1e-12
    assert w.max() / w.min() <= 1 / 0.05 + 1e-9
    # unlikely assignments weigh more
    assert w[np.argmin(p)] == w.max()
    w = ipw_weights(np.array([np.nan, 0.5, 0.1]))
    assert np.isfinite(w).all() and abs(w.mean() - 1) < 1e-12
    assert w[1] < w[0] < w[2]   # no regimen: the mean weight of the others


def test_overlap_report_counts_patients_below_threshold():
    proba = pd.DataFrame({"a": [0.9, 0.5, 0.01, 0.04], "b": [0.1, 0.5, 0.99, 0.96]},
                         index=pd.Index(["p1", "p2", "p3", "p4"]))
    cancer = pd.Series(["X", "X", "Y", "Y"], index=proba.index)
    table = overlap_report(proba, threshold=0.05, cancer_type=cancer)
    get = table.set_index(["group", "regimen"])["share_below"]
    assert get[("all", "a")] == 0.5 and get[("all", "b")] == 0.0
    assert get[("X", "a")] == 0.0 and get[("Y", "a")] == 1.0
    assert set(table["group"]) == {"all", "X", "Y"}


def test_simulator_confounding_is_recovered():
    """EGFR-mutant NSCLC patients get osimertinib mostly; wild-type ones rarely."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from predictor import resources
    from predictor.data.simulator import simulate_cohort

    cohort, _ = simulate_cohort(800, seed=12)
    with initialize_config_dir(config_dir=str(resources.config_dir()), version_base="1.3"):
        cfg = compose(config_name="config")
    pipeline = instantiate(cfg.features)
    inputs = cohort.without_outcomes()
    X = pipeline.fit(inputs).transform(inputs)
    clinical = cohort.clinical
    model = RegimenPropensity().fit(X, clinical["regimen"], clinical["cancer_type"],
                                    pipeline.categorical_features_)
    proba = model.predict_proba(X)
    nsclc = (clinical["cancer_type"] == "NSCLC").reindex(X.index).to_numpy()
    egfr = (X["drv_egfr"] == 1).to_numpy()
    tki = [r for r in proba.columns if {"osimertinib", "erlotinib", "gefitinib"}
           & set(r.split("+"))]
    p_tki = proba[tki].sum(axis=1).to_numpy()   # any EGFR TKI regimen
    assert p_tki[nsclc & egfr].mean() > 0.25   # observed share 0.47 (43 patients), shrunk by L2
    assert p_tki[nsclc & egfr].mean() > 4 * p_tki[nsclc & ~egfr].mean()
    assert p_tki[~nsclc].mean() < 0.05   # EGFR TKIs are NSCLC drugs in the simulator


def test_prediction_imports_no_scikit_learn(fitted, tmp_path):
    model, *_ = fitted
    path = tmp_path / "state.json"
    path.write_text(json.dumps(model.to_state()))
    script = (
        "import json, sys, numpy as np, pandas as pd\n"
        "from predictor.models.propensity import RegimenPropensity\n"
        f"m = RegimenPropensity.from_state(json.load(open({str(path)!r})))\n"
        "X = pd.DataFrame({'drv_marker': [1.0, 0.0], 'clin_age': [50.0, 70.0],"
        " 'clin_cancer_type': [0.0, 1.0]})\n"
        "m.predict_proba(X)\n"
        "print(json.dumps(sorted(n.split('.')[0] for n in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    imported = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not imported & {"sklearn", "scipy", "lightgbm"}
