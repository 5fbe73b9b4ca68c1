"""Leave-one-cohort-out summaries: per-cohort AUCs, means and paired differences by hand."""

import math

import numpy as np
import pytest

from predictor.evaluation.cohorts import cohort_metrics, cohort_report, paired_over_cohorts


def _data():
    # cohort a: model perfect (1.0), baseline reversed (0.0)
    # cohort b: model 0.75 (one of four pairs wrong), baseline 0.5 (ties everywhere)
    # cohort c: baseline missing (e.g. no TMB), model 1.0
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], dtype=float)
    cohorts = np.array(["a"] * 2 + ["b"] * 4 + ["c"] * 4, dtype=object)
    model = np.array([0.1, 0.9, 0.2, 0.6, 0.7, 0.8, 0.3, 0.9, 0.1, 0.7])
    base = np.array([0.9, 0.1, 0.5, 0.5, 0.5, 0.5, np.nan, np.nan, np.nan, np.nan])
    return y, cohorts, model, base


def test_per_cohort_aucs_means_and_paired_differences():
    y, cohorts, model, base = _data()
    metrics, table = cohort_metrics(y, {"model": model, "tmb": base}, cohorts)
    assert metrics["cv_roc_auc_cohort_a"] == 1.0
    assert metrics["cv_roc_auc_cohort_b"] == 0.75
    assert metrics["cv_roc_auc_cohort_c"] == 1.0
    assert metrics["cv_baseline_tmb_roc_auc_cohort_a"] == 0.0
    assert metrics["cv_baseline_tmb_roc_auc_cohort_b"] == 0.5
    assert math.isnan(metrics["cv_baseline_tmb_roc_auc_cohort_c"])
    assert metrics["cv_roc_auc_cohort_mean"] == pytest.approx(2.75 / 3)
    assert metrics["cv_baseline_tmb_roc_auc_cohort_mean"] == 0.25
    stem = "cv_model_minus_tmb_roc_auc_cohort_"
    assert metrics[stem + "n_cohorts"] == 2            # only a and b have both
    assert metrics[stem + "mean"] == pytest.approx((1.0 + 0.25) / 2)
    assert metrics[stem + "model_mean"] == pytest.approx(0.875)
    assert metrics[stem + "min"] == 0.25 and metrics[stem + "max"] == 1.0
    assert metrics[stem + "n_wins"] == 2
    assert metrics[stem + "wilcoxon_p"] == pytest.approx(0.5)  # exact, 2 positive ranks
    assert list(table.columns) == ["group", "n", "n_positive", "model", "tmb"]
    assert list(table["n"]) == [2, 4, 4]
    # ECE of the model in cohort a: bins 0.1 (y 0) and 0.9 (y 1) -> |0-.1|/2 + |1-.9|/2 = 0.1
    assert metrics["cv_ece_cohort_a"] == pytest.approx(0.1)


def test_paired_over_cohorts_without_shared_cohorts():
    assert paired_over_cohorts({"a": 0.7}, {"b": 0.6}) == {"n_cohorts": 0.0}


def test_report_lists_every_cohort_and_the_paired_row():
    y, cohorts, model, base = _data()
    metrics, _ = cohort_metrics(y, {"model": model, "tmb": base}, cohorts)
    text = cohort_report(metrics)
    assert "| a | 1.000 | 0.000 |" in text
    assert "| c | 1.000 | – |" in text
    assert "**mean over cohorts** | 0.917 | 0.250 |" in text
    assert "| tmb | 2 | 0.875 | 0.250 | 0.625 |" in text
    assert cohort_report({"cv_roc_auc": 0.7}) == ""


def test_harrell_c_per_held_out_cohort():
    from predictor.evaluation.cohorts import cohort_c_metrics

    time = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    event = np.array([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    cohorts = np.array(["a", "a", "a", "b", "b", "b"], dtype=object)
    risk = np.array([3.0, 2.0, 1.0, 1.0, 2.0, 3.0])   # a: concordant, b: reversed
    out = cohort_c_metrics(time, event, {"model": risk, "coxph": -risk}, cohorts)
    assert out["cv_harrell_c_cohort_a"] == 1.0 and out["cv_harrell_c_cohort_b"] == 0.0
    assert out["cv_harrell_c_cohort_mean"] == 0.5
    assert out["cv_baseline_coxph_harrell_c_cohort_b"] == 1.0
