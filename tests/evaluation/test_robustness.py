"""Robustness: test metrics with input columns dropped at prediction time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictor.data.cohort import Cohort
from predictor.evaluation import harness as H
from predictor.evaluation import metrics as M
from predictor.evaluation.report import render_report
from predictor.evaluation.robustness import (
    as_frame,
    drop_columns,
    evaluate_robustness,
    robustness_metrics,
    robustness_section,
    robustness_table,
)
from predictor.features.pipeline import build_feature_pipeline
from predictor.models.baselines import TMBOnly, TMBRisk


def cohort_and_targets(n: int = 240, seed: int = 0) -> tuple[Cohort, H.Targets]:
    rng = np.random.default_rng(seed)
    ids = [f"p{i}" for i in range(n)]
    tmb = rng.gamma(1.5, 6.0, n)
    clinical = pd.DataFrame({"patient_id": ids, "cancer_type": rng.choice(["A", "B"], n),
                             "age": rng.uniform(40, 80, n), "albumin": rng.normal(4, 0.4, n),
                             "TMB": tmb})
    cohort = Cohort.from_tables(clinical=clinical)
    index = cohort.patient_ids
    y = (rng.random(n) < 1 / (1 + np.exp(-(np.log1p(tmb) - 2)))).astype(float)
    time = rng.exponential(10 / np.exp(-0.5 * np.log1p(tmb)))
    targets = H.Targets(response=pd.Series(y, index=index), time=pd.Series(time, index=index),
                        event=pd.Series(np.ones(n), index=index),
                        groups=pd.Series(clinical["cancer_type"].to_numpy(), index=index))
    return cohort, targets


def fitted(cohort: Cohort, targets: H.Targets) -> tuple[H.FinalFit, list[H.Learner]]:
    learners = [H.Learner(H.MODEL, H.RESPONSE, TMBOnly), H.Learner(H.MODEL, H.RELAPSE, TMBRisk),
                H.Learner("tmb_only", H.RESPONSE, TMBOnly)]
    make = lambda: build_feature_pipeline(families={  # noqa: E731
        "clinical": {}, "systemic": {}, "passthrough": {"columns": ["TMB"],
                                                         "rename": {"TMB": "tmb"}}})
    return H.final_fit(cohort, targets, learners, make, {}), learners


def test_drop_columns_is_case_insensitive_and_leaves_the_input_alone() -> None:
    cohort, _ = cohort_and_targets(20)
    thinner = drop_columns(cohort, ["tmb", "Albumin", "not_there"])
    assert "TMB" not in thinner.clinical.columns and "albumin" not in thinner.clinical.columns
    assert "TMB" in cohort.clinical.columns and len(thinner.clinical) == 20


def test_removing_the_only_informative_column_gives_chance_auc() -> None:
    cohort, targets = cohort_and_targets()
    fit, learners = fitted(cohort, targets)
    out = robustness_metrics(fit, cohort, targets, learners,
                             groups={"genomics": ["TMB"], "blood": ["albumin"]})
    full = M.roc_auc(targets.response.to_numpy(), fit.models["response/model"].predict_proba(
        fit.pipeline.transform(cohort)))
    assert out["test_without_genomics__model_roc_auc"] == pytest.approx(0.5)
    assert out["test_without_genomics__tmb_only_roc_auc"] == pytest.approx(0.5)
    assert out["test_without_blood__model_roc_auc"] == pytest.approx(full)
    assert out["test_missing_tmb__model_harrell_c"] == pytest.approx(0.5)
    assert {"test_missing_age__model_roc_auc",
            "test_missing_cancer_type__model_roc_auc"} <= set(out)
    assert not any("patient_id" in k for k in out)


def test_report_shows_the_robustness_tables() -> None:
    cohort, targets = cohort_and_targets()
    fit, learners = fitted(cohort, targets)
    ev = H.Evaluation(metrics={"test_roc_auc": 0.7, "test_baseline_tmb_only_roc_auc": 0.7,
                               "test_harrell_c": 0.6})
    evaluate_robustness(fit, cohort, targets, learners, {"genomics": ["TMB"]}, ev,
                        each_column=False)
    table = robustness_table(ev.metrics)
    assert table.splitlines()[0] == "| removed group | model | tmb_only |"
    assert "| none (every column) | 0.700 | 0.700 |" in table
    assert "| genomics | 0.500 | 0.500 |" in table
    assert "Harrell's C" in robustness_section(ev.metrics)
    assert "## Robustness" in render_report(ev.metrics, title="t")
    assert as_frame(ev.metrics).loc["genomics", "model"] == pytest.approx(0.5)
    assert robustness_section({"test_roc_auc": 0.7}) == ""
