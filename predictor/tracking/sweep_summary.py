"""One table per Hydra sweep: each job's varying overrides and cross-validated metrics.

Why: after ``predictor-train -m ...`` (or an Optuna search) the user wants to see which setting
won without opening the MLflow UI (often out of reach on a cluster). The table is written to
``<sweep dir>/sweep_summary.{md,csv}``, printed at the end of the sweep and, with tracking on,
logged to the parent run. It shows cross-validation metrics only: choosing a setting by its
held-out test score would be tuning on the test set.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from predictor.files import atomic_path

SUMMARY_STEM = "sweep_summary"
METRICS = ("cv_roc_auc", "cv_roc_auc_repeat_sd", "cv_ece", "cv_harrell_c", "cv_ibs")


@dataclass
class JobResult:
    """What one sweep job gave: its overrides, status, objective and output folder."""

    number: int
    overrides: list[str]
    status: str
    objective: float | None
    output_dir: Path | None
    metrics: dict[str, float] = field(default_factory=dict)


def job_result(job_return: Any) -> JobResult:
    """A :class:`JobResult` from Hydra's ``JobReturn`` (the job's metrics.json read if any)."""
    hydra_cfg = getattr(job_return, "hydra_cfg", None)
    number = _select(hydra_cfg, "hydra.job.num")
    folder = _select(hydra_cfg, "hydra.runtime.output_dir")
    number = -1 if number is None else int(number)
    output_dir = None if folder is None else Path(str(folder))
    status = getattr(getattr(job_return, "status", None), "name", "UNKNOWN")
    objective = None
    if status == "COMPLETED":
        value = getattr(job_return, "_return_value", None)
        if isinstance(value, int | float) and math.isfinite(float(value)):
            objective = float(value)
    metrics: dict[str, float] = {}
    if output_dir is not None and (output_dir / "metrics.json").is_file():
        stored = json.loads((output_dir / "metrics.json").read_text(encoding="utf-8"))
        metrics = {k: float(stored[k]) for k in METRICS if isinstance(stored.get(k), int | float)}
    return JobResult(number=number, overrides=list(getattr(job_return, "overrides", None) or []),
                     status=status, objective=objective, output_dir=output_dir, metrics=metrics)


def _select(cfg: Any, key: str) -> Any:
    """``cfg.<key>`` or None when absent or unset (``???``)."""
    if cfg is None:
        return None
    from omegaconf import OmegaConf

    return OmegaConf.select(cfg, key, default=None, throw_on_missing=False)


def varying_overrides(jobs: Sequence[JobResult]) -> list[str]:
    """Override keys whose value differs between jobs (the swept ones), in first-seen order."""
    given = [_as_dict(job.overrides) for job in jobs]
    keys = list(dict.fromkeys(k for g in given for k in g))
    return [k for k in keys if len({g.get(k) for g in given}) > 1]


def _as_dict(overrides: Iterable[str]) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in overrides)


def summary_frame(jobs: Iterable[JobResult], objective_name: str) -> pd.DataFrame:
    """One row per job, best objective first (failed jobs last)."""
    jobs = list(jobs)
    keys = varying_overrides(jobs)
    rows = []
    for job in jobs:
        given = _as_dict(job.overrides)
        rows.append({"job": job.number, **{k: given.get(k, "") for k in keys},
                     f"objective ({objective_name})": job.objective,
                     **{m: job.metrics.get(m) for m in METRICS if m != objective_name},
                     "status": job.status,
                     "output": str(job.output_dir) if job.output_dir else ""})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    objective = f"objective ({objective_name})"
    return frame.sort_values([objective, "job"], ascending=[False, True],
                             na_position="last", kind="stable").reset_index(drop=True)


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-style table (numbers to 3 decimals, missing as –)."""
    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def write_summary(frame: pd.DataFrame, sweep_dir: Path) -> list[Path]:
    """``sweep_summary.csv`` and ``.md`` in ``sweep_dir``, each written atomically."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    paths = [sweep_dir / f"{SUMMARY_STEM}.csv", sweep_dir / f"{SUMMARY_STEM}.md"]
    with atomic_path(paths[0]) as tmp:
        frame.to_csv(tmp, index=False)
    with atomic_path(paths[1]) as tmp:
        Path(tmp).write_text(to_markdown(frame) + "\n", encoding="utf-8")
    return paths
