"""Learning regimen effects honestly: the response head's regimen learner, chosen by the
policy value of its what-if predictions on the training split's cross-validation folds.

Regimen choice in practice is confounded (EGFR-mutant NSCLC gets EGFR TKIs, fitter patients
get combinations), so a response head fitted on observed regimens with the regimen's mechanism
features as inputs (the **S-learner**, ``s_learner``) learns little about regimens rarely given
to a patient's kind, and mixes the regimen's effect with who gets it. The effect-aware
alternative here is **propensity-weighted** training (``propensity_weighted``): each training
patient weighs ``1 / max(p, clip)`` (normalised to mean 1; ``clip`` 0.1 by CV, see
docs/regimen_effects.md), ``p`` the propensity of the regimen
they got (:class:`~predictor.models.propensity.RegimenPropensity`, fitted on the same training
rows), so patients who got an unusual regimen for their kind count more and the weighted cohort
looks as if regimens had been given at random within each kind. Only the response head is
weighted: the policy value judges response; the relapse head is unchanged.

``model.regimen_learner``: ``s_learner``, ``propensity_weighted``, or ``auto``: each learner's
what-if predictions for every candidate regimen of each validation patient (the fold's own
pipeline and model; the rows ``predict --regimens`` would serve,
:meth:`predictor.features.pipeline.FeaturePipeline.what_if`) are scored by
:func:`predictor.evaluation.policy.policy_report` against the simulator's per-regimen truth of
the training patients, and the higher ``policy_value_model`` (mean true response probability
of the chosen regimens) wins; a tie keeps the S-learner. The held-out split is never looked
at. Without a per-regimen truth (every real cohort) ``auto`` is the S-learner, as before.
Regimens a patient's kind never or hardly gets are not ranked (``supported`` rule of the
propensity), in the CV as in serving.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from predictor.errors import InputError
from predictor.evaluation import harness as H
from predictor.models.propensity import (
    DEFAULT_C,
    DEFAULT_FLOOR,
    DEFAULT_MIN_PATIENTS,
    OVERLAP_THRESHOLD,
    RegimenPropensity,
    ipw_weights,
    observed_propensity,
    overlap_report,
)

log = logging.getLogger(__name__)

S_LEARNER = "s_learner"
PROPENSITY_WEIGHTED = "propensity_weighted"
AUTO = "auto"
LEARNERS = (S_LEARNER, PROPENSITY_WEIGHTED)


@dataclass(frozen=True)
class RegimenSettings:
    """``model.regimen_learner`` and ``model.regimen.*`` (see conf/model/default.yaml)."""

    learner: str = AUTO
    propensity_C: float = DEFAULT_C
    min_patients: int = DEFAULT_MIN_PATIENTS
    support_floor: float = DEFAULT_FLOOR
    ipw_clip: float = 0.1
    overlap_threshold: float = OVERLAP_THRESHOLD
    cv_repeats: int = 1

    @classmethod
    def from_config(cls, model_cfg: Mapping[str, Any]) -> RegimenSettings:
        node = dict(model_cfg.get("regimen") or {})
        unknown = sorted(set(node) - {f for f in cls.__dataclass_fields__ if f != "learner"})
        if unknown:
            raise InputError(f"unknown key model.regimen.{unknown[0]}")
        settings = cls(learner=str(model_cfg.get("regimen_learner") or AUTO), **node)
        if settings.learner not in (*LEARNERS, AUTO):
            raise InputError(f"model.regimen_learner must be one of {', '.join(LEARNERS)} or "
                             f"{AUTO}, got {settings.learner!r}")
        if not 0.0 < float(settings.ipw_clip) <= 1.0:
            raise InputError("model.regimen.ipw_clip must be in (0, 1]")
        if not 0.0 <= float(settings.support_floor) < 1.0:
            raise InputError("model.regimen.support_floor must be in [0, 1)")
        return settings

    def propensity(self) -> RegimenPropensity:
        return RegimenPropensity(C=float(self.propensity_C), min_patients=int(self.min_patients),
                                 floor=float(self.support_floor))


def propensity_weighting(settings: RegimenSettings, fitted: RegimenPropensity | None = None
                         ) -> Callable[[pd.DataFrame, H.Targets, Sequence[str]],
                                       np.ndarray | None]:
    """The weights function of a propensity-weighted learner (:attr:`Learner.weights`): a
    propensity fitted on the rows it is given, ``1 / max(p(observed), clip)``, mean 1.
    ``fitted``: a propensity already fitted on exactly those rows (a CV fold's), used instead
    of fitting the same model again."""

    def weights(X: pd.DataFrame, targets: H.Targets, categorical: Sequence[str]
                ) -> np.ndarray | None:
        model = fitted if fitted is not None else fit_propensity(X, targets, categorical,
                                                                 settings)
        if model is None:
            return None
        p = observed_propensity(model.predict_proba(X), targets.regimen)
        return ipw_weights(p, clip=float(settings.ipw_clip))

    return weights


def with_learner(learner: H.Learner, name: str, settings: RegimenSettings,
                 propensity: RegimenPropensity | None = None) -> H.Learner:
    """The response head's learner as regimen learner ``name`` (other learners unchanged);
    ``propensity``: see :func:`propensity_weighting`."""
    if learner.head != H.RESPONSE or learner.name != H.MODEL or name == S_LEARNER:
        return learner
    if name == PROPENSITY_WEIGHTED:
        return H.Learner(learner.name, learner.head, learner.make,
                         weights=propensity_weighting(settings, propensity))
    raise InputError(f"unknown regimen learner {name!r}")


# ---------------------------------------------------------------------------- what-if
@dataclass
class WhatIf:
    """Feature rows of patients under candidate regimens (built once, scored by any model)."""

    patient_id: np.ndarray
    regimen: np.ndarray
    blocks: list[tuple[str, pd.Index, pd.DataFrame]]   # (regimen, patient ids, X)
    propensity: np.ndarray
    supported: np.ndarray

    def score(self, model: Any) -> pd.DataFrame:
        """``patient_id, regimen, response_probability, supported, propensity``."""
        proba = np.concatenate([np.asarray(model.predict_proba(X), dtype=np.float64)
                                for _, _, X in self.blocks]) if self.blocks else np.zeros(0)
        return pd.DataFrame({"patient_id": self.patient_id, "regimen": self.regimen,
                             "response_probability": proba, "supported": self.supported,
                             "propensity": self.propensity})


def what_if(pipeline: Any, cohort: Any, candidates: pd.DataFrame,
            propensity: RegimenPropensity | None, floor: float) -> WhatIf:
    """Feature rows of ``cohort``'s patients under each of their ``candidates`` (rows
    ``patient_id, regimen``), built by the pipeline's :meth:`~predictor.features.pipeline.
    FeaturePipeline.what_if` (the rows ``predict --regimens`` serves: one plain pass, then
    the regimen-reading families again per distinct regimen). ``supported``/``propensity``
    from ``propensity`` (all True / NaN without one)."""
    ids = pd.Index(cohort.patient_ids)
    candidates = candidates[candidates["patient_id"].isin(ids)]
    features = pipeline.what_if(cohort)
    position = pd.Index(ids.astype(str))
    proba = support = None
    if propensity is not None:
        proba = propensity.predict_proba(features.features)  # it ignores the rx_* columns
        cancer = cohort.clinical["cancer_type"] if "cancer_type" in cohort.clinical else \
            pd.Series(pd.NA, index=ids, dtype="string")
        support = propensity.supported(proba, cancer, floor)
    pids, regs, blocks, props, sups = [], [], [], [], []
    for regimen, group in candidates.groupby("regimen", sort=True):
        patients = pd.Index(pd.unique(group["patient_id"].astype(str)))
        X = features.under(str(regimen), position.get_indexer(patients))
        blocks.append((str(regimen), patients, X))
        pids.append(patients.to_numpy(dtype=object))
        regs.append(np.full(len(patients), str(regimen), dtype=object))
        if proba is not None and str(regimen) in proba.columns:
            props.append(proba.loc[patients, str(regimen)].to_numpy())
            sups.append(support.loc[patients, str(regimen)].to_numpy(dtype=bool))
        else:  # never given in training: no propensity, not supported (with a propensity)
            props.append(np.full(len(patients), np.nan if proba is None else 0.0))
            sups.append(np.full(len(patients), proba is None))
    return WhatIf(_join(pids, object), _join(regs, object), blocks, _join(props, float),
                  _join(sups, bool))


def _join(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


# ---------------------------------------------------------------------------- selection
@dataclass
class RegimenCV:
    """Per learner, the mean over CV repeats of its policy report; the chosen learner."""

    reports: dict[str, dict[str, float]] = field(default_factory=dict)
    chosen: str = S_LEARNER


def cross_validate_learners(cohort: Any, targets: H.Targets, splits: Sequence[H.Split],
                            make_features: Callable[[], Any], response: H.Learner,
                            truth: pd.DataFrame, settings: RegimenSettings) -> RegimenCV:
    """Policy value of each regimen learner's out-of-fold what-if predictions (training
    patients only: ``cohort``, ``targets`` and ``truth`` rows beyond them are ignored)."""
    from predictor.evaluation.policy import policy_report
    from predictor.progress import Progress

    ids = pd.Index(cohort.patient_ids)
    truth = truth[truth["patient_id"].astype(str).isin(ids.astype(str))]
    assigned = cohort.clinical["regimen"].reindex(ids)
    inputs = cohort.without_outcomes()
    used = [s for s in splits if s.repeat < max(1, int(settings.cv_repeats))]
    scores: dict[str, dict[int, list[pd.DataFrame]]] = {name: {} for name in LEARNERS}

    progress = Progress("regimen learners CV", total=len(used))
    for split in used:
        train_ids, test_ids = ids[split.train], ids[split.test]
        pipeline = make_features()
        train_part = inputs.subset(train_ids)
        pipeline.fit(train_part)
        X_train = pipeline.transform(train_part).loc[train_ids]
        categorical = list(getattr(pipeline, "categorical_features_", []) or [])
        fold_targets = targets.subset(train_ids)
        propensity = settings.propensity().fit(X_train, fold_targets.regimen,
                                               fold_targets.cancer_type, categorical)
        rows = what_if(pipeline, inputs.subset(test_ids), truth[["patient_id", "regimen"]],
                       propensity, float(settings.support_floor))
        for name in LEARNERS:
            model = H.fit_learner(with_learner(response, name, settings, propensity),
                                  X_train, fold_targets, categorical)
            scores[name].setdefault(split.repeat, []).append(rows.score(model))
        progress.advance(f"repeat {split.repeat} fold {split.fold}")
    progress.close()
    out = RegimenCV()
    for name, by_repeat in scores.items():
        reports = [policy_report(pd.concat(parts, ignore_index=True), truth, assigned)
                   for parts in by_repeat.values()]
        out.reports[name] = {k: H.nanmean([r[k] for r in reports]) for k in reports[0]}
    best = max(out.reports[n]["policy_value_model"] for n in LEARNERS)
    out.chosen = next(n for n in LEARNERS if out.reports[n]["policy_value_model"] >= best)
    return out


def choose_learner(settings: RegimenSettings, cv: RegimenCV | None) -> str:
    """The configured learner, or for ``auto`` the CV winner (the S-learner without a CV)."""
    if settings.learner != AUTO:
        return settings.learner
    return cv.chosen if cv is not None else S_LEARNER


def regimen_metrics(prefix: str, report: Mapping[str, float],
                    learner: str = "") -> dict[str, float]:
    """``<prefix>_regimen[_<learner>]_<key>`` (MLflow ``<prefix>/regimen[/<learner>]/<key>``)."""
    middle = f"regimen_{learner}_" if learner else "regimen_"
    return {f"{prefix}_{middle}{k}": float(v) for k, v in report.items()}


def select_learner(cohort: Any, targets: H.Targets, splits: Sequence[H.Split],
                   make_features: Callable[[], Any], learners: list[H.Learner],
                   regimen_truth: pd.DataFrame | None, settings: RegimenSettings,
                   metrics: dict[str, float]) -> tuple[list[H.Learner], RegimenCV | None, str]:
    """Cross-validate the regimen learners when the training cohort has a per-regimen truth
    (``cv_regimen_<learner>_<key>`` into ``metrics``), choose one (``final_regimen_learner_
    <name>`` = 1 for it, 0 for the others) and return ``learners`` with the response head
    made of the chosen one."""
    response = next((lr for lr in learners if lr.head == H.RESPONSE and lr.name == H.MODEL),
                    None)
    cv = None
    has_regimens = targets.regimen is not None and targets.regimen.notna().any()
    if response is not None and has_regimens and regimen_truth is not None:
        log.info("Cross-validating the regimen learners (%s) by policy value",
                 ", ".join(LEARNERS))
        cv = cross_validate_learners(cohort, targets, splits, make_features, response,
                                     regimen_truth, settings)
        for name, report in cv.reports.items():
            metrics.update(regimen_metrics("cv", report, name))
    chosen = choose_learner(settings, cv)
    if response is not None and has_regimens:
        metrics.update({f"final_regimen_learner_{n}": float(n == chosen) for n in LEARNERS})
        log.info("regimen learner: %s%s", chosen, " (CV policy value)" if
                 settings.learner == AUTO and cv is not None else "")
    return [with_learner(lr, chosen, settings) for lr in learners], cv, chosen


def finish(fit: H.FinalFit, data: Any, targets: H.Targets, learner: str, cv: RegimenCV | None,
           settings: RegimenSettings, metrics: dict[str, float]) -> RegimenResult | None:
    """The final propensity (all training patients), its overlap and support, and the final
    model's ``test_regimen_*`` policy metrics on the held-out split of a simulated cohort."""
    categorical = list(getattr(fit.pipeline, "categorical_features_", []) or [])
    propensity = fit_propensity(fit.X_train, targets, categorical, settings)
    if propensity is None:
        return None
    proba = propensity.predict_proba(fit.X_train)
    overlap = overlap_report(proba, float(settings.overlap_threshold), targets.cancer_type)
    supported_share = None
    if targets.cancer_type is not None:
        support = propensity.supported(proba, targets.cancer_type).to_numpy()
        # pairs (patient, regimen given to their cancer type): part (a) of the same rule
        seen = propensity.seen(proba, targets.cancer_type).to_numpy()
        supported_share = float(support[seen].mean()) if seen.any() else None
    metrics.update(overlap_metrics(overlap, supported_share))
    if data.test is not None and data.regimen_truth is not None:
        metrics.update(held_out_policy(fit, data.test, data.regimen_truth, propensity,
                                       settings))
    return RegimenResult(learner, propensity, overlap, cv, float(settings.overlap_threshold))


# ---------------------------------------------------------------------------- final model
@dataclass
class RegimenResult:
    """What training learned about regimens: the final propensity, its overlap, metrics."""

    learner: str
    propensity: RegimenPropensity | None
    overlap: pd.DataFrame | None
    cv: RegimenCV | None = None
    overlap_threshold: float = OVERLAP_THRESHOLD

    def bundle_state(self) -> dict | None:
        """The ``propensity`` entry of the bundle's ``regimens.json`` (None without one)."""
        return None if self.propensity is None else self.propensity.to_state()


def fit_propensity(X: pd.DataFrame, targets: H.Targets, categorical: Sequence[str],
                   settings: RegimenSettings) -> RegimenPropensity | None:
    """The propensity fitted on the rows of ``X`` (None with fewer than two given regimens)."""
    if targets.regimen is None or targets.regimen.notna().sum() < 2:
        return None
    return settings.propensity().fit(X, targets.regimen, targets.cancer_type, categorical)


def overlap_metrics(overlap: pd.DataFrame, supported_share: float | None) -> dict[str, float]:
    """Headline overlap numbers: the mean over regimens of the share of training patients
    below the overlap threshold, and the share of (patient, regimen given to their cancer
    type) pairs that the ``supported`` rule lets the model rank."""
    out: dict[str, float] = {}
    overall = overlap[overlap["group"] == "all"]
    if len(overall):
        out["final_regimen_overlap_share_below_mean"] = float(overall["share_below"].mean())
    if supported_share is not None:
        out["final_regimen_supported_share"] = supported_share
    return out


def held_out_policy(fit: H.FinalFit, test: Any, truth: pd.DataFrame,
                propensity: RegimenPropensity | None, settings: RegimenSettings
                ) -> dict[str, float]:
    """``test_regimen_*``: the final model's what-if choice on the held-out patients."""
    from predictor.evaluation.policy import policy_report

    model = fit.models.get(f"{H.RESPONSE}/{H.MODEL}")
    if model is None:
        return {}
    ids = pd.Index(test.patient_ids)
    rows = truth[truth["patient_id"].astype(str).isin(ids.astype(str))]
    if rows.empty:
        return {}
    inputs = test.without_outcomes()
    scores = what_if(fit.pipeline, inputs, rows[["patient_id", "regimen"]], propensity,
                     float(settings.support_floor)).score(model)
    report = policy_report(scores, rows, test.clinical["regimen"].reindex(ids))
    return regimen_metrics("test", report)


def report_section(result: RegimenResult) -> str:
    """Markdown for ``report.md``: the learner comparison, the choice and the overlap."""
    cv = result.cv
    lines = [f"Regimen learner of the final response head: **{result.learner}**."]
    if cv is not None:
        keys = ("policy_value_model", "policy_gap_closed", "regimen_rank_spearman",
                "policy_value_practice", "policy_value_oracle", "policy_value_random")
        lines += ["", "Cross-validation on the training split (per-regimen simulated truth; "
                  "the choice never looks at the held-out split):", "",
                  "| learner | " + " | ".join(keys) + " |",
                  "|---" * (len(keys) + 1) + "|"]
        for name, report in cv.reports.items():
            cells = [_fmt(report.get(k)) for k in keys]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if result.overlap is not None and len(result.overlap):
        overall = result.overlap[result.overlap["group"] == "all"].sort_values("share_below")
        lines += ["", "Propensity overlap, training patients (share with a < "
                  f"{result.overlap_threshold:g} chance of the regimen; full table by cancer "
                  "type in regimen_overlap.csv):", "",
                  "| regimen | share below | mean propensity |", "|---|---|---|"]
        lines += [f"| {r.regimen} | {r.share_below:.3f} | {r.mean_propensity:.3f} |"
                  for r in overall.itertuples()]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.3f}"
