"""How a run is evaluated, built from the ``evaluation`` config group by ``_target_``.

One object answers the three questions the training run asks of its evaluation settings:
which outer folds (:meth:`EvaluationPlan.splits`), how numbers are summarised
(:meth:`EvaluationPlan.settings`: bootstrap size, CI level, per-group floor), and how to say so
in the report (:meth:`EvaluationPlan.describe`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from predictor.evaluation.harness import EvalSettings, Split, Targets, make_splits

# The summary defaults have one source, EvalSettings: a plan built without them (a test, a
# config missing a key) summarises exactly as the harness does on its own.
_SUMMARY = EvalSettings()


@dataclass(frozen=True)
class EvaluationPlan:
    """Repeated stratified K-fold CV on the training part, percentile bootstrap CIs."""

    n_splits: int = 5
    n_repeats: int = 2
    n_boot: int = _SUMMARY.n_boot
    ci_level: float = _SUMMARY.ci_level
    min_group_n: int = _SUMMARY.min_group_n
    plots: bool = True

    def splits(self, targets: Targets, seed: int,
               cohort_groups: pd.Series | None = None) -> list[Split]:
        """The outer folds: stratified by label x group, or leave-one-cohort-out."""
        return make_splits(targets, n_splits=int(self.n_splits), n_repeats=int(self.n_repeats),
                           seed=seed, cohort_groups=cohort_groups)

    def settings(self, seed: int, horizons: Sequence[float]) -> EvalSettings:
        """The summary settings the harness takes (with the run's seed and relapse horizons)."""
        return EvalSettings(n_boot=int(self.n_boot), ci_level=float(self.ci_level),
                            min_group_n=int(self.min_group_n), seed=int(seed),
                            horizons=tuple(float(h) for h in horizons))

    def describe(self) -> str:
        """The report's note on how the numbers were obtained."""
        return (f"CV: {self.n_splits}-fold x {self.n_repeats} repeats (feature pipeline fitted "
                "inside each fold); CIs: percentile bootstrap over patients, "
                f"{self.n_boot} resamples")
