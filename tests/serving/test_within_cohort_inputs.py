"""A model with within-cohort ranks: its group column is not an input whose absence makes
features missing (without it the whole input is one group), so predict does not warn so."""

from __future__ import annotations

import numpy as np

from predictor.data.simulator.generate import simulate_cohort
from predictor.features.pipeline import build_feature_pipeline
from predictor.serving.inputs import used_inputs


def test_the_group_column_is_not_an_expected_input() -> None:
    cohort, _ = simulate_cohort(60, 5)
    clinical = cohort.clinical.copy()
    clinical["cohort"] = np.where(np.arange(len(clinical)) < 30, "a", "b")
    cohort = cohort.__class__(**{**cohort.__dict__, "clinical": clinical})
    config = {"families": {"published_expression": None, "clinical": None},
              "within_cohort": {"column": "cohort"}}
    pipeline = build_feature_pipeline(config).fit(cohort)
    used = used_inputs(pipeline, cohort, pipeline.feature_names_)
    assert "cohort" not in used["columns"]
    assert "expression" in used["tables"]  # the real inputs are still found
    ungrouped = build_feature_pipeline({**config, "within_cohort": None}).fit(cohort)
    assert "expression" in used_inputs(ungrouped, cohort, ungrouped.feature_names_)["tables"]
