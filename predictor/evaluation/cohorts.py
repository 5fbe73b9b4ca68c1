"""Leave-one-cohort-out numbers: each held-out cohort's AUC for the model and every baseline,
their mean over cohorts, and the paired model - baseline differences over cohorts.

Why per cohort: pooled out-of-fold scores of different cohorts mix batch and case-mix shifts
(a model can rank one cohort's patients well and still put all of another cohort above it), so
with pooled cohorts the honest question is how well each unseen cohort is ranked. The paired
difference is taken cohort by cohort on the cohorts where both learners have an AUC (a baseline
such as TMB may exist in a few cohorts only), and summarised by its mean, SD, range, the number
of cohorts the model wins, and a two-sided exact Wilcoxon signed-rank p-value.

Metric names (``<c>`` a cohort): ``cv_roc_auc_cohort_<c>``, ``cv_ece_cohort_<c>``,
``cv_roc_auc_cohort_mean``; ``cv_baseline_<name>_roc_auc_cohort_<c>`` and ``..._mean``;
``cv_model_minus_<name>_roc_auc_cohort_{mean,sd,min,max,n_cohorts,n_wins,wilcoxon_p}``.
The relapse head (and its baselines) get Harrell's C per held-out cohort the same way:
``cv_harrell_c_cohort_<c>``, ``cv_baseline_<name>_harrell_c_cohort_<c>`` and their ``_mean``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from predictor.evaluation import metrics as M

STEM = "roc_auc_cohort"


def _key(*parts: str) -> str:
    text = "_".join(p for p in parts if p)
    return re.sub(r"[^0-9A-Za-z_\-./ ]+", "_", text).strip("_")


def cohort_auc(y: np.ndarray, scores: np.ndarray, cohorts: np.ndarray, min_n: int = 1
               ) -> pd.DataFrame:
    """Per cohort: n, responders, ROC AUC and ECE, averaged over the columns (repeats) of a
    score matrix (leave-one-cohort-out has one)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(len(y), -1)
    rows = []
    for name in sorted(set(cohorts)):
        in_cohort = cohorts == name
        aucs, eces, ns, npos = [], [], [], []
        for r in range(scores.shape[1]):
            keep = in_cohort & ~np.isnan(y) & ~np.isnan(scores[:, r])
            ns.append(int(keep.sum()))
            npos.append(int(np.sum(y[keep] == 1)))
            if keep.sum() >= min_n:
                aucs.append(M.roc_auc(y[keep], scores[keep, r]))
                eces.append(M.expected_calibration_error(y[keep], scores[keep, r]))
        rows.append({"group": name, "n": max(ns), "n_positive": max(npos),
                     "roc_auc": float(np.mean(aucs)) if aucs else math.nan,
                     "ece": float(np.mean(eces)) if eces else math.nan})
    return pd.DataFrame(rows, columns=["group", "n", "n_positive", "roc_auc", "ece"])


def paired_over_cohorts(model: Mapping[str, float], baseline: Mapping[str, float]
                        ) -> dict[str, float]:
    """Summary of model - baseline AUC over the cohorts where both are finite."""
    shared = [c for c in model if c in baseline and math.isfinite(model[c])
              and math.isfinite(baseline[c])]
    diff = np.array([model[c] - baseline[c] for c in shared])
    out = {"n_cohorts": float(len(diff))}
    if not len(diff):
        return out
    out.update({"mean": float(diff.mean()), "min": float(diff.min()), "max": float(diff.max()),
                "n_wins": float(np.sum(diff > 0)),
                "sd": float(diff.std(ddof=1)) if len(diff) > 1 else math.nan,
                "model_mean": float(np.mean([model[c] for c in shared])),
                "baseline_mean": float(np.mean([baseline[c] for c in shared]))})
    nonzero = diff[diff != 0]
    if len(nonzero) >= 1:
        from scipy.stats import wilcoxon

        out["wilcoxon_p"] = float(wilcoxon(nonzero, alternative="two-sided",
                                           method="exact").pvalue)
    return out


def cohort_metrics(y: np.ndarray, scores: Mapping[str, np.ndarray], cohorts: np.ndarray,
                   model_name: str = "model") -> tuple[dict[str, float], pd.DataFrame]:
    """Flat ``cv_*`` metrics and a wide table (cohort, n, responders, one AUC column per
    learner) from the out-of-fold scores of the response learners (``{name: scores}``)."""
    metrics: dict[str, float] = {}
    aucs: dict[str, dict[str, float]] = {}
    table = None
    for name, matrix in scores.items():
        per = cohort_auc(y, matrix, cohorts)
        middle = "" if name == model_name else f"baseline_{name}"
        aucs[name] = dict(zip(per["group"], per["roc_auc"], strict=True))
        for row in per.itertuples():
            metrics[_key("cv", middle, STEM, str(row.group))] = float(row.roc_auc)
            if name == model_name:
                metrics[_key("cv_ece_cohort", str(row.group))] = float(row.ece)
        finite = [v for v in aucs[name].values() if math.isfinite(v)]
        metrics[_key("cv", middle, STEM, "mean")] = float(np.mean(finite)) if finite else math.nan
        if table is None:
            table = per[["group", "n", "n_positive"]].copy()
        table[name] = per["roc_auc"].to_numpy()
    if model_name in aucs:
        for name in aucs:
            if name == model_name:
                continue
            for stat, value in paired_over_cohorts(aucs[model_name], aucs[name]).items():
                metrics[_key("cv_model_minus", name, STEM, stat)] = value
    return metrics, table if table is not None else pd.DataFrame()


def cohort_c_metrics(time: np.ndarray, event: np.ndarray, scores: Mapping[str, np.ndarray],
                     cohorts: np.ndarray, model_name: str = "model") -> dict[str, float]:
    """Harrell's C of each held-out cohort for the relapse learners, and the mean over cohorts
    (first score column: leave-one-cohort-out has one repeat)."""
    out: dict[str, float] = {}
    for name, matrix in scores.items():
        risk = np.asarray(matrix, dtype=np.float64).reshape(len(time), -1)[:, 0]
        middle = "" if name == model_name else f"baseline_{name}"
        values = []
        for cohort in sorted(set(cohorts)):
            keep = (cohorts == cohort) & ~(np.isnan(time) | np.isnan(event) | np.isnan(risk))
            c = M.harrell_c(time[keep], event[keep], risk[keep]) if keep.sum() >= 2 else math.nan
            out[_key("cv", middle, "harrell_c_cohort", str(cohort))] = float(c)
            values.append(c)
        finite = [v for v in values if math.isfinite(v)]
        out[_key("cv", middle, "harrell_c_cohort_mean")] = (float(np.mean(finite)) if finite
                                                           else math.nan)
    return out


# ---------------------------------------------------------------------------- report
def cohort_report(metrics: Mapping[str, float]) -> str:
    """Markdown: per-cohort AUC of the model and each baseline, the mean over cohorts, and the
    paired differences (built from the flat metrics alone, like the rest of the report)."""
    mean_key = f"cv_{STEM}_mean"
    if mean_key not in metrics:
        return ""
    prefix = f"cv_{STEM}_"
    cohorts = sorted(k[len(prefix):] for k in metrics
                     if k.startswith(prefix) and k != mean_key)
    start, end = "cv_baseline_", f"_{STEM}_mean"
    baselines = sorted(k[len(start):-len(end)] for k in metrics
                       if k.startswith(start) and k.endswith(end))

    def cell(key: str) -> str:
        value = metrics.get(key)
        return f"{value:.3f}" if value is not None and math.isfinite(value) else "–"

    header = ["cohort", "**model**", *baselines]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]
    for cohort in [*cohorts, "mean"]:
        cells = [cell(f"cv_{STEM}_{cohort}")]
        cells += [cell(f"cv_baseline_{b}_{STEM}_{cohort}") for b in baselines]
        label = "**mean over cohorts**" if cohort == "mean" else cohort
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    rows = []
    for b in baselines:
        stem = f"cv_model_minus_{b}_{STEM}_"
        n = metrics.get(stem + "n_cohorts")
        if not n:
            continue
        rows.append(f"| {b} | {int(n)} | {cell(stem + 'model_mean')} | "
                    f"{cell(stem + 'baseline_mean')} | {cell(stem + 'mean')} | "
                    f"{cell(stem + 'sd')} | {cell(stem + 'min')} to {cell(stem + 'max')} | "
                    f"{int(metrics.get(stem + 'n_wins', 0))}/{int(n)} | "
                    f"{cell(stem + 'wilcoxon_p')} |")
    if rows:
        lines += ["", "Paired over held-out cohorts (cohorts where both have an AUC):", "",
                  "| baseline | cohorts | model mean | baseline mean | model − baseline: mean "
                  "| SD | range | model wins | Wilcoxon p |",
                  "|---|---|---|---|---|---|---|---|---|", *rows]
    return "\n".join(lines)


def learners_with_scores(scores: Mapping[str, np.ndarray], head: str,
                         names: Iterable[str]) -> dict[str, np.ndarray]:
    """``{learner name: scores}`` of one head's learners that have out-of-fold scores."""
    return {name: scores[f"{head}/{name}"] for name in names if f"{head}/{name}" in scores}
