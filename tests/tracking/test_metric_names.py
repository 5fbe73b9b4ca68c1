"""The documented mapping from flat metric names (metrics.json) to MLflow's grouped names."""

from __future__ import annotations

import pytest

from predictor.tracking.metric_names import (
    baseline_names,
    flat_metric_name,
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
    ("roc_auc", "roc_auc"),              # evaluation runs: unprefixed names stay as they are
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
