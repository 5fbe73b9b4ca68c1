"""Relapse head: LightGBM boosted on the Cox partial likelihood, blended with a ridge Cox
model (``linear``; weight ``1 - tree_weight``, penalty chosen by out-of-fold Harrell's C on the
inner folds), with a Breslow baseline.

``predict_risk`` is the head's raw score, the log relative hazard (higher = earlier relapse):
the booster's raw score, blended with the linear part when one was kept (``blend_raw``). The
Breslow baseline is computed from the final raw scores on the training data without centring,
so ``S(t | x) = exp(-H0(t) * exp(raw_score(x)))`` holds for raw scores computed anywhere
(e.g. by the compiled serving core) via ``survival_from_risk``. Beyond the
last training event time the baseline hazard stays flat, so horizons past follow-up are
extrapolations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.errors import InputError
from predictor.models import lgbm, linear
from predictor.models.cox import (
    breslow_cumulative_hazard,
    cox_metric,
    cox_objective,
    cumulative_hazard_at,
)
from predictor.models.heads import RELAPSE, survival_column
from predictor.models.io import read_json, write_json_atomic

log = logging.getLogger(__name__)

BASELINE_FILE = "baseline_hazard.json"


def horizon_column(horizon: float) -> str:
    """Output column for a horizon in months: 6 -> ``relapse_free_probability_6m``."""
    return survival_column(RELAPSE, horizon)


class RelapseModel(lgbm.BoosterHead):
    """Relapse risk and relapse-free probabilities. Params are set in ``__init__`` only."""

    KIND = "relapse"
    STATE_FILE = "relapse.json"

    def __init__(
        self,
        num_leaves: int = 7,
        learning_rate: float = 0.03,
        n_estimators: int = 500,
        min_child_samples: int = 20,
        feature_fraction: float = 0.8,
        bagging_fraction: float = 0.8,
        bagging_freq: int = 1,
        lambda_l2: float = 1.0,
        early_stopping_rounds: int = 50,
        inner_folds: int = 5,
        horizons_months: Sequence[float] = (6, 12, 24),
        tree_weight: float | str = 0.5,
        linear_alpha: Sequence[float] | None = None,
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
        self.early_stopping_rounds = early_stopping_rounds
        self.inner_folds = inner_folds
        self.horizons_months = horizons_months
        self.tree_weight = tree_weight
        self.linear_alpha = linear_alpha
        self.seed = seed
        self.num_threads = num_threads

    def _lgb_params(self) -> dict:
        params = self._booster_params()
        # Cox hessians are small (they sum to about the number of events).
        params.update(metric="None", min_sum_hessian_in_leaf=1e-6)
        return params

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: pd.DataFrame,
        time: Iterable[float],
        event: Iterable[float],
        categorical_features: Iterable[str] = (),
    ) -> RelapseModel:
        """Fit on patients with a time and an event flag; rows missing either are ignored.
        ``time``/``event`` follow the row order of ``X``, or are Series aligned by index."""
        if int(self.inner_folds) < 2 or int(self.n_estimators) < 1:
            raise InputError("inner_folds must be >= 2 and n_estimators >= 1")
        linear.parse_tree_weight(self.tree_weight)
        if any(not float(h) > 0 for h in self.horizons_months):
            raise InputError(f"horizons_months must be positive, got {list(self.horizons_months)}")
        names, cats = lgbm.check_features(X, categorical_features)
        t = lgbm.target_array(X, time, "times")
        e = lgbm.target_array(X, event, "events")
        keep = ~(np.isnan(t) | np.isnan(e))
        t, e = t[keep], e[keep]
        if (t < 0).any():
            raise InputError("relapse times must not be negative")
        if not np.isin(e, (0.0, 1.0)).all():
            raise InputError("relapse events must be 0, 1 or missing")
        matrix = lgbm.to_matrix(X, names)[keep]
        counts = np.bincount(e.astype(int), minlength=2)
        if counts[1] < 2:
            raise InputError(f"too few relapse events to train ({int(counts[1])})")
        n_folds = lgbm.effective_folds(counts, self.inner_folds, "patients per event status")
        base = self._lgb_params()
        base["num_threads"] = lgbm.threads_for(len(t), self.num_threads)

        def setup(tr: np.ndarray, va: np.ndarray) -> lgbm.FoldSetup:
            params = dict(base, objective=cox_objective(t[tr], e[tr]))
            train = lgbm.make_dataset(matrix[tr], t[tr], names, cats, params)
            valid = lgbm.make_dataset(matrix[va], t[va], names, cats, params, reference=train)
            feval = cox_metric({id(valid): (t[va], e[va])})
            return lgbm.FoldSetup(params=params, train=train, valid=valid, feval=feval)

        import lightgbm as lgb  # fitting only: serving a loaded head never imports them
        from sklearn.model_selection import StratifiedKFold

        folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=self.seed)
                     .split(matrix, e))
        rounds, tree_oof, best = lgbm.choose_rounds(folds, setup, matrix, self.n_estimators,
                                                    self.early_stopping_rounds)

        def fit_linear(design: linear.LinearScorer, rows: np.ndarray, alpha: float):
            return linear.fit_cox(design, matrix[rows], t[rows], e[rows], alpha)

        blend = linear.choose_blend(
            folds=folds, tree_oof=tree_oof, matrix=matrix, feature_names=names,
            categorical=cats, fit=fit_linear, score=linear.relapse_score(t, e),
            tree_weight=self.tree_weight,
            penalties=(self.linear_alpha if self.linear_alpha is not None
                       else linear.DEFAULT_COX_ALPHA))
        self.linear_, self.tree_weight_, oof = blend.linear, blend.tree_weight, blend.oof
        self.blend_scores_ = blend.scores
        params = dict(base, objective=cox_objective(t, e))
        full = lgbm.make_dataset(matrix, t, names, cats, params)
        self.booster_ = lgb.train(params, full, num_boost_round=rounds)
        lgbm.warn_if_constant(self.booster_, "relapse", len(t), self.min_child_samples)
        train_risk = self.blend_raw(
            self.booster_.predict(matrix, raw_score=True, num_threads=base["num_threads"]),
            matrix)
        self.event_times_, self.cumulative_hazard_ = breslow_cumulative_hazard(train_risk, t, e)
        self.best_iteration_ = int(rounds)
        self.inner_best_iterations_ = [int(b) for b in best]
        self.feature_names_ = names
        self.categorical_features_ = cats
        self.oof_risk_ = oof
        self.n_train_ = len(t)
        self.n_events_ = int(e.sum())
        self.max_follow_up_ = float(t.max())
        log.info("relapse head: %d patients, %d events, %d rounds (inner folds %s), "
                 "tree weight %.2f", self.n_train_, self.n_events_, rounds, best,
                 self.tree_weight_)
        return self

    # ------------------------------------------------------------------ predict
    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Log relative hazard (trees, plus the linear part when blended); higher = earlier."""
        return self._booster_raw_score(X)

    def baseline_cumulative_hazard(self, times: Sequence[float]) -> np.ndarray:
        """Breslow H0 at ``times`` (months)."""
        self._check_fitted()
        return cumulative_hazard_at(self.event_times_, self.cumulative_hazard_, times)

    def survival_from_risk(self, risk: np.ndarray, times: Sequence[float]) -> np.ndarray:
        """S(t | risk) = exp(-H0(t) exp(risk)), shape (n, len(times)); works on raw scores
        computed elsewhere (the compiled core)."""
        risk = np.asarray(risk, dtype=np.float64).reshape(-1)
        h0 = self.baseline_cumulative_hazard(np.asarray(times, dtype=np.float64).reshape(-1))
        with np.errstate(over="ignore"):
            return np.exp(-np.outer(np.exp(risk), h0))

    def survival_function(self, X: pd.DataFrame, times: Sequence[float]) -> np.ndarray:
        """Relapse-free probability curves, shape (n, len(times)), non-increasing in time."""
        return self.survival_from_risk(self.predict_risk(X), times)

    def relapse_free_from_risk(
        self, risk: np.ndarray, horizons: Sequence[float] | None = None,
        index: pd.Index | None = None,
    ) -> pd.DataFrame:
        """``relapse_free_probability_<H>m`` columns from raw scores."""
        horizons = list(self.horizons_months if horizons is None else horizons)
        surv = self.survival_from_risk(risk, horizons)
        return pd.DataFrame(surv, columns=[horizon_column(h) for h in horizons], index=index)

    def relapse_free_probability(
        self, X: pd.DataFrame, horizons: Sequence[float] | None = None
    ) -> pd.DataFrame:
        """One ``relapse_free_probability_<H>m`` column per horizon (months), index of ``X``."""
        return self.relapse_free_from_risk(self.predict_risk(X), horizons, index=X.index)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> Path:
        """Write baseline_hazard.json, model.txt, [linear.json] and relapse.json (atomically)."""
        directory = self._save_dir(directory)
        write_json_atomic(directory / BASELINE_FILE, {
            "estimator": "breslow",
            "times": [float(x) for x in self.event_times_],
            "cumulative_hazard": [float(x) for x in self.cumulative_hazard_],
            "time_unit": "months",
        })
        return self._save_common(directory, {"n_events": self.n_events_,
                                             "max_follow_up": self.max_follow_up_})

    @classmethod
    def _params_from_state(cls, params: dict) -> dict:
        params["horizons_months"] = tuple(params.get("horizons_months", (6, 12, 24)))
        return params

    @classmethod
    def load(cls, directory: Path) -> RelapseModel:
        """Rebuild a fitted model from ``save``'s files (no pickle)."""
        model, state = cls._load_common(directory)
        baseline = read_json(Path(directory) / BASELINE_FILE)
        times = np.asarray(baseline["times"], dtype=np.float64)
        hazard = np.asarray(baseline["cumulative_hazard"], dtype=np.float64)
        if times.shape != hazard.shape or (np.diff(times) <= 0).any():
            raise InputError("baseline hazard times must increase and match the hazard values",
                             file=Path(directory) / BASELINE_FILE)
        model.event_times_, model.cumulative_hazard_ = times, hazard
        model.n_events_ = int(state.get("n_events", 0))
        model.max_follow_up_ = float(state.get("max_follow_up", np.nan))
        return model
