"""Published predictors: the LORIS formula, its refit, RF16, and the one-hot cancer types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictor.data.cohort import Cohort
from predictor.errors import InputError
from predictor.evaluation import metrics as M
from predictor.features.clinical import ClinicalFeatures
from predictor.models.baselines import RELAPSE_BASELINES, RESPONSE_BASELINES
from predictor.models.published import (
    LORIS_CANCER_TERMS,
    RF16,
    Loris,
    LorisRefit,
    LorisRisk,
    cancer_terms,
    drug_class_code,
)

REPO = Path(__file__).resolve().parents[2]
TYPES = ["Head & Neck", "Melanoma", "NSCLC", "Pancreatic", "Glioma"]  # Glioma: no LORIS term


def loris_matrix(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A feature matrix in the names of conf/features/chowell.yaml, and a label from LORIS."""
    rng = np.random.default_rng(seed)
    cancer = rng.choice(TYPES, n)
    X = pd.DataFrame({
        "tmb": rng.gamma(1.5, 8.0, n),
        "clin_prior_systemic_therapy": rng.integers(0, 2, n).astype(float),
        "sys_albumin": rng.normal(3.9, 0.4, n),
        "sys_nlr": rng.gamma(2.0, 3.0, n),
        "clin_age": rng.uniform(30, 95, n),
    })
    for name, column in (("Head & Neck", "head_neck"), ("Melanoma", "melanoma"),
                         ("NSCLC", "nsclc"), ("Pancreatic", "pancreatic"),
                         ("Glioma", "glioma")):
        X[f"clin_cancer_type_{column}"] = (cancer == name).astype(float)
    X["clin_cancer_type"] = pd.Categorical(cancer, categories=sorted(TYPES)).codes.astype(float)
    s = reference_s(X, cancer)
    y = (rng.random(n) < 1 / (1 + np.exp(-3 * s))).astype(float)
    return X, y


def reference_s(X: pd.DataFrame, cancer: np.ndarray) -> np.ndarray:
    """The published formula written out term by term (Chang et al., Nature Cancer 2024)."""
    terms = {"Head & Neck": 0.0678, "Melanoma": -0.0086, "NSCLC": 0.0008, "Pancreatic": -1.1169}
    return (0.0371 * np.minimum(X["tmb"], 50) - 0.8775 * X["clin_prior_systemic_therapy"]
            + 0.5382 * X["sys_albumin"] - 0.033 * np.minimum(X["sys_nlr"], 25)
            + 0.0049 * np.minimum(X["clin_age"], 85)
            + np.array([terms.get(c, 0.0) for c in cancer]) - 2.0886).to_numpy()


def test_loris_is_the_published_formula() -> None:
    X, y = loris_matrix()
    cancer = np.array(TYPES)[[int(np.argmax(row)) for row in
                              X[[f"clin_cancer_type_{c}" for c in
                                 ("head_neck", "melanoma", "nsclc", "pancreatic", "glioma")]]
                              .to_numpy()]]
    model = Loris().fit(X, y)
    s = reference_s(X, cancer)
    np.testing.assert_allclose(model.linear_predictor(X), s, atol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X), 1 / (1 + np.exp(-s)), atol=1e-12)
    risk = LorisRisk().fit(X, np.ones(len(X)), np.ones(len(X)))
    np.testing.assert_allclose(risk.predict_risk(X), -s, atol=1e-12)


def test_loris_fills_missing_inputs_with_training_medians() -> None:
    X, y = loris_matrix()
    model = Loris().fit(X, y)
    without = X.drop(columns=["sys_albumin"])
    filled = X.assign(sys_albumin=float(np.median(X["sys_albumin"])))
    np.testing.assert_allclose(model.predict_proba(without), model.predict_proba(filled))
    holes = X.copy()
    holes.loc[holes.index[:5], "tmb"] = np.nan
    assert np.isfinite(model.predict_proba(holes)).all()


def test_cancer_terms_match_spellings_and_missing_types() -> None:
    X = pd.DataFrame({"clin_cancer_type_head_neck": [1.0, 0.0, np.nan],
                      "clin_cancer_type_sclc": [0.0, 1.0, np.nan]})
    np.testing.assert_allclose(cancer_terms(X), [LORIS_CANCER_TERMS["Head&Neck"],
                                                 LORIS_CANCER_TERMS["SCLC"], 0.0])


def test_loris_without_cancer_type_columns_warns_and_uses_no_cancer_term(
        caplog: pytest.LogCaptureFixture) -> None:
    X, y = loris_matrix()
    model = Loris().fit(X, y)
    thin = X.drop(columns=[c for c in X.columns if c.startswith("clin_cancer_type_")])
    with caplog.at_level("WARNING"):
        without = Loris().fit(thin, y)
    assert "cancer-type term is 0" in caplog.text
    np.testing.assert_allclose(without.linear_predictor(thin),
                               model.linear_predictor(X) - cancer_terms(X))
    with pytest.raises(InputError, match="TMB"):
        Loris().fit(X.drop(columns=["tmb"]), y)


def test_loris_refit_learns_the_same_direction() -> None:
    X, y = loris_matrix(600, seed=3)
    refit = LorisRefit().fit(X, y)
    assert M.roc_auc(y, refit.predict_proba(X)) > 0.7
    assert np.corrcoef(refit.linear_predictor(X), Loris().fit(X, y).linear_predictor(X))[0, 1] > 0.8


def test_drug_class_code_from_regimen_classes() -> None:
    X = pd.DataFrame({"rx_class_anti_pd1": [1.0, 1.0, 0.0, np.nan],
                      "rx_class_anti_ctla4": [0.0, 1.0, 1.0, np.nan]})
    np.testing.assert_array_equal(drug_class_code(X), [0.0, 1.0, 2.0, np.nan])


def test_rf16_fits_and_scores_a_thinner_matrix() -> None:
    X, y = loris_matrix(300, seed=4)
    X["pt_fcna"] = np.random.default_rng(1).random(len(X))
    model = RF16(seed=0, n_jobs=1, n_estimators=50).fit(X, y)
    assert model.params["max_depth"] == 8 and model.params["min_samples_leaf"] == 20
    p = model.predict_proba(X)
    assert ((p >= 0) & (p <= 1)).all() and M.roc_auc(y, p) > 0.7
    thin = model.predict_proba(X.drop(columns=["tmb", "sys_albumin", "clin_cancer_type"]))
    assert np.isfinite(thin).all()


def test_published_models_are_registered() -> None:
    assert RESPONSE_BASELINES["loris"] is Loris and RESPONSE_BASELINES["rf16"] is RF16
    assert RESPONSE_BASELINES["loris_refit"] is LorisRefit
    assert RELAPSE_BASELINES["loris_risk"] is LorisRisk


def test_clinical_one_hot_cancer_types() -> None:
    clinical = pd.DataFrame({"patient_id": ["a", "b", "c", "d"],
                             "cancer_type": ["Head & Neck", "NSCLC", "NSCLC", "Melanoma"]})
    family = ClinicalFeatures(cancer_type_onehot=True).fit(Cohort.from_tables(clinical=clinical))
    assert family.feature_names_[:4] == ["clin_cancer_type", "clin_cancer_type_head_neck",
                                         "clin_cancer_type_melanoma", "clin_cancer_type_nsclc"]
    new = pd.DataFrame({"patient_id": ["x", "y", "z"],
                        "cancer_type": ["NSCLC", "Glioma", None]})
    X = family.transform(Cohort.from_tables(clinical=new, validate=False))
    assert X.loc["x", "clin_cancer_type_nsclc"] == 1.0
    assert X.loc["y", ["clin_cancer_type_head_neck", "clin_cancer_type_melanoma",
                       "clin_cancer_type_nsclc"]].tolist() == [0.0, 0.0, 0.0]
    assert X.loc["z"].isna().all()
    assert "clin_cancer_type_nsclc" not in ClinicalFeatures().fit(
        Cohort.from_tables(clinical=clinical)).feature_names_


# ---------------------------------------------------------------------------- real data
@pytest.mark.shared
def test_loris_reproduces_the_published_test_numbers(shared_data: Path) -> None:
    """README of ../shared/data/chowell_icb: LORIS on test.csv, AUC 0.754, PFS C 0.665,
    OS C 0.677 (computed here through our mapping and feature pipeline)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from predictor.data.readers import read_cohort

    folder = shared_data / "chowell_icb"
    if not (folder / "test.csv").exists():
        pytest.skip("chowell_icb not available")
    mapping = REPO / "conf" / "mappings" / "chowell_icb.yaml"
    train = read_cohort(folder / "train.csv", mapping)
    test = read_cohort(folder / "test.csv", mapping)
    features = OmegaConf.load(REPO / "conf" / "features" / "chowell.yaml")
    pipeline = instantiate(features).fit(train.without_outcomes())
    X = pipeline.transform(test.without_outcomes())
    outcomes = test.outcomes.loc[X.index]
    y = outcomes["responder"].to_numpy(float)
    model = Loris().fit(pipeline.transform(train.without_outcomes()),
                        train.outcomes.loc[train.patient_ids, "responder"].to_numpy(float))
    assert M.roc_auc(y, model.predict_proba(X)) == pytest.approx(0.754, abs=0.005)
    risk = -model.linear_predictor(X)
    pfs = M.harrell_c(outcomes["pfs_months"].to_numpy(float),
                      outcomes["pfs_event"].to_numpy(float), risk)
    os_ = M.harrell_c(outcomes["os_months"].to_numpy(float),
                      outcomes["os_event"].to_numpy(float), risk)
    assert pfs == pytest.approx(0.665, abs=0.005)
    assert os_ == pytest.approx(0.677, abs=0.005)
