"""Evaluation figures. Each function writes one PNG atomically and returns its path.

Figures are built with ``matplotlib.figure.Figure`` and rendered by the Agg canvas, without
pyplot: no display is needed (servers, CI), the global backend of the caller is untouched and
no figure stays registered in memory across long CV runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from predictor.evaluation.metrics import clean_survival
from predictor.files import atomic_path

Scores = Mapping[str, Sequence[float]] | Sequence[float]


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _save(fig: Figure, path: Path | str) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    return path


def _legend(ax: Axes, loc: str) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc=loc, fontsize=8)


def _named(scores: Scores) -> dict[str, np.ndarray]:
    if isinstance(scores, Mapping):
        return {str(k): np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    return {"model": np.asarray(scores, dtype=np.float64)}


def _labelled(y: Sequence[float], p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    keep = ~(np.isnan(y) | np.isnan(p))
    return y[keep], p[keep]


def _curves(y: Sequence[float], scores: Scores) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(name, labels, scores) of each scored learner on its labelled patients, skipping one
    whose labels are a single class (no curve to draw)."""
    for name, p in _named(scores).items():
        yy, pp = _labelled(y, p)
        if len(np.unique(yy)) >= 2:
            yield name, yy, pp


def plot_roc(y: Sequence[float], scores: Scores, path: Path | str,
             title: str = "ROC curve") -> Path:
    """ROC curves of the model and baselines on one plot, AUC in the legend."""
    fig, ax = _figure(5, 5)
    for name, yy, pp in _curves(y, scores):
        fpr, tpr, _ = roc_curve(yy, pp)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(yy, pp):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1))
    _legend(ax, "lower right")
    return _save(fig, path)


def plot_precision_recall(y: Sequence[float], scores: Scores, path: Path | str,
                          title: str = "Precision-recall") -> Path:
    """Precision-recall curves with average precision; the dashed line is the prevalence."""
    fig, ax = _figure(5, 5)
    prevalence = float("nan")
    for name, yy, pp in _curves(y, scores):
        prevalence = float(yy.mean())
        precision, recall, _ = precision_recall_curve(yy, pp)
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(yy, pp):.3f})")
    if np.isfinite(prevalence):
        ax.axhline(prevalence, ls="--", color="grey", lw=1)
    ax.set(xlabel="recall", ylabel="precision", title=title, xlim=(0, 1), ylim=(0, 1.02))
    _legend(ax, "upper right")
    return _save(fig, path)


def plot_calibration(y: Sequence[float], probabilities: Scores, path: Path | str,
                     n_bins: int = 10, title: str = "Calibration") -> Path:
    """Reliability curve (observed rate vs mean predicted probability, equal-width bins)."""
    fig, ax = _figure(5, 5)
    for name, yy, pp in _curves(y, probabilities):
        observed, predicted = calibration_curve(yy, np.clip(pp, 0, 1), n_bins=n_bins,
                                                strategy="uniform")
        ax.plot(predicted, observed, marker="o", label=name)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    ax.set(xlabel="predicted probability", ylabel="observed response rate", title=title,
           xlim=(0, 1), ylim=(0, 1))
    _legend(ax, "upper left")
    return _save(fig, path)


def risk_groups(risk: Sequence[float], n_groups: int = 3) -> np.ndarray:
    """0 (lowest risk) .. n_groups-1 by quantiles of the predicted risk (tertiles by default)."""
    risk = np.asarray(risk, dtype=np.float64)
    ranks = pd.Series(risk).rank(method="first").to_numpy()
    return np.minimum(((ranks - 1) * n_groups / len(risk)).astype(int), n_groups - 1)


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan-Meier step function from time 0 (survival 1): event times and S(t) after
    each (scikit-survival's estimator; the same curve as lifelines', see
    experiments/survival_library_check.py)."""
    from sksurv.nonparametric import kaplan_meier_estimator

    x, y = kaplan_meier_estimator(np.asarray(event, dtype=bool), np.asarray(time, dtype=float))
    return np.concatenate([[0.0], x]), np.concatenate([[1.0], y])


def logrank_p(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> float:
    """p-value of the log-rank test that the groups share one survival curve."""
    from sksurv.compare import compare_survival

    target = np.empty(len(time), dtype=[("event", bool), ("time", np.float64)])
    target["event"], target["time"] = np.asarray(event, dtype=bool), time
    return float(compare_survival(target, np.asarray(group))[1])


def plot_km_by_risk(time: Sequence[float], event: Sequence[float], risk: Sequence[float],
                    path: Path | str, n_groups: int = 3,
                    title: str = "Relapse-free survival by predicted risk",
                    time_unit: str = "months") -> Path:
    """Kaplan-Meier curves per predicted-risk group with the log-rank p-value."""
    time, event, risk = clean_survival(time, event, risk)
    fig, ax = _figure(6, 4.5)
    if len(time) >= n_groups:
        group = risk_groups(risk, n_groups)
        names = ["low", "intermediate", "high"] if n_groups == 3 else \
            [f"group {g + 1}" for g in range(n_groups)]
        for g in range(n_groups):
            mask = group == g
            x, y = kaplan_meier(time[mask], event[mask])
            ax.step(x, y, where="post", label=f"{names[g]} risk (n={int(mask.sum())})")
        _legend(ax, "upper right")
        if event.sum() > 0:
            p = logrank_p(time, event, group)
            ax.text(0.02, 0.04, f"log-rank p = {p:.3g}", transform=ax.transAxes)
    ax.set(xlabel=f"time ({time_unit})", ylabel="relapse-free probability", title=title,
           ylim=(0, 1.02))
    return _save(fig, path)


def plot_feature_importance(importance: pd.Series | Mapping[str, float], path: Path | str,
                            top: int = 20, title: str = "Feature importance (gain)") -> Path:
    """Horizontal bars of the ``top`` features (e.g. ``model.feature_importance()``)."""
    series = pd.Series(importance, dtype=np.float64).sort_values(ascending=False).head(top)
    fig, ax = _figure(6, 0.3 * len(series) + 1.2)
    ax.barh(series.index[::-1], series.to_numpy()[::-1], color="#4477aa")
    ax.set(xlabel="total gain", title=title)
    return _save(fig, path)


def plot_contributions(contributions: pd.DataFrame, features: pd.DataFrame | None,
                       path: Path | str, top: int = 15,
                       title: str = "Feature contributions (raw score)") -> Path:
    """Beeswarm-like summary of per-patient contributions (``model.contributions(X)``, from
    LightGBM ``pred_contrib``): one row per feature ordered by mean |contribution|, points
    coloured by the feature's value (rank-scaled within the feature; grey when missing)."""
    contrib = contributions.drop(columns=["bias"], errors="ignore")
    order = contrib.abs().mean().sort_values(ascending=False).head(top).index[::-1]
    fig, ax = _figure(7, 0.35 * len(order) + 1.5)
    rng = np.random.default_rng(0)
    cmap = matplotlib.colormaps["coolwarm"]
    for row, name in enumerate(order):
        x = contrib[name].to_numpy(dtype=np.float64)
        jitter = rng.uniform(-0.3, 0.3, size=len(x))
        if features is not None and name in features.columns:
            value = pd.Series(features[name].to_numpy(dtype=np.float64))
            scaled = value.rank(pct=True).to_numpy()
            colours = [cmap(s) if np.isfinite(s) else (0.6, 0.6, 0.6, 1.0) for s in scaled]
        else:
            colours = ["#4477aa"] * len(x)
        ax.scatter(x, row + jitter, c=colours, s=8, linewidths=0)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(range(len(order)), list(order))
    ax.set(xlabel="contribution to raw score", title=title)
    if features is not None:
        sm = ScalarMappable(cmap=cmap)
        bar = fig.colorbar(sm, ax=ax, pad=0.01)
        bar.set_label("feature value (low → high)")
        bar.set_ticks([])
    return _save(fig, path)


def plot_survival_calibration(time: Sequence[float], event: Sequence[float],
                              predicted: Sequence[float], horizon: float, path: Path | str,
                              n_groups: int = 5, time_unit: str = "months") -> Path:
    """Predicted vs observed (Kaplan-Meier) relapse-free probability at ``horizon``, in
    ``n_groups`` quantile groups of the prediction (e.g. ``relapse_free_probability_12m``)."""
    time, event, predicted = clean_survival(time, event, predicted)
    fig, ax = _figure(5, 5)
    if len(time) >= n_groups:
        group = risk_groups(predicted, n_groups)
        mean_pred, observed = [], []
        for g in range(n_groups):
            mask = group == g
            x, y = kaplan_meier(time[mask], event[mask])
            mean_pred.append(float(predicted[mask].mean()))
            observed.append(float(y[np.searchsorted(x, float(horizon), side="right") - 1]))
        ax.plot(mean_pred, observed, marker="o", label=f"model ({n_groups} groups)")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    ax.set(xlabel=f"predicted relapse-free probability at {horizon:g} {time_unit}",
           ylabel="observed (Kaplan-Meier)", xlim=(0, 1), ylim=(0, 1),
           title=f"Calibration at {horizon:g} {time_unit}")
    _legend(ax, "upper left")
    return _save(fig, path)
