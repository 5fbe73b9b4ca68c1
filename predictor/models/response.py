"""Response head: LightGBM binary classifier, optionally blended with a penalised logistic
part (``linear``; penalty and blend weight chosen on the inner folds), with honest
(out-of-fold) calibration (centered isotonic by default: calibrated and ranking-preserving).

Fitting runs an inner stratified K-fold: each fold early-stops on its validation part, which
gives (a) the number of boosting rounds for the final model (mean best iteration) and (b)
out-of-fold raw scores; the logistic part is fitted on the same folds (its penalty chosen by
their out-of-fold AUC) and blended in with weight ``1 - tree_weight``. The calibrator and the
decision threshold are fitted on the blended out-of-fold scores, so neither sees a score from a
model trained on the same patient. The final booster is then refit on all labelled patients
with the chosen number of rounds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.errors import InputError
from predictor.models import lgbm, linear
from predictor.models.calibration import Calibrator, fit_calibrator
from predictor.models.io import read_json, write_json_atomic

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.json"


class ResponseModel(lgbm.BoosterHead):
    """Calibrated P(response) from a feature matrix. Params are set in ``__init__`` only."""

    KIND = "response"
    STATE_FILE = "response.json"

    def __init__(
        self,
        num_leaves: int = 15,
        learning_rate: float = 0.05,
        n_estimators: int = 500,
        min_child_samples: int = 20,
        feature_fraction: float = 0.8,
        bagging_fraction: float = 0.8,
        bagging_freq: int = 1,
        lambda_l2: float = 1.0,
        class_weight: str | None = "balanced",
        early_stopping_rounds: int = 50,
        inner_folds: int = 5,
        monotone_constraints: dict[str, int] | None = None,
        calibration: str | None = "centered_isotonic",
        threshold: str | float = "youden",
        tree_weight: float | str = 0.5,
        linear_C: Sequence[float] | None = None,
        seed: int = 0,
        num_threads: int = 2,
    ) -> None:
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.bagging_freq = bagging_freq
        self.lambda_l2 = lambda_l2
        self.class_weight = class_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.inner_folds = inner_folds
        self.monotone_constraints = monotone_constraints
        self.calibration = calibration
        self.threshold = threshold
        self.tree_weight = tree_weight
        self.linear_C = linear_C
        self.seed = seed
        self.num_threads = num_threads

    def _lgb_params(self, feature_names: list[str], categorical: Sequence[str] = ()) -> dict:
        params = self._booster_params()
        params.update(objective="binary", metric="binary_logloss")
        if self.monotone_constraints:
            unknown = [k for k in self.monotone_constraints if k not in feature_names]
            if unknown:
                raise InputError("monotone constraint names an unknown feature",
                                 column=unknown[0])
            bad = [k for k, v in self.monotone_constraints.items() if v not in (-1, 0, 1)]
            if bad:
                raise InputError("monotone constraint must be -1, 0 or 1", column=bad[0])
            both = [k for k, v in self.monotone_constraints.items() if v and k in categorical]
            if both:
                raise InputError("a categorical feature cannot have a monotone constraint",
                                 column=both[0])
            params["monotone_constraints"] = [
                int(self.monotone_constraints.get(n, 0)) for n in feature_names]
            params["monotone_constraints_method"] = "advanced"
        return params

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        if self.class_weight is None:
            return None
        n, n_pos = len(y), float(y.sum())
        return np.where(y == 1, n / (2.0 * n_pos), n / (2.0 * (n - n_pos)))

    # ------------------------------------------------------------------ fit
    def fit(
        self, X: pd.DataFrame, y: Iterable[float], categorical_features: Iterable[str] = (),
        sample_weight: Iterable[float] | None = None,
    ) -> ResponseModel:
        """Fit on patients with a label; rows whose label is NaN are ignored. ``y`` follows the
        row order of ``X``, or is a Series aligned to ``X`` by index (patient_id).

        ``sample_weight`` (row order of ``X``; positive, finite) multiplies the class weights
        in the trees and the linear part, e.g. inverse regimen propensities. The calibrator
        and the threshold are fitted unweighted: they describe the patients as they are."""
        self._check_params()
        names, cats = lgbm.check_features(X, categorical_features)
        y_arr = lgbm.target_array(X, y, "labels")
        keep = ~np.isnan(y_arr)
        y_arr = y_arr[keep]
        if not np.isin(y_arr, (0.0, 1.0)).all():
            raise InputError("response labels must be 0, 1 or missing")
        matrix = lgbm.to_matrix(X, names)[keep]
        counts = np.bincount(y_arr.astype(int), minlength=2)
        n_folds = lgbm.effective_folds(counts, self.inner_folds, "labelled patients")
        params = self._lgb_params(names, cats)
        params["num_threads"] = lgbm.threads_for(len(y_arr), self.num_threads)
        weights = self._weights(y_arr)
        if sample_weight is not None:
            given = np.asarray(list(sample_weight) if not hasattr(sample_weight, "__len__")
                               else sample_weight, dtype=np.float64).reshape(-1)
            if len(given) != len(keep) or not (np.isfinite(given) & (given > 0)).all():
                raise InputError("sample_weight must hold one positive, finite weight per row")
            given = given[keep]
            weights = given if weights is None else weights * given

        def setup(tr: np.ndarray, va: np.ndarray) -> lgbm.FoldSetup:
            w_tr = None if weights is None else weights[tr]
            w_va = None if weights is None else weights[va]
            train = lgbm.make_dataset(matrix[tr], y_arr[tr], names, cats, params, w_tr)
            valid = lgbm.make_dataset(matrix[va], y_arr[va], names, cats, params, w_va,
                                      reference=train)
            return lgbm.FoldSetup(params=params, train=train, valid=valid)

        import lightgbm as lgb  # fitting only: serving a loaded head never imports them
        from sklearn.model_selection import StratifiedKFold

        folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=self.seed)
                     .split(matrix, y_arr))
        rounds, tree_oof, best = lgbm.choose_rounds(folds, setup, matrix, self.n_estimators,
                                                    self.early_stopping_rounds)

        signs = {names.index(k): int(v) for k, v in (self.monotone_constraints or {}).items()}

        def fit_linear(design: linear.LinearScorer, rows: np.ndarray, C: float):
            w = None if weights is None else weights[rows]
            return linear.fit_logistic(design, matrix[rows], y_arr[rows], w, C, signs)

        blend = linear.choose_blend(
            folds=folds, tree_oof=tree_oof, matrix=matrix, feature_names=names,
            categorical=cats, fit=fit_linear, score=linear.response_score(y_arr),
            tree_weight=self.tree_weight,
            penalties=self.linear_C if self.linear_C is not None else linear.DEFAULT_LOGISTIC_C)
        self.linear_, self.tree_weight_, oof = blend.linear, blend.tree_weight, blend.oof
        self.blend_scores_ = blend.scores
        method = None if self.calibration == "none" else self.calibration
        self.calibrator_ = fit_calibrator(oof, y_arr, method)
        oof_proba = self.calibrator_(oof)
        self.threshold_ = self._choose_threshold(y_arr, oof_proba)
        full = lgbm.make_dataset(matrix, y_arr, names, cats, params, weights)
        self.booster_ = lgb.train(params, full, num_boost_round=rounds)
        lgbm.warn_if_constant(self.booster_, "response", len(y_arr), self.min_child_samples)
        self.best_iteration_ = int(rounds)
        self.inner_best_iterations_ = [int(b) for b in best]
        self.feature_names_ = names
        self.categorical_features_ = cats
        self.oof_raw_score_ = oof
        self.oof_proba_ = oof_proba
        self.n_train_ = len(y_arr)
        self.prevalence_ = float(y_arr.mean())
        log.info("response head: %d patients, %d rounds (inner folds %s), tree weight %.2f, "
                 "threshold %.3f", self.n_train_, rounds, best, self.tree_weight_,
                 self.threshold_)
        return self

    def _fixed_threshold(self) -> float | None:
        """The threshold given as a number (None for Youden); bad values fail before fitting."""
        if self.threshold == "youden":
            return None
        try:  # a number, also as text from a config file
            value = float(self.threshold)
        except (TypeError, ValueError):
            value = float("nan")
        if isinstance(self.threshold, bool) or not 0.0 <= value <= 1.0:
            raise InputError(f"threshold must be 'youden' or a probability in [0, 1], "
                             f"got {self.threshold!r}")
        return value

    def _check_params(self) -> None:
        self._fixed_threshold()
        if self.calibration not in (None, "none", "identity", "centered_isotonic", "isotonic",
                                    "sigmoid"):
            raise InputError(f"unknown calibration {self.calibration!r} "
                             "(use 'centered_isotonic', 'isotonic', 'sigmoid' or none)")
        if self.class_weight not in (None, "balanced"):
            raise InputError(f"unknown class_weight {self.class_weight!r} (use 'balanced' or none)")
        linear.parse_tree_weight(self.tree_weight)
        if int(self.inner_folds) < 2 or int(self.n_estimators) < 1:
            raise InputError("inner_folds must be >= 2 and n_estimators >= 1")

    def _choose_threshold(self, y: np.ndarray, proba: np.ndarray) -> float:
        fixed = self._fixed_threshold()
        return youden_threshold(y, proba) if fixed is None else fixed

    # ------------------------------------------------------------------ predict
    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds (trees, plus the linear part when blended)."""
        return self._booster_raw_score(X)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw scores computed anywhere (e.g. compiled)."""
        self._check_fitted()
        return self.calibrator_(raw)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(response), shape (n,)."""
        return self.calibrate(self.raw_score(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where P(response) >= ``threshold_``, else 0."""
        return (self.predict_proba(X) >= self.threshold_).astype(np.int64)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> Path:
        """Write calibration.json, model.txt, [linear.json] and response.json (atomically)."""
        directory = self._save_dir(directory)
        write_json_atomic(directory / CALIBRATION_FILE, self.calibrator_.to_dict())
        return self._save_common(directory, {"threshold": float(self.threshold_),
                                             "prevalence": self.prevalence_})

    @classmethod
    def load(cls, directory: Path) -> ResponseModel:
        """Rebuild a fitted model from ``save``'s files (no pickle)."""
        model, state = cls._load_common(directory)
        model.calibrator_ = Calibrator.from_dict(read_json(Path(directory) / CALIBRATION_FILE))
        model.threshold_ = float(state["threshold"])
        model.prevalence_ = float(state.get("prevalence", np.nan))
        return model


def youden_threshold(y: np.ndarray, proba: np.ndarray) -> float:
    """Probability cut maximising sensitivity + specificity - 1 (ties: the highest cut)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(y, proba)
    finite = np.isfinite(thresholds)
    j = (tpr - fpr)[finite]
    return float(thresholds[finite][int(np.argmax(j))])
