"""Published immunotherapy predictors, as baselines with the heads' interface.

**LORIS** (logistic regression-based immunotherapy-response score), pan-cancer version with
the published coefficients of Chang et al., "LORIS robustly predicts patient outcomes with
immune checkpoint blockade therapy using common clinical, pathologic and genomic features",
Nature Cancer (2024), and its public code::

    LORIS = 1 / (1 + exp(-S))
    S = 0.0371 * min(TMB, 50) - 0.8775 * PSTH + 0.5382 * Albumin - 0.033 * min(NLR, 25)
        + 0.0049 * min(Age, 85) + CTCT - 2.0886

PSTH is the systemic-therapy history (chemotherapy or targeted therapy before ICB, 0/1), CTCT
the cancer-type term (:data:`LORIS_CANCER_TERMS`; 0 for other types). Nothing is learned from
our data: ``fit`` only records training medians to fill a missing input (a cohort without
albumin still gets a score). As a relapse score, :class:`LorisRisk` returns ``-S`` (a higher
LORIS means a better prognosis).

**RF16** (Chowell et al., "Improved prediction of immune checkpoint blockade efficacy across
multiple cancer types", Nature Biotechnology 40, 499-506, 2022): a random forest on 16
features (cancer type, albumin, HED, TMB, FCNA, BMI, NLR, platelets, haemoglobin, stage, age,
drug class, systemic therapy history, HLA-I LOH, MSI, sex), retrained on our training data
with the hyperparameters of the RF16 re-implementation in the LORIS code (``RF16_NBT``:
1000 trees, ``max_depth=8``, ``min_samples_leaf=20``, ``min_samples_split=2``, TMB/NLR/Age
truncated at 50/25/85 as there). Cancer type enters as an integer code, as in that code.

**LORIS refit** (:class:`LorisRefit`): the LORIS *recipe* refitted on our training patients
(the LORIS code's ``LLR6``: standardised LORIS inputs and cancer-type indicators, L1 logistic
regression, ``C=0.1``, balanced classes). The published coefficients were fitted on the
Chowell training patients, so in cross-validation on those patients the published LORIS is
scored in-sample; the refit, fitted inside each fold, is its honest cross-validated counterpart.

Both read the feature matrix built by ``conf/features/chowell.yaml``: ``tmb``,
``clin_prior_systemic_therapy``, ``sys_albumin``, ``sys_nlr``, ``clin_age``, the one-hot
``clin_cancer_type_<name>`` columns (``ClinicalFeatures(cancer_type_onehot=True)``), ``pt_*``
pass-through columns and the regimen classes ``rx_class_anti_pd1`` / ``rx_class_anti_pdl1`` /
``rx_class_anti_ctla4``. A column absent from the matrix or missing for a patient is filled
with the training median.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from predictor.errors import InputError
from predictor.features.base import safe_name
from predictor.models.checks import TMB_COLUMNS, check_response, check_survival

log = logging.getLogger(__name__)

# Published pan-cancer LORIS (Chang et al., Nature Cancer 2024).
LORIS_INTERCEPT = -2.0886
LORIS_COEFFICIENTS = {"tmb": 0.0371, "psth": -0.8775, "albumin": 0.5382, "nlr": -0.033,
                      "age": 0.0049}
LORIS_CAPS = {"tmb": 50.0, "nlr": 25.0, "age": 85.0}
LORIS_CANCER_TERMS = {
    "Bladder": -0.3323, "Breast": -0.3323, "Colorectal": -0.102, "Endometrial": -0.0079,
    "Esophageal": 0.55, "Gastric": 0.2306, "Head&Neck": 0.0678, "Hepatobiliary": -0.1189,
    "Melanoma": -0.0086, "Mesothelioma": 0.1255, "NSCLC": 0.0008, "Ovarian": -0.052,
    "Pancreatic": -1.1169, "Renal": 0.5451, "Sarcoma": 0.0542, "SCLC": -0.0033,
}
ONEHOT_PREFIX = "clin_cancer_type_"
# Our feature name(s) of each LORIS input, first found wins.
LORIS_INPUTS = {
    "tmb": TMB_COLUMNS,
    "psth": ("clin_prior_systemic_therapy", "pt_systemic_therapy_history"),
    "albumin": ("sys_albumin", "pt_albumin"),
    "nlr": ("sys_nlr", "pt_nlr"),
    "age": ("clin_age", "pt_age"),
}

# RF16 (Chowell et al. 2022): feature -> our column name(s); "drug" is derived from rx_class_*.
RF16_INPUTS = {
    "cancer_type": ("clin_cancer_type",),
    "albumin": ("sys_albumin", "pt_albumin"),
    "hed": ("pt_hed",),
    "tmb": TMB_COLUMNS,
    "fcna": ("pt_fcna",),
    "bmi": ("pt_bmi",),
    "nlr": ("sys_nlr", "pt_nlr"),
    "platelets": ("pt_platelets",),
    "hgb": ("pt_hgb",),
    "stage": ("pt_stage",),
    "age": ("clin_age", "pt_age"),
    "drug": (),
    "psth": ("clin_prior_systemic_therapy", "pt_systemic_therapy_history"),
    "hla_loh": ("pt_hla_loh",),
    "msi": ("pt_msi",),
    "sex": ("clin_sex", "pt_sex"),
}
RF16_CAPS = LORIS_CAPS
RF16_PARAMS = {"n_estimators": 1000, "max_depth": 8, "min_samples_leaf": 20,
               "min_samples_split": 2}
ANTI_PD1 = ("rx_class_anti_pd1", "rx_class_anti_pdl1")
ANTI_CTLA4 = "rx_class_anti_ctla4"


def _first(X: pd.DataFrame, names: Iterable[str]) -> str | None:
    for name in names:
        if name in X.columns:
            return name
    return None


def _column(X: pd.DataFrame, names: Iterable[str]) -> np.ndarray:
    """The first present column of ``names`` as float64, all NaN when none is present."""
    name = _first(X, names)
    if name is None:
        return np.full(len(X), np.nan)
    return X[name].to_numpy(dtype=np.float64, na_value=np.nan)


def _finite_median(values: np.ndarray, default: float = 0.0) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else default


def drug_class_code(X: pd.DataFrame) -> np.ndarray:
    """Chowell's ``Drug`` code from the regimen classes: 0 anti-PD-(L)1, 1 anti-PD-(L)1 +
    anti-CTLA-4, 2 anti-CTLA-4 alone; NaN when the regimen is unknown."""
    pd1 = np.vstack([_column(X, (n,)) for n in ANTI_PD1])
    has_pd1 = np.where(np.isnan(pd1).all(axis=0), np.nan, np.nansum(pd1 > 0, axis=0) > 0)
    ctla4 = _column(X, (ANTI_CTLA4,))
    code = np.where(ctla4 > 0, np.where(has_pd1 > 0, 1.0, 2.0), 0.0)
    return np.where(np.isnan(ctla4) & np.isnan(has_pd1), np.nan, code)


def cancer_terms(X: pd.DataFrame) -> np.ndarray:
    """LORIS's cancer-type term of each patient from the one-hot ``clin_cancer_type_*``
    columns (0 for a type without a published term, an unseen or a missing type)."""
    terms = {safe_name(k): v for k, v in LORIS_CANCER_TERMS.items()}
    out = np.zeros(len(X))
    for column in X.columns:
        name = str(column)
        if not name.startswith(ONEHOT_PREFIX):
            continue
        term = terms.get(name[len(ONEHOT_PREFIX):])
        if term is None:
            continue
        flag = X[column].to_numpy(dtype=np.float64, na_value=np.nan)
        out += term * np.where(np.isnan(flag), 0.0, flag)
    return out


class Loris:
    """P(response) by the published pan-cancer LORIS formula (no coefficient is refitted)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _check_inputs(self, X: pd.DataFrame) -> None:
        if _first(X, LORIS_INPUTS["tmb"]) is None:
            raise InputError("LORIS needs a TMB column (tmb)")
        if not any(str(c).startswith(ONEHOT_PREFIX) for c in X.columns):
            log.warning("LORIS without cancer types: the feature matrix has no one-hot "
                        "clin_cancer_type_<name> columns (conf/features/chowell.yaml turns "
                        "them on), so the cancer-type term is 0 for every patient")

    def _fit_medians(self, X: pd.DataFrame) -> None:
        self._check_inputs(X)
        self.medians_ = {name: _finite_median(_column(X, names))
                         for name, names in LORIS_INPUTS.items()}

    def fit(self, X: pd.DataFrame, y: Iterable[float], categorical_features=()) -> Loris:
        keep, _ = check_response(X, y)
        self._fit_medians(X[keep])
        return self

    def fit_inputs(self, X: pd.DataFrame) -> Loris:
        """Only the medians that fill missing inputs, from ``X`` without labels (scoring a
        cohort whose labels must not be used, e.g. an external evaluation)."""
        self._fit_medians(X)
        return self

    def linear_predictor(self, X: pd.DataFrame) -> np.ndarray:
        """S of the formula (the log-odds of response)."""
        s = np.full(len(X), LORIS_INTERCEPT) + cancer_terms(X)
        for name, coefficient in LORIS_COEFFICIENTS.items():
            values = _column(X, LORIS_INPUTS[name])
            values = np.where(np.isnan(values), self.medians_[name], values)
            if name in LORIS_CAPS:
                values = np.minimum(values, LORIS_CAPS[name])
            s += coefficient * values
        return s

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.linear_predictor(X)))


class LorisRisk(Loris):
    """Relapse risk ``-S`` of the published LORIS formula (higher LORIS, longer survival)."""

    def fit(self, X: pd.DataFrame, time: Iterable[float], event: Iterable[float],  # type: ignore[override]
            categorical_features=()) -> LorisRisk:
        keep, _, _ = check_survival(X, time, event)
        self._fit_medians(X[keep])
        return self

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        return -self.linear_predictor(X)


class LorisRefit(Loris):
    """The LORIS recipe (``LLR6`` of the LORIS code) refitted on the training patients."""

    def __init__(self, seed: int = 0, C: float = 0.1) -> None:
        self.seed = seed
        self.C = C

    def _design(self, X: pd.DataFrame) -> np.ndarray:
        columns = []
        for name in LORIS_COEFFICIENTS:
            values = _column(X, LORIS_INPUTS[name])
            values = np.where(np.isnan(values), self.medians_[name], values)
            columns.append(np.minimum(values, LORIS_CAPS[name]) if name in LORIS_CAPS
                           else values)
        for column in self.cancer_columns_:
            flag = _column(X, (column,))
            columns.append(np.where(np.isnan(flag), 0.0, flag))
        return np.column_stack(columns)

    def fit(self, X: pd.DataFrame, y: Iterable[float], categorical_features=()) -> LorisRefit:
        keep, y_arr = check_response(X, y)
        self._fit_medians(X[keep])
        self.cancer_columns_ = [str(c) for c in X.columns if str(c).startswith(ONEHOT_PREFIX)]
        design = self._design(X[keep])
        self.scaler_ = StandardScaler().fit(design)
        self.model_ = LogisticRegression(C=self.C, l1_ratio=1.0, solver="saga",
                                         class_weight="balanced", max_iter=5000,
                                         random_state=self.seed)
        self.model_.fit(self.scaler_.transform(design), y_arr)
        return self

    def linear_predictor(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.decision_function(self.scaler_.transform(self._design(X)))


class RF16:
    """Chowell et al.'s RF16 random forest, refitted on the training patients."""

    def __init__(self, seed: int = 0, n_jobs: int = 2, **params) -> None:
        self.seed = seed
        self.n_jobs = n_jobs
        self.params = {**RF16_PARAMS, **params}

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        columns = []
        for name, names in RF16_INPUTS.items():
            values = drug_class_code(X) if name == "drug" else _column(X, names)
            if name in RF16_CAPS:
                values = np.minimum(values, RF16_CAPS[name])
            columns.append(values)
        return np.column_stack(columns)

    def _filled(self, X: pd.DataFrame) -> np.ndarray:
        matrix = self._matrix(X)
        return np.where(np.isnan(matrix), self.medians_, matrix)

    def fit(self, X: pd.DataFrame, y: Iterable[float], categorical_features=()) -> RF16:
        keep, y_arr = check_response(X, y)
        matrix = self._matrix(X[keep])
        present = np.isfinite(matrix).any(axis=0)
        if not present.any():
            raise InputError("RF16 found none of its 16 features in the feature matrix")
        self.features_present_ = [n for n, p in zip(RF16_INPUTS, present, strict=True) if p]
        self.medians_ = np.array([_finite_median(matrix[:, j]) for j in range(matrix.shape[1])])
        self.model_ = RandomForestClassifier(random_state=self.seed, n_jobs=self.n_jobs,
                                             **self.params)
        self.model_.fit(np.where(np.isnan(matrix), self.medians_, matrix), y_arr)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._filled(X))[:, 1]
