"""The markdown report shows the model next to each baseline, with CIs, from the metric dict."""

from __future__ import annotations

import pandas as pd

from predictor.evaluation.report import learner_names, render_report, write_report

METRICS = {
    "test_roc_auc": 0.8, "test_roc_auc_ci_low": 0.7, "test_roc_auc_ci_high": 0.9,
    "test_brier": 0.2,
    "test_baseline_logistic_roc_auc": 0.75, "test_baseline_tmb_only_roc_auc": 0.6,
    "test_harrell_c": 0.7, "test_baseline_coxph_harrell_c": 0.68,
    "test_model_minus_logistic_roc_auc": 0.05, "test_model_minus_logistic_roc_auc_p_value": 0.2,
    "test_model_minus_logistic_roc_auc_ci_low": -0.01,
    "test_model_minus_logistic_roc_auc_ci_high": 0.1,
    "oracle_roc_auc": 0.85, "test_roc_auc_over_oracle": 0.8 / 0.85,
    "cv_roc_auc": float("nan"),
}


def test_learners_are_the_model_then_baselines_in_order() -> None:
    assert learner_names(METRICS, "test", "roc_auc") == ["model", "logistic", "tmb_only"]
    assert learner_names(METRICS, "test", "harrell_c") == ["model", "coxph"]
    assert learner_names(METRICS, "cv", "harrell_c") == []


def test_report_tables(tmp_path) -> None:
    groups = pd.DataFrame({"group": ["NSCLC", "Rare"], "n": [50, 3], "n_positive": [20, 1],
                           "roc_auc": [0.71, float("nan")]})
    text = render_report(METRICS, title="run", per_group={"test": groups},
                         failures={"response/random_forest": "ValueError: boom"},
                         notes=["a note"])
    assert "| **model** | 0.800 (0.700–0.900) | – | 0.200 | – |" in text
    assert "| logistic | 0.750 |" in text
    assert "| coxph | 0.680 |" in text
    assert "| logistic_roc_auc | 0.050 (-0.010–0.100) | 0.2 |" in text
    assert "| roc_auc | 0.800 (0.700–0.900) | 0.850 | 94.1% |" in text
    assert "beats the oracle" not in text
    above = render_report({**METRICS, "test_roc_auc_over_oracle": 1.05}, title="run")
    assert "beats the oracle" in above
    assert "| NSCLC | 50 | 20 | 0.710 |" in text and "| Rare | 3 | 1 | – (too few) |" in text
    assert "`response/random_forest`: ValueError: boom" in text
    assert "Cross-validation: response" not in text  # only NaN cv numbers: section left out
    path = write_report(tmp_path / "report.md", text)
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temp file left behind
