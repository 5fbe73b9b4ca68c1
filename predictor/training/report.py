"""What a run leaves in its output folder besides the bundle: plots, ``report.md``,
``metrics.json`` and ``config_resolved.yaml``."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictor.data.labels import describe_landmark
from predictor.evaluation import harness as H
from predictor.evaluation.plan import EvaluationPlan
from predictor.files import write_json, write_text_atomic
from predictor.training.data import CohortData, TrainingData


@dataclass(frozen=True)
class RunFiles:
    """The files and folders a run wrote (logged to MLflow as artifacts)."""

    report: Path
    metrics: Path
    config: Path
    plots: Path
    extra: tuple[Path, ...] = ()    # further artifacts (e.g. regimen_overlap.csv)


def write_plots(plots_dir: Path, fit: H.FinalFit, targets: H.Targets, scores: dict[str, Any],
                X: pd.DataFrame | None) -> None:
    """ROC/PR/calibration (response), KM by risk tertile (relapse), importance, contributions."""
    from predictor.evaluation import plots as P

    def named(head: str) -> dict[str, np.ndarray]:
        return {key.split("/", 1)[1]: np.asarray(s) for key, s in scores.items()
                if key.startswith(head + "/")}

    y = targets.response.to_numpy(dtype=float)
    response = named(H.RESPONSE)
    if response and np.isfinite(y).any():
        P.plot_roc(y, response, plots_dir / "roc.png")
        P.plot_precision_recall(y, response, plots_dir / "precision_recall.png")
        if H.MODEL in response:
            P.plot_calibration(y, {H.MODEL: response[H.MODEL]}, plots_dir / "calibration.png")
    relapse = named(H.RELAPSE)
    if H.MODEL in relapse:
        P.plot_km_by_risk(targets.time.to_numpy(float), targets.event.to_numpy(float),
                          relapse[H.MODEL], plots_dir / "km_by_risk.png")
    for head in (H.RESPONSE, H.RELAPSE):
        model = fit.models.get(f"{head}/{H.MODEL}")
        if model is None:
            continue
        P.plot_feature_importance(model.feature_importance(),
                                  plots_dir / f"importance_{head}.png")
        if X is not None and hasattr(model, "contributions"):
            sample = X.iloc[:500]
            P.plot_contributions(model.contributions(sample), sample,
                                 plots_dir / f"contributions_{head}.png")


def contribution_sections(fit: H.FinalFit) -> list[tuple[str, str]]:
    """Report sections: top features by mean |contribution| of each final head (training rows)."""
    from predictor.evaluation.report import contribution_table

    sections = []
    for head, what in ((H.RESPONSE, "response (log-odds)"), (H.RELAPSE, "relapse (log hazard)")):
        model = fit.models.get(f"{head}/{H.MODEL}")
        if model is None or not hasattr(model, "contributions") or not len(fit.X_train):
            continue
        table = contribution_table(model.contributions(fit.X_train), fit.X_train)
        if table:
            sections.append((f"Feature contributions: {what}, final model, training patients",
                             table))
    return sections


def write_run_files(output_dir: Path, *, name: str, resolved_config: dict,
                    data_spec: CohortData, plan: EvaluationPlan, data: TrainingData,
                    fit: H.FinalFit, ev: H.Evaluation, cv: H.CVPredictions,
                    eval_targets: H.Targets, eval_prefix: str,
                    test_scores: dict[str, np.ndarray], regimens: Any = None) -> RunFiles:
    """Plots (of the held-out test, else of the first CV repeat), report, metrics, config."""
    from omegaconf import OmegaConf

    from predictor.evaluation.report import render_report, write_report

    if eval_prefix == "test":
        plot_scores: dict[str, Any] = test_scores
        X_plot = ev.plot_data.get("X_test")
    else:  # no held-out test: plot the first repeat's out-of-fold predictions
        plot_scores = {key: s[:, 0] for key, s in cv.scores.items()}
        X_plot = fit.X_train
    plots_dir = output_dir / "plots"
    if plots_dir.is_dir():  # plots of an earlier run in the same folder would be logged too
        shutil.rmtree(plots_dir)
    if plan.plots:
        write_plots(plots_dir, fit, eval_targets, plot_scores, X_plot)
    notes = [f"training patients: {len(data.train)}; held-out test patients: "
             f"{0 if data.test is None else len(data.test)}",
             plan.describe(),
             f"response label: {data_spec.response_rule.describe()}; relapse endpoint: "
             f"{data_spec.relapse_endpoint}{describe_landmark(data_spec.landmark_day)}"]
    sections, extra = contribution_sections(fit), []
    (output_dir / "regimen_overlap.csv").unlink(missing_ok=True)  # an earlier run's
    if regimens is not None:  # training.regimens.RegimenResult
        from predictor.training.regimens import report_section

        sections.insert(0, ("Regimens: effect learner and propensity overlap",
                            report_section(regimens)))
        if regimens.overlap is not None:
            extra.append(write_text_atomic(output_dir / "regimen_overlap.csv",
                                           regimens.overlap.to_csv(index=False)))
    report_path = write_report(output_dir / "report.md", render_report(
        ev.metrics, title=f"predictor training run: {name}", per_group=ev.per_group,
        failures=ev.failures, notes=notes, extra_sections=sections))
    metrics_path = write_json(output_dir / "metrics.json",
                              {k: (v if math.isfinite(v) else None)
                               for k, v in ev.metrics.items()}, default=float)
    config_path = write_text_atomic(output_dir / "config_resolved.yaml",
                                    OmegaConf.to_yaml(OmegaConf.create(resolved_config)))
    return RunFiles(report=report_path, metrics=metrics_path, config=config_path,
                    plots=plots_dir, extra=tuple(extra))
