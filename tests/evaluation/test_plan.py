"""The evaluation plan built from the ``evaluation`` config group."""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.evaluation.harness import EvalSettings, Targets
from predictor.evaluation.plan import EvaluationPlan


def _targets(n: int = 60) -> Targets:
    rng = np.random.default_rng(0)
    index = pd.Index([f"p{i}" for i in range(n)], dtype="string")
    return Targets(response=pd.Series(rng.integers(0, 2, n).astype(float), index=index),
                   time=pd.Series(rng.exponential(10, n), index=index),
                   event=pd.Series(np.ones(n), index=index),
                   groups=pd.Series(["a", "b"] * (n // 2), index=index))


def test_splits_cover_every_patient_once_per_repeat_and_settings_carry_the_run() -> None:
    plan = EvaluationPlan(n_splits=3, n_repeats=2, n_boot=50, ci_level=0.9, min_group_n=5)
    splits = plan.splits(_targets(), seed=1)
    assert len(splits) == 6
    for repeat in (0, 1):
        held = np.concatenate([s.test for s in splits if s.repeat == repeat])
        assert sorted(held.tolist()) == list(range(60))
    cohorts = pd.Series(["x"] * 30 + ["y"] * 30)
    assert len(plan.splits(_targets(), seed=1, cohort_groups=cohorts)) == 2  # leave one out
    settings = plan.settings(seed=7, horizons=[6, 12])
    assert (settings.n_boot, settings.seed, settings.horizons) == (50, 7, (6.0, 12.0))
    assert abs(settings.alpha - 0.1) < 1e-12
    assert "3-fold x 2 repeats" in plan.describe() and "50 resamples" in plan.describe()


def test_a_default_plan_summarises_as_the_default_settings() -> None:
    """The plan's summary defaults are EvalSettings' (one source), and settings() passes
    every one of them on."""
    defaults = EvalSettings()
    plan = EvaluationPlan()
    assert plan.settings(seed=defaults.seed, horizons=defaults.horizons) == defaults
    assert (plan.n_boot, plan.ci_level, plan.min_group_n) == (
        defaults.n_boot, defaults.ci_level, defaults.min_group_n)
