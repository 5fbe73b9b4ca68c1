"""Metrics of a trained model on another cohort's labelled patients (external validation).

Why a module of its own: the training harness scores learners it fits; here the predictions
are given (a bundle scored the cohort) and the question is whether they transfer: does the
model rank the new patients (ROC AUC, Harrell's and Uno's C, time-dependent AUC) and are its
probabilities right for them (ECE, Brier, calibration intercept and slope; TRIPOD, Van Calster
et al. 2016)? Every headline number gets a percentile bootstrap 95% CI over patients, and
published baselines scored on the same patients get paired bootstrap differences.

Metric names follow the training run's (``roc_auc``, ``ece``, ``harrell_c`` ...), without its
``cv_``/``test_`` prefixes; baselines are ``baseline_<name>_<metric>`` and the paired
differences ``model_minus_<name>_<metric>`` (``_ci_low``, ``_ci_high``, ``_p_value``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.evaluation import metrics as M
from predictor.evaluation.bootstrap import bootstrap_ci, paired_bootstrap_diff
from predictor.evaluation.harness import EvalSettings, metric_key

RESPONSE_CI = {"roc_auc": M.roc_auc, "pr_auc": M.pr_auc, "brier": M.brier,
               "ece": M.expected_calibration_error,
               "calibration_intercept": M.calibration_intercept,
               "calibration_slope": M.calibration_slope}
RESPONSE_NAMES = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC (average precision)",
                  "brier": "Brier score", "ece": "calibration error (ECE, 10 bins)",
                  "calibration_intercept": "calibration intercept (0 = ideal)",
                  "calibration_slope": "calibration slope (1 = ideal)",
                  "mean_predicted": "mean predicted probability",
                  "prevalence": "observed response rate"}
RELAPSE_NAMES = {"harrell_c": "Harrell's C", "uno_c": "Uno's C", "td_auc_mean":
                 "time-dependent AUC, mean over horizons", "ibs": "integrated Brier score"}


@dataclass
class ExternalData:
    """What the model predicted for the cohort and what happened (one row per patient).

    ``probability``/``risk`` are None for a head the model lacks; ``label``, ``time`` and
    ``event`` are NaN where unknown. ``baselines`` holds published scores on the same patients:
    ``{"response": {name: P(response) or a score}, "relapse": {name: risk}}``.
    ``survival(times)`` gives relapse-free probabilities (patients x times) for the Brier scores.
    """

    groups: np.ndarray
    label: np.ndarray
    probability: np.ndarray | None = None
    time: np.ndarray | None = None
    event: np.ndarray | None = None
    risk: np.ndarray | None = None
    survival: Callable[[np.ndarray], np.ndarray] | None = None
    baselines: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    probability_baselines: tuple[str, ...] = ()  # response baselines giving probabilities


@dataclass
class ExternalResult:
    metrics: dict[str, float] = field(default_factory=dict)
    per_group: pd.DataFrame | None = None


def _ci(metrics: dict[str, float], key: str, fn: Callable[..., float], *arrays: np.ndarray,
        settings: EvalSettings) -> None:
    value, low, high = bootstrap_ci(fn, *arrays, n_boot=settings.n_boot, seed=settings.seed,
                                    alpha=settings.alpha)
    metrics[key], metrics[f"{key}_ci_low"], metrics[f"{key}_ci_high"] = value, low, high


def response_block(y: np.ndarray, p: np.ndarray, settings: EvalSettings,
                   with_ci: Sequence[str] = tuple(RESPONSE_CI)) -> dict[str, float]:
    """Response metrics of labelled patients (NaN labels dropped), CIs for ``with_ci``."""
    keep = ~(np.isnan(y) | np.isnan(p))
    y, p = y[keep], p[keep]
    out: dict[str, float] = {"n_labelled": float(len(y)), "n_positive": float(np.sum(y == 1)),
                             "prevalence": float(np.mean(y)) if len(y) else math.nan,
                             "mean_predicted": float(np.mean(p)) if len(p) else math.nan}
    for name, fn in RESPONSE_CI.items():
        if name in with_ci:
            _ci(out, name, fn, y, p, settings=settings)
        else:
            out[name] = float(fn(y, p))
    return out


def relapse_block(time: np.ndarray, event: np.ndarray, risk: np.ndarray,
                  settings: EvalSettings,
                  survival: Callable[[np.ndarray], np.ndarray] | None = None,
                  with_ci: bool = True) -> dict[str, float]:
    """Harrell's and Uno's C, time-dependent AUC per horizon (CIs), IBS and Brier at the
    horizons (point estimates) of the patients with a complete outcome. The censoring
    distribution of the IPCW metrics is the cohort's own (there is no training data here)."""
    keep = ~(np.isnan(time) | np.isnan(event) | np.isnan(risk))
    t, e, r = time[keep], event[keep], risk[keep]
    surv = None if survival is None else (lambda times: np.asarray(survival(times))[keep])
    values = M.relapse_metrics(t, e, r, surv=surv, horizons=settings.horizons)
    out = {("n_relapse" if k == "n" else k): v for k, v in values.items()}
    if not with_ci:
        return out
    _ci(out, "harrell_c", M.harrell_c, t, e, r, settings=settings)
    _ci(out, "uno_c", M.uno_c, t, e, r, settings=settings)
    for h in settings.horizons:
        key = f"td_auc_{h:g}m"
        if math.isfinite(out.get(key, math.nan)):
            _ci(out, key, lambda tt, ee, rr, h=h: M.time_dependent_auc(tt, ee, rr, [h])[float(h)],
                t, e, r, settings=settings)
    return out


def _paired(metric: str, fn: Callable, y, model: np.ndarray, baseline: np.ndarray,
            name: str, settings: EvalSettings) -> dict[str, float]:
    diff = paired_bootstrap_diff(fn, y, model, baseline, n_boot=settings.n_boot,
                                 seed=settings.seed, alpha=settings.alpha)
    key = metric_key("model_minus", name, metric)
    return {key: diff[0], f"{key}_ci_low": diff[1], f"{key}_ci_high": diff[2],
            f"{key}_p_value": diff[3]}


def evaluate_external(data: ExternalData, settings: EvalSettings) -> ExternalResult:
    """Every metric of the model (and the baselines) on the patients with outcomes."""
    result = ExternalResult()
    m = result.metrics
    y = np.asarray(data.label, dtype=np.float64)
    if data.probability is not None:
        p = np.asarray(data.probability, dtype=np.float64)
        m.update(response_block(y, p, settings))
        labelled = ~(np.isnan(y) | np.isnan(p))
        for name, score in data.baselines.get("response", {}).items():
            score = np.asarray(score, dtype=np.float64)
            keep = labelled & ~np.isnan(score)
            if name in data.probability_baselines:
                values = response_block(y[keep], score[keep], settings, with_ci=("roc_auc",))
            else:  # a score, not a probability (e.g. TMB): ranking only
                values = {"n_labelled": float(keep.sum())}
                _ci(values, "roc_auc", M.roc_auc, y[keep], score[keep], settings=settings)
            m.update({metric_key("baseline", name, k): v for k, v in values.items()})
            m.update(_paired("roc_auc", M.roc_auc, y[keep], p[keep], score[keep], name,
                             settings))
    if data.risk is not None and data.time is not None and data.event is not None:
        t = np.asarray(data.time, dtype=np.float64)
        e = np.asarray(data.event, dtype=np.float64)
        r = np.asarray(data.risk, dtype=np.float64)
        m.update(relapse_block(t, e, r, settings, data.survival))
        complete = ~(np.isnan(t) | np.isnan(e) | np.isnan(r))
        for name, score in data.baselines.get("relapse", {}).items():
            score = np.asarray(score, dtype=np.float64)
            keep = complete & ~np.isnan(score)
            values = {"n_relapse": float(keep.sum())}
            _ci(values, "harrell_c", M.harrell_c, t[keep], e[keep], score[keep],
                settings=settings)
            m.update({metric_key("baseline", name, k): v for k, v in values.items()})
            m.update(_paired("harrell_c", lambda te, rr: M.harrell_c(te[0], te[1], rr),
                             (t[keep], e[keep]), r[keep], score[keep], name, settings))
    result.per_group = per_group_table(data, settings.min_group_n)
    for row in result.per_group.itertuples():
        for metric in ("roc_auc", "ece", "harrell_c"):
            value = getattr(row, metric)
            if math.isfinite(value):
                m[metric_key(metric, str(row.group))] = float(value)
    return result


MIN_CLASS = 5  # a per-group AUC needs this many responders and non-responders


def per_group_table(data: ExternalData, min_n: int) -> pd.DataFrame:
    """Per cancer type: patients, labelled, responders, observed rate, mean predicted, AUC,
    ECE and Harrell's C (NaN below ``min_n`` patients with the outcome, or fewer than
    ``MIN_CLASS`` of either class for AUC and ECE)."""
    groups = pd.Series(np.asarray(data.groups, dtype=object)).fillna("<missing>").astype(str)
    y = np.asarray(data.label, dtype=np.float64)
    rows = []
    for name in sorted(groups.unique()):
        g = (groups == name).to_numpy()
        row = {"group": name, "n": int(g.sum()), "n_labelled": 0, "n_positive": 0,
               "observed": math.nan, "mean_predicted": math.nan, "roc_auc": math.nan,
               "ece": math.nan, "n_relapse": 0, "harrell_c": math.nan}
        if data.probability is not None:
            p = np.asarray(data.probability, dtype=np.float64)
            keep = g & ~np.isnan(y) & ~np.isnan(p)
            row.update(n_labelled=int(keep.sum()), n_positive=int(np.sum(y[keep] == 1)))
            if keep.any():
                row.update(observed=float(y[keep].mean()), mean_predicted=float(p[keep].mean()))
            n_pos = int(np.sum(y[keep] == 1))
            if keep.sum() >= min_n and min(n_pos, int(keep.sum()) - n_pos) >= MIN_CLASS:
                row.update(roc_auc=M.roc_auc(y[keep], p[keep]),
                           ece=M.expected_calibration_error(y[keep], p[keep]))
        if data.risk is not None and data.time is not None and data.event is not None:
            t, e = np.asarray(data.time, float), np.asarray(data.event, float)
            r = np.asarray(data.risk, float)
            keep = g & ~(np.isnan(t) | np.isnan(e) | np.isnan(r))
            row["n_relapse"] = int(keep.sum())
            if keep.sum() >= min_n:
                row["harrell_c"] = M.harrell_c(t[keep], e[keep], r[keep])
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- report
def fmt(metrics: Mapping[str, float], key: str, digits: int = 3) -> str:
    """``0.712 (0.650–0.770)``; ``–`` when not computed."""
    value = metrics.get(key)
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:.{digits}f}"
    low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
        text += f" ({low:.{digits}f}–{high:.{digits}f})"
    return text


def _table(rows: list[tuple[str, str]], header: tuple[str, str]) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def baseline_names(metrics: Mapping[str, float], metric: str) -> list[str]:
    start, end = "baseline_", f"_{metric}"
    return sorted(k[len(start):-len(end)] for k in metrics
                  if k.startswith(start) and k.endswith(end)
                  and not k.endswith(("_ci_low", "_ci_high")))


def response_section(metrics: Mapping[str, float]) -> str:
    if "roc_auc" not in metrics:
        return ""
    rows = [(f"{RESPONSE_NAMES[k]} (`{k}`)", fmt(metrics, k)) for k in RESPONSE_NAMES]
    return _table(rows, ("metric", "value (95% CI)"))


def relapse_section(metrics: Mapping[str, float], horizons: Sequence[float]) -> str:
    if "harrell_c" not in metrics:
        return ""
    keys = ["harrell_c", "uno_c", *[f"td_auc_{h:g}m" for h in horizons], "td_auc_mean", "ibs",
            *[f"brier_{h:g}m" for h in horizons]]
    rows = [(f"{RELAPSE_NAMES.get(k, k)} (`{k}`)", fmt(metrics, k)) for k in keys]
    rows.append(("patients / events", f"{metrics.get('n_relapse', 0):.0f} / "
                 f"{metrics.get('n_events', 0):.0f}"))
    return _table(rows, ("metric", "value (95% CI)"))


def baseline_section(metrics: Mapping[str, float], metric: str) -> str:
    names = baseline_names(metrics, metric)
    if not names:
        return ""
    n_model = metrics.get("n_labelled" if metric == "roc_auc" else "n_relapse", 0)
    lines = [f"| learner | patients | {metric} (95% CI) | model − baseline (95% CI) | p |",
             "|---|---|---|---|---|",
             f"| **model** | {n_model:.0f} | {fmt(metrics, metric)} | | |"]
    for name in names:
        n_key = f"baseline_{name}_" + ("n_labelled" if metric == "roc_auc" else "n_relapse")
        diff = f"model_minus_{name}_{metric}"
        p = metrics.get(f"{diff}_p_value")
        lines.append(f"| {name} | {metrics.get(n_key, 0):.0f} | "
                     f"{fmt(metrics, f'baseline_{name}_{metric}')} | {fmt(metrics, diff)} | "
                     f"{'–' if p is None or not math.isfinite(p) else f'{p:.3g}'} |")
    return "\n".join(lines)


def group_section(table: pd.DataFrame | None) -> str:
    if table is None or table.empty:
        return ""

    def cell(value: float, digits: int = 3) -> str:
        return f"{value:.{digits}f}" if math.isfinite(value) else "–"

    lines = ["| cancer type | patients | labelled | responders | observed | mean predicted | "
             "ROC AUC | ECE | relapse patients | Harrell's C |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.group} | {r.n} | {r.n_labelled} | {r.n_positive} | "
                     f"{cell(r.observed)} | {cell(r.mean_predicted)} | {cell(r.roc_auc)} | "
                     f"{cell(r.ece)} | {r.n_relapse} | {cell(r.harrell_c)} |")
    return "\n".join(lines)


def render_external_report(metrics: Mapping[str, float], *, title: str, notes: Sequence[str],
                           per_group: pd.DataFrame | None, horizons: Sequence[float],
                           extra_sections: Sequence[tuple[str, str]] = ()) -> str:
    """The markdown report of an external evaluation (sections without numbers left out)."""
    parts = [f"# {title}", "", *[f"- {n}" for n in notes], ""]
    sections = [
        ("Response", response_section(metrics)),
        ("Response: published baselines on the same patients (paired bootstrap)",
         baseline_section(metrics, "roc_auc")),
        ("Relapse", relapse_section(metrics, horizons)),
        ("Relapse: published baselines on the same patients (paired bootstrap)",
         baseline_section(metrics, "harrell_c")),
        ("By cancer type", group_section(per_group)),
        *extra_sections,
    ]
    for heading, body in sections:
        if body:
            parts += [f"## {heading}", "", body, ""]
    return "\n".join(parts).rstrip() + "\n"


# ---------------------------------------------------------------------------- plots
def write_external_plots(folder: Path, data: ExternalData,
                         horizons: Sequence[float]) -> list[Path]:
    """ROC and precision-recall (model and baselines), calibration curve, Kaplan-Meier by
    predicted-risk tertile and predicted vs observed relapse-free probability per horizon."""
    from predictor.evaluation import plots as P

    written: list[Path] = []
    y = np.asarray(data.label, dtype=np.float64)
    if data.probability is not None and len(np.unique(y[~np.isnan(y)])) == 2:
        scores = {"model": np.asarray(data.probability, dtype=np.float64),
                  **{k: np.asarray(v, dtype=np.float64)
                     for k, v in data.baselines.get("response", {}).items()}}
        written.append(P.plot_roc(y, scores, folder / "roc.png"))
        written.append(P.plot_precision_recall(y, scores, folder / "precision_recall.png"))
        written.append(P.plot_calibration(y, {"model": scores["model"]},
                                          folder / "calibration.png"))
    if data.risk is not None and data.time is not None and data.event is not None:
        written.append(P.plot_km_by_risk(data.time, data.event, data.risk,
                                         folder / "km_by_risk.png"))
        if data.survival is not None:
            surv = np.asarray(data.survival(np.asarray(horizons, dtype=np.float64)))
            for j, h in enumerate(horizons):
                written.append(P.plot_survival_calibration(
                    data.time, data.event, surv[:, j], h,
                    folder / f"relapse_calibration_{h:g}m.png"))
    return written
