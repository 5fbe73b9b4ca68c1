"""Evaluation harness: CV with the same outer folds for the heads and every baseline (no
leakage), the final fit, held-out test metrics, paired comparisons and oracle metrics.

Inside each outer fold the feature pipeline is built fresh and **fitted on that fold's training
patients only** (features such as TMB percentiles or category codes are learned state), then
every learner is fitted on the training rows that have its target and scores the held-out rows.
Patients without a response label still take part in the relapse head, and vice versa.

How the CV numbers are summarised (the same recipe for every learner):
- each repeat's out-of-fold (OOF) predictions are pooled over its folds and scored once;
  the point estimate is the mean of that score over repeats;
- the 95% CI is a percentile bootstrap over patients of that same mean-over-repeats score
  (patients are resampled jointly across repeats), so it reflects patient sampling, not fold
  noise. Relapse risks of different fold models are pooled as they are (log relative hazards
  on comparable scales), which slightly understates a model's C-index if anything.

Held-out test: each learner fitted once on all training patients; 95% CIs by the same patient
bootstrap; model - baseline differences by a paired bootstrap (same resampled patients).
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from predictor.evaluation import metrics as M
from predictor.evaluation.bootstrap import bootstrap_ci
from predictor.models.heads import BINARY, HEADS, RELAPSE, RESPONSE

log = logging.getLogger(__name__)

MODEL = "model"
# Metrics that get bootstrap CIs (others are point estimates): cheap and the ones users quote.
CI_METRICS = {RESPONSE: ("roc_auc", "pr_auc", "brier"), RELAPSE: ("harrell_c",)}
# The single metric each head is ranked by (baselines get a CI for it too).
PRIMARY = {RESPONSE: "roc_auc", RELAPSE: "harrell_c"}


@dataclass(frozen=True)
class Targets:
    """Per-patient targets and strata of a set of patients (same index everywhere)."""

    response: pd.Series      # 1 / 0 / NaN
    time: pd.Series          # months, NaN when unknown
    event: pd.Series         # 1 / 0 / NaN
    groups: pd.Series        # e.g. cancer type: stratification and per-group AUC
    # The observed regimen and the cancer type (None without them): what regimen learners
    # (propensity weighting) need besides the features; they are inputs, not targets.
    regimen: pd.Series | None = None
    cancer_type: pd.Series | None = None

    def subset(self, ids: pd.Index) -> Targets:
        def part(series: pd.Series | None) -> pd.Series | None:
            return None if series is None else series.loc[ids]

        return Targets(self.response.loc[ids], self.time.loc[ids], self.event.loc[ids],
                       self.groups.loc[ids], part(self.regimen), part(self.cancer_type))

    def has_response(self) -> np.ndarray:
        return self.response.notna().to_numpy()

    def has_relapse(self) -> np.ndarray:
        return (self.time.notna() & self.event.notna()).to_numpy()


@dataclass(frozen=True)
class Learner:
    """A model to cross-validate: ``make()`` returns a fresh unfitted estimator."""

    name: str                 # "model" for a head, else the baseline's name
    head: str                 # "response" | "relapse"
    make: Callable[[], Any]
    # Per-row training weights of a binary head, computed on each fold's training rows from
    # (X, targets, categorical), e.g. inverse regimen propensities; None = unweighted.
    weights: Callable[[pd.DataFrame, Targets, Sequence[str]], np.ndarray | None] | None = None

    @property
    def key(self) -> str:
        return f"{self.head}/{self.name}"


@dataclass(frozen=True)
class Split:
    repeat: int
    fold: int
    train: np.ndarray         # positional indices into the patients
    test: np.ndarray


@dataclass
class CVPredictions:
    """Out-of-fold scores: ``scores[learner.key]`` is (n_patients, n_repeats), NaN = unscored."""

    patient_ids: pd.Index
    n_repeats: int
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def fit_learner(learner: Learner, X: pd.DataFrame, targets: Targets,
                categorical: Sequence[str]) -> Any:
    """Fit a fresh estimator on the rows of ``X`` that have the learner's target."""
    model = learner.make()
    if HEADS[learner.head].target == BINARY:
        keep = targets.has_response()
        extra: dict[str, Any] = {}
        weights = None if learner.weights is None else learner.weights(X, targets, categorical)
        if weights is not None:
            extra["sample_weight"] = np.asarray(weights, dtype=np.float64)[keep]
        model.fit(X[keep], targets.response.to_numpy()[keep], categorical_features=categorical,
                  **extra)
    else:
        keep = targets.has_relapse()
        model.fit(X[keep], targets.time.to_numpy()[keep], targets.event.to_numpy()[keep],
                  categorical_features=categorical)
    return model


def score(learner_head: str, model: Any, X: pd.DataFrame) -> np.ndarray:
    """P(response) for a binary head's learner, log relative hazard for a survival head's."""
    if HEADS[learner_head].target == BINARY:
        return np.asarray(model.predict_proba(X), dtype=np.float64).reshape(-1)
    return np.asarray(model.predict_risk(X), dtype=np.float64).reshape(-1)


def make_splits(targets: Targets, *, n_splits: int, n_repeats: int, seed: int,
                cohort_groups: pd.Series | None = None) -> list[Split]:
    """Repeated stratified K-fold (label x group), or leave-one-cohort-out when given groups."""
    from predictor.evaluation.splits import leave_one_group_out, repeated_stratified_kfold

    if cohort_groups is not None:
        pairs = leave_one_group_out(cohort_groups.to_numpy())
        return [Split(0, i, tr, te) for i, (tr, te) in enumerate(pairs)]
    pairs = list(repeated_stratified_kfold(targets.response.to_numpy(),
                                           targets.groups.to_numpy(), n_splits=n_splits,
                                           n_repeats=n_repeats, seed=seed))
    return [Split(i // n_splits, i % n_splits, tr, te) for i, (tr, te) in enumerate(pairs)]


def cross_validate(
    cohort: Any,
    targets: Targets,
    splits: Sequence[Split],
    make_features: Callable[[], Any],
    learners: Iterable[Learner],
    on_fold: Callable[[int, dict[str, float]], None] | None = None,
) -> CVPredictions:
    """Out-of-fold scores of every learner on the same ``splits`` (pipeline fitted per fold).

    ``cohort`` is the training part only; ``targets`` is indexed like ``cohort.patient_ids``.
    A baseline that cannot be fitted on a fold (e.g. no TMB column) is dropped with a warning;
    a head that fails raises. ``on_fold(step, metrics)`` is called as each fold finishes with
    the heads' primary metrics on that fold's held-out patients (live tracking, progress).
    """
    from predictor.progress import Progress
    learners = list(learners)
    ids = pd.Index(cohort.patient_ids)
    n_repeats = max(s.repeat for s in splits) + 1
    out = CVPredictions(ids, n_repeats)
    for learner in learners:
        out.scores[learner.key] = np.full((len(ids), n_repeats), np.nan)
    inputs = cohort.without_outcomes()
    progress = Progress("CV folds", total=len(splits))
    for step, split in enumerate(splits):
        train_ids, test_ids = ids[split.train], ids[split.test]
        train_cohort, test_cohort = inputs.subset(train_ids), inputs.subset(test_ids)
        pipeline = make_features()
        pipeline.fit(train_cohort)
        X_train = pipeline.transform(train_cohort).loc[train_ids]
        X_test = pipeline.transform(test_cohort).loc[test_ids]
        categorical = list(getattr(pipeline, "categorical_features_", []) or [])
        fold_targets = targets.subset(train_ids)
        for learner in learners:
            if learner.key in out.failures:
                continue
            try:
                model = fit_learner(learner, X_train, fold_targets, categorical)
                out.scores[learner.key][split.test, split.repeat] = score(learner.head, model,
                                                                          X_test)
            except Exception as error:
                if learner.name == MODEL:
                    raise
                out.failures[learner.key] = f"{type(error).__name__}: {error}"
                log.warning("baseline %s dropped: %s", learner.key, out.failures[learner.key])
        progress.advance(f"repeat {split.repeat} fold {split.fold} ({len(train_ids)} train, "
                         f"{len(test_ids)} held out)")
        if on_fold is not None:
            on_fold(step, fold_metrics(out, learners, targets, split))
    progress.close()
    for key in out.failures:
        out.scores.pop(key, None)
    return out


# ---------------------------------------------------------------------------- summaries
def fold_metrics(cv: CVPredictions, learners: Sequence[Learner], targets: Targets,
                 split: Split) -> dict[str, float]:
    """Each head's primary metric on one fold's held-out patients (``roc_auc``, ``harrell_c``)."""
    out: dict[str, float] = {}
    rows = np.asarray(split.test)
    for learner in learners:
        if learner.name != MODEL or learner.key not in cv.scores:
            continue
        scores = cv.scores[learner.key][rows, split.repeat]
        fold = targets.subset(cv.patient_ids[rows])
        with np.errstate(all="ignore"):
            if HEADS[learner.head].target == BINARY:
                y = fold.response.to_numpy(dtype=np.float64)
                keep = ~np.isnan(y) & ~np.isnan(scores)
                value = M.roc_auc(y[keep], scores[keep]) if keep.any() else float("nan")
            else:
                time, event = fold.time.to_numpy(np.float64), fold.event.to_numpy(np.float64)
                keep = ~(np.isnan(time) | np.isnan(event) | np.isnan(scores))
                value = (M.harrell_c(time[keep], event[keep], scores[keep]) if keep.any()
                         else float("nan"))
        out[PRIMARY[learner.head]] = float(value)
    return out


def nanmean(values: Any, axis: int | None = None) -> Any:
    """Mean ignoring NaN; NaN (no warning) where everything is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = np.nanmean(np.asarray(values, dtype=np.float64), axis=axis)
    return float(result) if axis is None else result


def _mean_over_repeats(fn: Callable[..., float]) -> Callable[..., float]:
    """``fn(*targets, score_vector)`` -> the mean over columns of a score matrix (NaN-aware)."""
    def metric(*arrays: np.ndarray) -> float:
        *target_arrays, matrix = arrays
        return nanmean([fn(*target_arrays, matrix[:, r]) for r in range(matrix.shape[1])])
    return metric


RESPONSE_FUNCS: dict[str, Callable[..., float]] = {
    "roc_auc": M.roc_auc, "pr_auc": M.pr_auc, "brier": M.brier,
}


def _harrell(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    return M.harrell_c(time, event, risk)


def response_summary(y: np.ndarray, scores: np.ndarray, *, n_boot: int, seed: int,
                     alpha: float = 0.05, with_ci: Iterable[str] = CI_METRICS[RESPONSE]
                     ) -> dict[str, float]:
    """Response metrics of a (n, R) score matrix: mean over repeats, CIs for ``with_ci``."""
    scores = np.asarray(scores, dtype=np.float64).reshape(len(y), -1)
    keep = ~np.isnan(y) & ~np.isnan(scores).all(axis=1)
    y, scores = y[keep], scores[keep]
    per_repeat = [M.response_metrics(y, scores[:, r]) for r in range(scores.shape[1])]
    out = {k: nanmean([m[k] for m in per_repeat]) for k in per_repeat[0]}
    for name in with_ci:
        _, low, high = bootstrap_ci(_mean_over_repeats(RESPONSE_FUNCS[name]), y, scores,
                                    n_boot=n_boot, seed=seed, alpha=alpha)
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = low, high
    return out


def relapse_summary(time: np.ndarray, event: np.ndarray, risks: np.ndarray, *, n_boot: int,
                    seed: int, alpha: float = 0.05, with_ci: bool = True,
                    surv: Any = None, train_time: np.ndarray | None = None,
                    train_event: np.ndarray | None = None,
                    horizons: Sequence[float] | None = None) -> dict[str, float]:
    """Relapse metrics of a (n, R) risk matrix: mean over repeats; CI for Harrell's C.

    ``surv`` (survival curves for the integrated Brier score) only applies with one repeat.
    """
    risks = np.asarray(risks, dtype=np.float64).reshape(len(time), -1)
    keep = ~(np.isnan(time) | np.isnan(event)) & ~np.isnan(risks).all(axis=1)
    time, event, risks = time[keep], event[keep], risks[keep]
    if callable(surv):
        surv = _rows(surv, keep)
    elif surv is not None:
        surv = (surv[0], np.asarray(surv[1])[keep])
    per_repeat = [
        M.relapse_metrics(time, event, risks[:, r], surv=surv if risks.shape[1] == 1 else None,
                          train_time=train_time, train_event=train_event, horizons=horizons)
        for r in range(risks.shape[1])
    ]
    out = {k: nanmean([m[k] for m in per_repeat]) for k in per_repeat[0]}
    if with_ci:
        _, low, high = bootstrap_ci(_mean_over_repeats(_harrell), time, event, risks,
                                    n_boot=n_boot, seed=seed, alpha=alpha)
        out["harrell_c_ci_low"], out["harrell_c_ci_high"] = low, high
    return out


def _rows(surv: Callable[[np.ndarray], np.ndarray], keep: np.ndarray
          ) -> Callable[[np.ndarray], np.ndarray]:
    """Survival curves restricted to the kept patients (rows of the callable's matrix)."""
    return lambda times: np.asarray(surv(times))[keep]


def per_group_summary(y: np.ndarray, scores: np.ndarray, groups: np.ndarray,
                      min_n: int) -> pd.DataFrame:
    """Per-group ROC AUC averaged over repeats (group, n, n_positive, roc_auc)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(len(y), -1)
    tables = [M.per_group_auc(y, scores[:, r], groups, min_n) for r in range(scores.shape[1])]
    table = tables[0].copy()
    table["roc_auc"] = nanmean(np.vstack([t["roc_auc"].to_numpy() for t in tables]), axis=0)
    return table


def metric_key(*parts: str) -> str:
    """An MLflow-safe metric name from parts (``cv``, ``baseline``, ``roc_auc`` ...)."""
    text = "_".join(p for p in parts if p)
    return re.sub(r"[^0-9A-Za-z_\-./ ]+", "_", text).strip("_")


def prefixed(prefix: str, metrics: dict[str, float], learner_name: str = MODEL
             ) -> dict[str, float]:
    """``{roc_auc: .8}`` -> ``{cv_roc_auc: .8}`` for the model, ``cv_baseline_<n>_roc_auc``."""
    middle = "" if learner_name == MODEL else f"baseline_{learner_name}"
    return {metric_key(prefix, middle, k): v for k, v in metrics.items()}


# ---------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class EvalSettings:
    """How numbers are summarised: bootstrap size, CI level, per-group floor, seed, horizons."""

    n_boot: int = 1000
    ci_level: float = 0.95
    min_group_n: int = 20
    seed: int = 0
    horizons: tuple[float, ...] = (6.0, 12.0, 24.0)

    @property
    def alpha(self) -> float:
        return 1.0 - float(self.ci_level)


@dataclass
class Evaluation:
    """Every number of a run plus the tables and arrays the plots and the report need."""

    metrics: dict[str, float] = field(default_factory=dict)
    per_group: dict[str, pd.DataFrame] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    plot_data: dict[str, Any] = field(default_factory=dict)


RENAMES = {RESPONSE: {"n": "n_labelled"}, RELAPSE: {"n": "n_relapse"}}


def _renamed(head: str, values: dict[str, float]) -> dict[str, float]:
    """Both heads report ``n``: name it by what it counts."""
    return {RENAMES[head].get(k, k): v for k, v in values.items()}


def _summary(learner: Learner, targets: Targets, scores: np.ndarray, settings: EvalSettings,
             **relapse_kw: Any) -> dict[str, float]:
    """Metrics of one learner's scores; heads get every CI metric, baselines the primary."""
    if learner.head == RESPONSE:
        with_ci = CI_METRICS[RESPONSE] if learner.name == MODEL else (PRIMARY[RESPONSE],)
        values = response_summary(targets.response.to_numpy(float), scores,
                                  n_boot=settings.n_boot, seed=settings.seed,
                                  alpha=settings.alpha, with_ci=with_ci)
    else:
        values = relapse_summary(targets.time.to_numpy(float), targets.event.to_numpy(float),
                                 scores, n_boot=settings.n_boot, seed=settings.seed,
                                 alpha=settings.alpha, horizons=settings.horizons, **relapse_kw)
    return _renamed(learner.head, values)


def _group_metrics(stem: str, table: pd.DataFrame) -> dict[str, float]:
    """``{<stem>_<group>: auc}`` from a per-group table."""
    return {metric_key(stem, str(row.group)): float(row.roc_auc) for row in table.itertuples()}


def summarise_cv(cv: CVPredictions, targets: Targets, learners: list[Learner],
                 settings: EvalSettings, out: Evaluation) -> None:
    """``cv_*`` metrics of every learner and the per-cancer-type AUC of the response head."""
    from predictor.progress import Progress

    progress = Progress("CV metrics and bootstrap CIs", total=len(learners), each_line=False)
    for learner in progress.each(learners, lambda learner: learner.key):
        scores = cv.scores.get(learner.key)
        if scores is None:
            continue
        out.metrics.update(prefixed("cv", _summary(learner, targets, scores, settings),
                                    learner.name))
        spread = repeat_sd(learner.head, targets, scores)
        if spread is not None:  # fold-assignment noise, next to the patient-bootstrap CI
            out.metrics.update(prefixed("cv", {f"{PRIMARY[learner.head]}_repeat_sd": spread},
                                        learner.name))
        if learner.key == f"{RESPONSE}/{MODEL}":
            table = per_group_summary(targets.response.to_numpy(float), scores,
                                      targets.groups.to_numpy(), settings.min_group_n)
            out.per_group["cv"] = table
            out.metrics.update(_group_metrics("cv_roc_auc", table))
    out.failures.update(cv.failures)


def repeat_sd(head: str, targets: Targets, scores: np.ndarray) -> float | None:
    """SD over CV repeats of the head's primary metric (each repeat's pooled out-of-fold
    scores, on the patients with a target and a score); None with fewer than 2 repeats."""
    scores = np.asarray(scores, dtype=np.float64).reshape(len(targets.response), -1)
    if scores.shape[1] < 2:
        return None
    values = []
    for r in range(scores.shape[1]):
        s = scores[:, r]
        if head == RESPONSE:
            y = targets.response.to_numpy(float)
            keep = ~np.isnan(y) & ~np.isnan(s)
            values.append(M.roc_auc(y[keep], s[keep]))
        else:
            time, event = targets.time.to_numpy(float), targets.event.to_numpy(float)
            keep = ~(np.isnan(time) | np.isnan(event) | np.isnan(s))
            values.append(M.harrell_c(time[keep], event[keep], s[keep]))
    finite = [v for v in values if math.isfinite(v)]
    return float(np.std(finite, ddof=1)) if len(finite) >= 2 else None


def summarise_by_cohort(cv: CVPredictions, targets: Targets, cohorts: pd.Series,
                        out: Evaluation) -> None:
    """Leave-one-cohort-out: the response AUC of each held-out cohort for the model and every
    baseline, their means over cohorts and the paired differences; Harrell's C of each held-out
    cohort for the relapse learners (``evaluation.cohorts``)."""
    from predictor.evaluation.cohorts import cohort_c_metrics, cohort_metrics

    groups = cohorts.fillna("<missing>").astype(str).to_numpy()
    scores = cv.scores.get(f"{RESPONSE}/{MODEL}")
    if scores is not None:
        table = per_group_summary(targets.response.to_numpy(float), scores, groups, min_n=1)
        out.per_group["held-out cohort"] = table
        out.metrics.update(_group_metrics("cv_roc_auc_cohort", table))
        response = {key.split("/", 1)[1]: value for key, value in cv.scores.items()
                    if key.startswith(f"{RESPONSE}/")}
        metrics, _ = cohort_metrics(targets.response.to_numpy(float), response, groups)
        out.metrics.update(metrics)
    relapse = {key.split("/", 1)[1]: value for key, value in cv.scores.items()
               if key.startswith(f"{RELAPSE}/")}
    if relapse:
        out.metrics.update(cohort_c_metrics(targets.time.to_numpy(float),
                                            targets.event.to_numpy(float), relapse, groups))


@dataclass
class FinalFit:
    """The models fitted on all training patients, and the pipeline that feeds them."""

    pipeline: Any
    models: dict[str, Any]          # learner key -> fitted estimator
    X_train: pd.DataFrame


def final_fit(train: Any, targets: Targets, learners: list[Learner],
              make_features: Callable[[], Any], failures: dict[str, str]) -> FinalFit:
    """Pipeline and every learner fitted on all training patients (failed baselines skipped)."""
    pipeline = make_features()
    inputs = train.without_outcomes()
    pipeline.fit(inputs)
    X = pipeline.transform(inputs).loc[train.patient_ids]
    categorical = list(getattr(pipeline, "categorical_features_", []) or [])
    models: dict[str, Any] = {}
    for learner in learners:
        if learner.key in failures:
            continue
        try:
            models[learner.key] = fit_learner(learner, X, targets, categorical)
        except Exception as error:
            if learner.name == MODEL:
                raise
            failures[learner.key] = f"{type(error).__name__}: {error}"
            log.warning("baseline %s dropped: %s", learner.key, failures[learner.key])
    return FinalFit(pipeline, models, X)


def evaluate_test(fit: FinalFit, test: Any, test_targets: Targets, train_targets: Targets,
                  learners: list[Learner], settings: EvalSettings,
                  out: Evaluation) -> dict[str, np.ndarray]:
    """``test_*`` metrics of every fitted learner on the held-out patients, paired bootstrap
    differences model - baseline, per-cancer-type AUC; returns the scores."""
    X = fit.pipeline.transform(test.without_outcomes()).loc[test.patient_ids]
    out.plot_data["X_test"] = X
    scores: dict[str, np.ndarray] = {}
    from predictor.progress import Progress

    progress = Progress("test metrics and bootstrap CIs", total=len(learners), each_line=False)
    for learner in progress.each(learners, lambda learner: learner.key):
        model = fit.models.get(learner.key)
        if model is None:
            continue
        scores[learner.key] = score(learner.head, model, X)
        relapse_kw: dict[str, Any] = {}
        if learner.head == RELAPSE:
            relapse_kw = {"train_time": train_targets.time.to_numpy(float),
                          "train_event": train_targets.event.to_numpy(float)}
            if learner.name == MODEL and hasattr(model, "survival_function"):
                relapse_kw["surv"] = lambda t, m=model: m.survival_function(X, t)
        out.metrics.update(prefixed("test", _summary(learner, test_targets,
                                                     scores[learner.key], settings,
                                                     **relapse_kw), learner.name))
    out.metrics.update(paired_differences(scores, test_targets, learners, settings))
    if f"{RESPONSE}/{MODEL}" in scores:
        table = M.per_group_auc(test_targets.response.to_numpy(float),
                                scores[f"{RESPONSE}/{MODEL}"], test_targets.groups.to_numpy(),
                                settings.min_group_n)
        out.per_group["test"] = table
        out.metrics.update(_group_metrics("test_roc_auc", table))
    return scores


def paired_differences(scores: dict[str, np.ndarray], targets: Targets,
                       learners: list[Learner], settings: EvalSettings) -> dict[str, float]:
    """``test_model_minus_<baseline>_<metric>`` with CI and p-value (same resampled patients)."""
    from predictor.evaluation.bootstrap import paired_bootstrap_diff

    y = targets.response.to_numpy(float)
    time, event = targets.time.to_numpy(float), targets.event.to_numpy(float)
    out: dict[str, float] = {}
    for learner in learners:
        model_key = f"{learner.head}/{MODEL}"
        if learner.name == MODEL or learner.key not in scores or model_key not in scores:
            continue
        if learner.head == RESPONSE:
            keep = ~np.isnan(y)
            diff = paired_bootstrap_diff(M.roc_auc, y[keep], scores[model_key][keep],
                                         scores[learner.key][keep], n_boot=settings.n_boot,
                                         seed=settings.seed, alpha=settings.alpha)
        else:
            keep = ~(np.isnan(time) | np.isnan(event))
            diff = paired_bootstrap_diff(lambda te, r: M.harrell_c(te[0], te[1], r),
                                         (time[keep], event[keep]), scores[model_key][keep],
                                         scores[learner.key][keep], n_boot=settings.n_boot,
                                         seed=settings.seed, alpha=settings.alpha)
        name = f"test_model_minus_{learner.name}_{PRIMARY[learner.head]}"
        out.update({name: diff[0], f"{name}_ci_low": diff[1], f"{name}_ci_high": diff[2],
                    f"{name}_p_value": diff[3]})
    return out


def oracle_metrics(truth: pd.DataFrame, targets: Targets, prefix_of_model: str,
                   settings: EvalSettings, out: Evaluation) -> None:
    """Metrics of the simulated truth on the evaluated patients, and model/oracle ratios.

    Both oracles rank patients by the best *pre-treatment* truth, what a model that chooses a
    treatment could at most know:

    - oracle AUC: ``true_response_probability`` (the P(CR or PR) the labels were drawn from)
      vs the labels;
    - oracle C: Harrell's C of ``1 - true_pfs_12m``, the true probability of progression by
      12 months, marginal over the RECIST draw (CR/PR/SD/PD given the response probability).
      ``true_relapse_hazard`` is not used when ``true_pfs_12m`` exists: it is the hazard of a
      patient with *stable disease* and ignores the response probability, which also drives
      PFS (PD progresses at the first scan; CR/PR multiply the hazard by exp(-1.6)/exp(-0.9)),
      so it is a weaker ranking than the truth allows (previous demo version, all 1,000
      patients: C 0.671 vs 0.696; other marginal summaries such as 1 - PFS(6 months) or the
      expected PFS give 0.694-0.697). Truth tables without ``true_pfs_12m`` fall back to the hazard.

    CIs by the same patient bootstrap as the model's. Ratios ``<prefix>_<metric>_over_oracle``
    use the model's metric on the same patients.
    """
    from predictor.errors import InputError

    ids = targets.response.index
    missing = ids.difference(truth.index)
    if len(missing):
        raise InputError(f"the truth file lacks {len(missing)} evaluated patient(s)")
    rows = truth.loc[ids]
    y = targets.response.to_numpy(float)
    p_true = rows["true_response_probability"].to_numpy(dtype=float)
    keep = ~np.isnan(y)
    auc, low, high = bootstrap_ci(M.roc_auc, y[keep], p_true[keep], n_boot=settings.n_boot,
                                  seed=settings.seed, alpha=settings.alpha)
    out.metrics.update({"oracle_roc_auc": auc, "oracle_roc_auc_ci_low": low,
                        "oracle_roc_auc_ci_high": high})
    if "true_pfs_12m" in rows.columns:
        true_risk = 1.0 - rows["true_pfs_12m"].to_numpy(dtype=float)
    else:
        log.warning("the truth has no true_pfs_12m: the oracle C-index ranks by "
                    "true_relapse_hazard (stable-disease hazard), a weaker oracle")
        true_risk = rows["true_relapse_hazard"].to_numpy(dtype=float)
    time, event = targets.time.to_numpy(float), targets.event.to_numpy(float)
    has = ~(np.isnan(time) | np.isnan(event) | np.isnan(true_risk))
    c, low, high = bootstrap_ci(_harrell, time[has], event[has], true_risk[has],
                                n_boot=settings.n_boot, seed=settings.seed, alpha=settings.alpha)
    out.metrics.update({"oracle_harrell_c": c, "oracle_harrell_c_ci_low": low,
                        "oracle_harrell_c_ci_high": high})
    for metric in ("roc_auc", "harrell_c"):
        model_value = out.metrics.get(f"{prefix_of_model}_{metric}")
        oracle = out.metrics.get(f"oracle_{metric}")
        if model_value is not None and oracle and math.isfinite(oracle):
            out.metrics[f"{prefix_of_model}_{metric}_over_oracle"] = model_value / oracle
