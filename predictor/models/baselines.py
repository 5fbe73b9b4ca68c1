"""Reference models the heads must beat, with the heads' interface.

Response baselines: ``fit(X, y, categorical_features=())`` / ``predict_proba(X)``.
Relapse baselines: ``fit(X, time, event, categorical_features=())`` / ``predict_risk(X)``.
Rows with a missing label (or time/event) are ignored in ``fit``, as in the heads.
Categorical codes are used as plain numbers here; the baselines are deliberately simple.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sksurv.linear_model import CoxPHSurvivalAnalysis

from predictor.errors import InputError
from predictor.models import lgbm
from predictor.models.checks import TMB_COLUMNS, check_response, check_survival, tmb_column
from predictor.models.published import RF16, Loris, LorisRefit, LorisRisk
from predictor.models.published_expression import RESPONSE_BASELINES as EXPRESSION_BASELINES

__all__ = ["RELAPSE_BASELINES", "RESPONSE_BASELINES", "TMB_COLUMNS", "tmb_column"]

class _Standardiser:
    """Median imputation + standardisation; drops all-missing and constant columns."""

    def fit(self, X: pd.DataFrame) -> _Standardiser:
        matrix = X.to_numpy(dtype=np.float64, na_value=np.nan)
        with warnings.catch_warnings():  # all-NaN columns: median NaN, dropped below
            warnings.simplefilter("ignore", RuntimeWarning)
            self.median_ = np.nanmedian(matrix, axis=0)
        filled = np.where(np.isnan(matrix), self.median_, matrix)
        self.mean_ = filled.mean(axis=0)
        self.scale_ = filled.std(axis=0)
        self.keep_ = np.isfinite(self.median_) & (self.scale_ > 1e-12)
        self.columns_ = [str(c) for c in X.columns]
        if not self.keep_.any():
            raise InputError("every feature is constant or missing; cannot fit a baseline")
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        matrix = lgbm.to_matrix(X, self.columns_)
        filled = np.where(np.isnan(matrix), self.median_, matrix)
        return ((filled - self.mean_) / np.where(self.scale_ > 0, self.scale_, 1.0))[:, self.keep_]


class TMBOnly:
    """P(response) from a logistic regression on log1p(TMB); missing TMB -> training median."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _feature(self, X: pd.DataFrame) -> np.ndarray:
        tmb = X[self.column_].to_numpy(dtype=np.float64, na_value=np.nan)
        tmb = np.where(np.isnan(tmb), self.median_, tmb)
        return np.log1p(np.clip(tmb, 0.0, None)).reshape(-1, 1)

    def fit(self, X: pd.DataFrame, y: Iterable[float], categorical_features=()) -> TMBOnly:
        keep, y_arr = check_response(X, y)
        self.column_ = tmb_column(X)
        values = X[self.column_].to_numpy(dtype=np.float64, na_value=np.nan)[keep]
        self.median_ = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
        self.model_ = LogisticRegression(C=1e4, max_iter=1000).fit(self._feature(X[keep]), y_arr)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._feature(X))[:, 1]


class LogisticBaseline:
    """Median imputation + standardisation + L2 logistic regression, balanced classes."""

    def __init__(self, C: float = 1.0, seed: int = 0) -> None:
        self.C = C
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: Iterable[float], categorical_features=()) -> LogisticBaseline:
        keep, y_arr = check_response(X, y)
        self.prep_ = _Standardiser().fit(X[keep])
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        self.model_.fit(self.prep_.transform(X[keep]), y_arr)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self.prep_.transform(X))[:, 1]


class RandomForestBaseline:
    """Median imputation + random forest (probabilities are not calibrated)."""

    def __init__(self, n_estimators: int = 300, min_samples_leaf: int = 5, seed: int = 0,
                 n_jobs: int = 2) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: Iterable[float],
            categorical_features=()) -> RandomForestBaseline:
        keep, y_arr = check_response(X, y)
        self.prep_ = _Standardiser().fit(X[keep])
        self.model_ = RandomForestClassifier(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            random_state=self.seed, n_jobs=self.n_jobs)
        self.model_.fit(self.prep_.transform(X[keep]), y_arr)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self.prep_.transform(X))[:, 1]


PDL1_COLUMNS = ("pdl1", "pt_pdl1_score", "pt_pdl1_tps", "pt_pdl1", "PDL1_TPS", "PDL1_SCORE")


def pdl1_column(X: pd.DataFrame) -> str:
    """The PD-L1 column the PD-L1 baseline uses: the first of ``PDL1_COLUMNS`` present."""
    for name in PDL1_COLUMNS:
        if name in X.columns:
            return name
    raise InputError("no PD-L1 column for the PD-L1 baseline (looked for "
                     f"{', '.join(PDL1_COLUMNS)})")


class PDL1Only:
    """P(response) from a logistic regression on the PD-L1 score (tumour proportion, 0-100).

    Missing PD-L1 is **not imputed**: those patients get a NaN probability, so the harness
    scores this baseline on the labelled patients *with* a PD-L1 score only (its ``n_labelled``
    metric says how many). That is the honest "PD-L1 alone" reference: imputing the median
    would give a large block of tied scores and measure the missingness pattern instead.
    Fitting needs at least one responder and one non-responder with a score.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: Iterable[float], categorical_features=()) -> PDL1Only:
        keep, y_arr = check_response(X, y)
        self.column_ = pdl1_column(X)
        values = X[self.column_].to_numpy(dtype=np.float64, na_value=np.nan)[keep]
        scored = ~np.isnan(values)
        if len(np.unique(y_arr[scored])) < 2:
            raise InputError("too few patients with a PD-L1 score to fit the PD-L1 baseline")
        self.model_ = LogisticRegression(C=1e4, max_iter=1000).fit(
            values[scored].reshape(-1, 1), y_arr[scored])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        values = X[self.column_].to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.full(len(values), np.nan)
        scored = ~np.isnan(values)
        if scored.any():
            out[scored] = self.model_.predict_proba(values[scored].reshape(-1, 1))[:, 1]
        return out


class TMBRisk:
    """Relapse risk = -log1p(TMB): higher TMB, later relapse under immunotherapy."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: pd.DataFrame, time: Iterable[float], event: Iterable[float],
            categorical_features=()) -> TMBRisk:
        keep, _, _ = check_survival(X, time, event)
        self.column_ = tmb_column(X)
        values = X[self.column_].to_numpy(dtype=np.float64, na_value=np.nan)[keep]
        self.median_ = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
        return self

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        tmb = X[self.column_].to_numpy(dtype=np.float64, na_value=np.nan)
        tmb = np.where(np.isnan(tmb), self.median_, tmb)
        return -np.log1p(np.clip(tmb, 0.0, None))


class CoxPHBaseline:
    """Ridge-penalised Cox model on imputed, standardised features (collinearity-safe)."""

    def __init__(self, alpha: float = 1.0, seed: int = 0) -> None:
        self.alpha = alpha
        self.seed = seed

    def fit(self, X: pd.DataFrame, time: Iterable[float], event: Iterable[float],
            categorical_features=()) -> CoxPHBaseline:
        keep, t, e = check_survival(X, time, event)
        if e.sum() < 1:
            raise InputError("no relapse events; cannot fit a Cox baseline")
        self.prep_ = _Standardiser().fit(X[keep])
        target = np.empty(len(t), dtype=[("event", bool), ("time", np.float64)])
        target["event"], target["time"] = e, t
        self.model_ = CoxPHSurvivalAnalysis(alpha=self.alpha, ties="breslow", n_iter=200)
        self.model_.fit(self.prep_.transform(X[keep]), target)
        return self

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict(self.prep_.transform(X))


RESPONSE_BASELINES: dict[str, type] = {
    "tmb_only": TMBOnly,
    "logistic": LogisticBaseline,
    "random_forest": RandomForestBaseline,
    "pdl1_only": PDL1Only,
    "loris": Loris,
    "loris_refit": LorisRefit,
    "rf16": RF16,
    **EXPRESSION_BASELINES,  # published expression scores and TMB, unfitted
}
RELAPSE_BASELINES: dict[str, type] = {
    "tmb_risk": TMBRisk,
    "coxph": CoxPHBaseline,
    "loris_risk": LorisRisk,
}
