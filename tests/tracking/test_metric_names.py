"""The documented mapping from flat metric names (metrics.json) to MLflow's grouped names."""

from __future__ import annotations

import pytest

from predictor.tracking.metric_names import (
    baseline_names,
    evaluation_mlflow_metrics,
    flat_metric_name,
    flat_metrics,
    mlflow_metric_name,
    mlflow_metrics,
)

BASELINES = {"tmb_only", "loris", "loris_refit", "coxph"}


@pytest.mark.parametrize(("flat", "grouped"), [
    ("cv_roc_auc", "cv/roc_auc"),
    ("test_harrell_c_ci_low", "test/harrell_c_ci_low"),
    ("oracle_roc_auc", "oracle/roc_auc"),
    ("final_response_tree_weight", "final/response_tree_weight"),
    ("test_baseline_loris_roc_auc", "baseline/loris/test/roc_auc"),
    ("test_baseline_loris_refit_roc_auc", "baseline/loris_refit/test/roc_auc"),  # longest name
    ("cv_baseline_tmb_only_brier", "baseline/tmb_only/cv/brier"),
    ("n_patients", "n_patients"),        # no section: kept as it is
    ("best_objective", "best_objective"),
])
def test_flat_to_grouped_and_back(flat: str, grouped: str) -> None:
    assert mlflow_metric_name(flat, BASELINES) == grouped
    assert flat_metric_name(grouped) == flat


def test_baselines_are_found_from_their_ci_keys_and_names_stay_unique() -> None:
    metrics = {"cv_roc_auc": 0.7, "cv_baseline_tmb_only_roc_auc": 0.6,
               "cv_baseline_tmb_only_roc_auc_ci_low": 0.5,
               "test_baseline_coxph_harrell_c_ci_low": 0.6, "test_baseline_coxph_harrell_c": 0.7,
               "test_baseline_coxph_td_auc_12m": 0.7}
    assert baseline_names(metrics) == {"tmb_only", "coxph"}
    grouped = mlflow_metrics(metrics, baseline_names(metrics))
    assert len(grouped) == len(metrics)
    assert grouped["baseline/coxph/test/td_auc_12m"] == 0.7


def test_evaluation_metrics_are_grouped_like_training_and_read_back() -> None:
    """``predictor evaluate``'s metrics.json names -> section ``external`` (as ``test_``)."""
    metrics = {"roc_auc": 0.7, "ece_ci_low": 0.02, "baseline_tmb_roc_auc": 0.6,
               "baseline_tmb_roc_auc_ci_low": 0.5, "baseline_loris_refit_roc_auc_ci_low": 0.5,
               "baseline_loris_refit_ece": 0.1, "model_minus_tmb_roc_auc": 0.1,
               "baseline_tmb_harrell_c_ci_low": 0.5, "n_patients": 200.0}
    grouped = evaluation_mlflow_metrics(metrics)
    assert grouped == {
        "external/roc_auc": 0.7, "external/ece_ci_low": 0.02,
        "baseline/tmb/external/roc_auc": 0.6, "baseline/tmb/external/roc_auc_ci_low": 0.5,
        "baseline/loris_refit/external/roc_auc_ci_low": 0.5,
        "baseline/loris_refit/external/ece": 0.1,
        "external/model_minus_tmb_roc_auc": 0.1,
        "baseline/tmb/external/harrell_c_ci_low": 0.5, "external/n_patients": 200.0}
    assert flat_metrics(grouped) == metrics
