"""Published expression scores (and TMB) as response baselines, scored as published.

Each baseline ranks patients by one column of the feature matrix that
``predictor.features.published_expression`` (or the TMB pass-through) computed with a fixed
formula: ``pub_cyt``, ``pub_gep``, ``pub_cd8_teff``, ``pub_impres``, and TMB. Higher score,
more likely response, as the papers say; no coefficient and no direction is learned.

``predict_proba`` must be a probability for the harness's Brier score and ECE, so the score is
put through a strictly increasing logistic map, ``1 / (1 + exp(-(s - median) / scale))``, whose
median and scale (IQR / 1.349) are the only things ``fit`` records from the training patients.
The map keeps the ranking, so AUCs are those of the published score itself; the Brier score and
ECE of these baselines describe that map, not a calibrated model. A patient without the score
(e.g. a cohort without TMB) gets NaN and is left out of that baseline's metrics.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from predictor.errors import InputError
from predictor.models.checks import check_response

TMB_SCORE_COLUMNS = ("tmb", "pt_tmb", "pt_tmb_nonsynonymous", "TMB")


class PublishedScore:
    """P(response) increasing in one published score column (nothing about it is fitted)."""

    columns: tuple[str, ...] = ()
    label = "published score"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _values(self, X: pd.DataFrame) -> np.ndarray:
        return X[self.column_].to_numpy(dtype=np.float64, na_value=np.nan)

    def fit(self, X: pd.DataFrame, y: Iterable[float], categorical_features=()) -> PublishedScore:
        keep, _ = check_response(X, y)
        present = [c for c in self.columns if c in X.columns]
        if not present:
            raise InputError(f"no {self.label} column in the feature matrix (looked for "
                             f"{', '.join(self.columns)})")
        self.column_ = present[0]
        values = self._values(X)[keep]
        values = values[np.isfinite(values)]
        if not len(values):
            raise InputError(f"no training patient has a {self.label} ({self.column_})")
        low, self.median_, high = np.percentile(values, [25, 50, 75])
        spread = (high - low) / 1.349
        self.scale_ = float(spread) if spread > 0 else float(np.std(values)) or 1.0
        self.median_ = float(self.median_)
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The published score itself (NaN where missing)."""
        return self._values(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        z = (self.score(X) - self.median_) / self.scale_
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-z))


class CytolyticActivity(PublishedScore):
    """Rooney et al. 2015: geometric mean of GZMA and PRF1 TPM (``pub_cyt``)."""

    columns = ("pub_cyt",)
    label = "cytolytic activity"


class TCellInflamedGEP(PublishedScore):
    """Ayers 2017 / Cristescu 2018 T-cell-inflamed GEP with the published weights (``pub_gep``)."""

    columns = ("pub_gep",)
    label = "T-cell-inflamed GEP"


class CD8TEffector(PublishedScore):
    """Mariathasan 2018 CD8 T-effector signature, mean log expression (``pub_cd8_teff``)."""

    columns = ("pub_cd8_teff",)
    label = "CD8 T-effector score"


class Impres(PublishedScore):
    """Auslander 2018 IMPRES, 15 checkpoint gene pairs (``pub_impres``)."""

    columns = ("pub_impres",)
    label = "IMPRES"


class TMBScore(PublishedScore):
    """TMB as it is (higher, more likely response); NaN where a cohort has no TMB."""

    columns = TMB_SCORE_COLUMNS
    label = "TMB"


RESPONSE_BASELINES: dict[str, type] = {
    "cyt": CytolyticActivity,
    "gep": TCellInflamedGEP,
    "cd8_teff": CD8TEffector,
    "impres": Impres,
    "tmb_score": TMBScore,
}
