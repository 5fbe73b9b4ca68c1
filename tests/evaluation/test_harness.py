"""The CV harness: same folds for all learners, pipeline fitted inside folds, honest summaries."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from predictor.data.labels import ResponseRule, relapse_target, response_labels
from predictor.data.simulator import simulate_cohort
from predictor.errors import InputError
from predictor.evaluation import harness as H
from predictor.evaluation.metrics import harrell_c, roc_auc
from predictor.models.baselines import CoxPHBaseline, LogisticBaseline


class RecordingPipeline:
    """Clinical numbers as features; remembers which patients it was fitted on."""

    fitted_on: ClassVar[list[set[str]]] = []

    def fit(self, cohort) -> RecordingPipeline:
        assert cohort.outcomes is None, "the pipeline must never see outcomes"
        RecordingPipeline.fitted_on.append(set(cohort.patient_ids))
        self.columns_ = ["age", "nlr", "albumin", "line_of_therapy"]
        self.categorical_features_ = []
        return self

    def transform(self, cohort) -> pd.DataFrame:
        return cohort.clinical[self.columns_].astype("float64")


class Failing:
    def fit(self, *args, **kwargs):
        raise ValueError("cannot fit")


@pytest.fixture(scope="module")
def small():
    cohort, _ = simulate_cohort(120, seed=3)
    y = response_labels(cohort.outcomes, ResponseRule("best_response", ("CR", "PR")))
    rt = relapse_target(cohort.outcomes, "pfs")
    y.iloc[:7] = np.nan  # some patients without a response label
    targets = H.Targets(y, rt["time"], rt["event"], cohort.clinical["cancer_type"].astype(str))
    return cohort, targets


def learners() -> list[H.Learner]:
    return [H.Learner(H.MODEL, H.RESPONSE, lambda: LogisticBaseline(seed=0)),
            H.Learner(H.MODEL, H.RELAPSE, lambda: CoxPHBaseline(seed=0)),
            H.Learner("broken", H.RESPONSE, Failing)]


def test_cv_scores_every_patient_once_per_repeat_without_leakage(small) -> None:
    cohort, targets = small
    RecordingPipeline.fitted_on = []
    splits = H.make_splits(targets, n_splits=3, n_repeats=2, seed=1)
    assert len(splits) == 6
    cv = H.cross_validate(cohort, targets, splits, RecordingPipeline, learners())
    ids = cohort.patient_ids
    for split, fitted in zip(splits, RecordingPipeline.fitted_on, strict=True):
        assert fitted == set(ids[split.train])
        assert not fitted & set(ids[split.test])
    response = cv.scores["response/model"]
    assert response.shape == (len(ids), 2)
    assert np.isfinite(response).all()  # unlabelled patients are still scored, never trained on
    relapse = cv.scores["relapse/model"]
    assert np.isfinite(relapse).all()
    # Repeats use different shuffles: fold membership differs, so scores differ.
    assert not np.allclose(response[:, 0], response[:, 1])
    assert "response/broken" in cv.failures and "response/broken" not in cv.scores


def test_a_failing_head_raises(small) -> None:
    cohort, targets = small
    splits = H.make_splits(targets, n_splits=2, n_repeats=1, seed=0)
    with pytest.raises(ValueError, match="cannot fit"):
        H.cross_validate(cohort, targets, splits, RecordingPipeline,
                         [H.Learner(H.MODEL, H.RESPONSE, Failing)])


def test_leave_one_cohort_out_splits_by_group(small) -> None:
    _, targets = small
    groups = pd.Series(np.where(np.arange(len(targets.response)) % 3 == 0, "A", "B"))
    splits = H.make_splits(targets, n_splits=5, n_repeats=3, seed=0, cohort_groups=groups)
    assert len(splits) == 2
    for split in splits:
        assert len(set(groups.iloc[split.test])) == 1


def test_response_summary_point_is_mean_over_repeats_and_ci_brackets_it() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.4).astype(float)
    logits = np.column_stack([y + rng.normal(0, 1.0, 200), y + rng.normal(0, 1.2, 200)])
    scores = 1.0 / (1.0 + np.exp(-logits))
    y[:5] = np.nan
    out = H.response_summary(y, scores, n_boot=200, seed=0)
    expected = np.mean([roc_auc(y, scores[:, 0]), roc_auc(y, scores[:, 1])])
    assert out["roc_auc"] == pytest.approx(expected)
    assert out["roc_auc_ci_low"] < out["roc_auc"] < out["roc_auc_ci_high"]
    assert out["n"] == 195
    again = H.response_summary(y, scores, n_boot=200, seed=0)
    assert again == out  # seeded


def test_relapse_summary_matches_harrell_c_with_a_ci() -> None:
    rng = np.random.default_rng(1)
    risk = rng.normal(size=150)
    time = rng.exponential(np.exp(-risk))
    event = (rng.random(150) < 0.7).astype(float)
    out = H.relapse_summary(time, event, risk[:, None], n_boot=100, seed=0, horizons=[0.5])
    assert out["harrell_c"] == pytest.approx(harrell_c(time, event, risk))
    assert out["harrell_c"] > 0.6
    assert out["harrell_c_ci_low"] < out["harrell_c"] < out["harrell_c_ci_high"]
    assert "td_auc_0.5m" in out


def test_per_group_summary_and_metric_names() -> None:
    y = np.array([0, 1] * 20, dtype=float)
    scores = np.column_stack([y * 0.5 + np.linspace(0, 0.4, 40)] * 2)
    groups = np.array(["NSCLC"] * 30 + ["Rare type"] * 10)
    table = H.per_group_summary(y, scores, groups, min_n=20)
    assert list(table["group"]) == ["NSCLC", "Rare type"]
    assert table.loc[0, "roc_auc"] == pytest.approx(1.0)
    assert np.isnan(table.loc[1, "roc_auc"])
    assert H.prefixed("test", {"roc_auc": 0.7}, "logistic") == {
        "test_baseline_logistic_roc_auc": 0.7}
    assert H.prefixed("cv", {"roc_auc": 0.7}) == {"cv_roc_auc": 0.7}
    assert H.metric_key("cv_roc_auc", "Non-small (cell)") == "cv_roc_auc_Non-small _cell"


def test_relapse_summary_aligns_survival_curves_with_patients_that_have_a_time() -> None:
    rng = np.random.default_rng(2)
    n = 120
    risk = rng.normal(size=n)
    time = rng.exponential(np.exp(-risk) * 10)
    event = (rng.random(n) < 0.8).astype(float)
    time[:10] = np.nan  # no follow-up: excluded from the relapse metrics

    def surv(times: np.ndarray) -> np.ndarray:  # one row per patient, all n of them
        return np.exp(-np.outer(np.exp(risk), np.asarray(times)) / 10)

    out = H.relapse_summary(time, event, risk, n_boot=20, seed=0, surv=surv,
                            train_time=time, train_event=event, horizons=[5])
    assert out["n"] == n - 10
    assert 0.0 < out["ibs"] < 0.25


def test_oracle_metrics_and_ratios_use_the_same_patients() -> None:
    rng = np.random.default_rng(4)
    n = 80
    ids = pd.Index([f"P{i}" for i in range(n)], dtype="string")
    p_true = rng.random(n)
    y = pd.Series((rng.random(n) < p_true).astype(float), index=ids)
    hazard = rng.random(n)
    time = pd.Series(rng.exponential(1 / hazard), index=ids)
    event = pd.Series(np.ones(n), index=ids)
    targets = H.Targets(y, time, event, pd.Series("A", index=ids))
    pfs_12m = np.exp(-12 * hazard) * rng.uniform(0.5, 1.0, n)  # marginal: not the hazard
    truth = pd.DataFrame({"true_response_probability": p_true, "true_relapse_hazard": hazard,
                          "true_pfs_12m": pfs_12m},
                         index=ids).iloc[::-1]  # order must not matter
    out = H.Evaluation(metrics={"test_roc_auc": 0.6, "test_harrell_c": 0.6})
    H.oracle_metrics(truth, targets, "test", H.EvalSettings(n_boot=30), out)
    assert out.metrics["oracle_roc_auc"] == pytest.approx(roc_auc(y, p_true))
    # the relapse oracle ranks by the marginal 12-month progression probability
    assert out.metrics["oracle_harrell_c"] == pytest.approx(harrell_c(time, event, 1 - pfs_12m))
    assert out.metrics["oracle_harrell_c_ci_low"] <= out.metrics["oracle_harrell_c"] \
        <= out.metrics["oracle_harrell_c_ci_high"]
    assert out.metrics["test_harrell_c_over_oracle"] == pytest.approx(
        0.6 / out.metrics["oracle_harrell_c"])
    fallback = H.Evaluation()
    H.oracle_metrics(truth.drop(columns="true_pfs_12m"), targets, "test",
                     H.EvalSettings(n_boot=30), fallback)
    assert fallback.metrics["oracle_harrell_c"] == pytest.approx(harrell_c(time, event, hazard))
    assert out.metrics["test_roc_auc_over_oracle"] == pytest.approx(
        0.6 / out.metrics["oracle_roc_auc"])
    with pytest.raises(InputError, match="lacks 1 evaluated patient"):
        H.oracle_metrics(truth.iloc[1:], targets, "test", H.EvalSettings(n_boot=30), out)


def test_paired_differences_name_each_baseline_by_its_primary_metric() -> None:
    rng = np.random.default_rng(5)
    n = 100
    y = pd.Series((rng.random(n) < 0.5).astype(float))
    targets = H.Targets(y, pd.Series(rng.exponential(size=n)), pd.Series(np.ones(n)),
                        pd.Series("A", index=y.index))
    good = y.to_numpy() + rng.normal(0, 0.5, n)
    scores = {"response/model": good, "response/noise": rng.normal(size=n),
              "relapse/model": rng.normal(size=n), "relapse/other": rng.normal(size=n)}
    learners = [H.Learner(H.MODEL, H.RESPONSE, object), H.Learner("noise", H.RESPONSE, object),
                H.Learner(H.MODEL, H.RELAPSE, object), H.Learner("other", H.RELAPSE, object)]
    out = H.paired_differences(scores, targets, learners, H.EvalSettings(n_boot=50))
    diff = out["test_model_minus_noise_roc_auc"]
    assert diff == pytest.approx(roc_auc(y, good) - roc_auc(y, scores["response/noise"]))
    assert out["test_model_minus_noise_roc_auc_p_value"] < 0.05
    assert "test_model_minus_other_harrell_c_ci_low" in out
