"""Regimen learners in training: CV policy selection on the training split only, the chosen
learner in metrics.json, propensity weights reaching the response head, the propensity in the
bundle and the overlap in the report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from predictor import training
from predictor.errors import InputError
from predictor.evaluation import harness as H
from predictor.models.propensity import RegimenPropensity
from predictor.models.response import ResponseModel
from predictor.tracking.metric_names import REGIMEN_LEARNERS, flat_metric_name, mlflow_metric_name
from predictor.train import CONFIG_DIR
from predictor.training import regimens as R

TINY = ["+experiment=demo_fast", "data=simulated", "data.simulate.n_patients=160",
        "heads.relapse=false",
        "tracking=disabled", "compile=false", "evaluation.plots=false",
        "evaluation.n_boot=20", "seed=3"]


def config(extra: list[str] = ()):  # type: ignore[assignment]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=[*TINY, *extra])


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory: pytest.TempPathFactory):
    """One fast training on a simulated cohort with the default ``regimen_learner: auto``,
    recording the patients the regimen CV saw."""
    seen: list[set[str]] = []
    original = R.cross_validate_learners

    def recording(cohort, targets, splits, make_features, response, truth, settings):
        seen.append(set(cohort.patient_ids))
        return original(cohort, targets, splits, make_features, response, truth, settings)

    R.cross_validate_learners = recording
    try:
        out = tmp_path_factory.mktemp("auto")
        result = training.run_training(config(), output_dir=out)
    finally:
        R.cross_validate_learners = original
    return result, out, seen


@pytest.mark.slow
def test_auto_picks_the_higher_cv_policy_value_and_records_it(auto_run):
    _, out, seen = auto_run
    saved = json.loads((out / "metrics.json").read_text())
    values = {name: saved[f"cv_regimen_{name}_policy_value_model"] for name in R.LEARNERS}
    assert all(np.isfinite(v) for v in values.values())
    chosen = [name for name in R.LEARNERS if saved[f"final_regimen_learner_{name}"] == 1.0]
    assert len(chosen) == 1
    assert values[chosen[0]] == max(values.values())
    for key in ("policy_value_oracle", "policy_value_practice", "policy_gap_closed",
                "regimen_rank_spearman"):
        assert f"cv_regimen_s_learner_{key}" in saved and f"test_regimen_{key}" in saved
    # the regimen CV ran on the training split only
    data = instantiate(config().data).load(3)
    assert seen == [set(data.train.patient_ids)]
    assert not seen[0] & set(data.test.patient_ids)
    n_test = saved["test_regimen_n_patients"]
    assert saved["cv_regimen_s_learner_n_patients"] + n_test == 160
    assert saved["cv_regimen_s_learner_n_patients"] == len(seen[0])


@pytest.mark.slow
def test_bundle_report_and_overlap_artifact(auto_run):
    _, out, _ = auto_run
    regimens = json.loads((out / "model" / "regimens.json").read_text())
    propensity = RegimenPropensity.from_state(regimens["propensity"])
    assert set(propensity.regimens_) <= {r for rs in regimens["by_cancer_type"].values()
                                         for r in rs}
    report = (out / "report.md").read_text()
    assert "Regimens: effect learner and propensity overlap" in report
    assert "| s_learner |" in report and "| propensity_weighted |" in report
    overlap = pd.read_csv(out / "regimen_overlap.csv")
    assert {"all", "NSCLC"} <= set(overlap["group"])
    assert overlap["share_below"].between(0, 1).all()


def _six_responders_on_one_regimen() -> H.Targets:
    ids = pd.Index([f"P{i}" for i in range(6)])
    return H.Targets(pd.Series(1.0, index=ids), pd.Series(np.nan, index=ids),
                     pd.Series(np.nan, index=ids), pd.Series("a", index=ids),
                     regimen=pd.Series("x", index=ids, dtype="string"))


def test_an_explicit_learner_is_used_for_the_final_head_without_a_cv():
    targets = _six_responders_on_one_regimen()
    head = H.Learner(H.MODEL, H.RESPONSE, ResponseModel)
    baseline = H.Learner("logistic", H.RESPONSE, ResponseModel)
    metrics: dict[str, float] = {}
    settings = R.RegimenSettings(learner=R.PROPENSITY_WEIGHTED)
    learners, cv, chosen = R.select_learner(None, targets, [], lambda: None, [head, baseline],
                                            None, settings, metrics)
    assert cv is None and chosen == R.PROPENSITY_WEIGHTED
    assert learners[0].weights is not None and learners[1] is baseline
    assert metrics["final_regimen_learner_propensity_weighted"] == 1.0


def test_without_regimen_truth_auto_is_the_s_learner_and_nothing_is_cross_validated():
    """Real cohorts have no per-regimen truth: the head stays as it was."""
    targets = _six_responders_on_one_regimen()
    learner = H.Learner(H.MODEL, H.RESPONSE, ResponseModel)
    metrics: dict[str, float] = {}
    learners, cv, chosen = R.select_learner(None, targets, [], lambda: None, [learner], None,
                                            R.RegimenSettings(), metrics)
    assert cv is None and chosen == R.S_LEARNER and learners == [learner]
    assert metrics == {"final_regimen_learner_s_learner": 1.0,
                       "final_regimen_learner_propensity_weighted": 0.0}


def test_propensity_weights_reach_the_response_head(monkeypatch: pytest.MonkeyPatch):
    rng = np.random.default_rng(0)
    n = 300
    ids = pd.Index([f"P{i}" for i in range(n)])
    marker = (rng.random(n) < 0.5).astype(float)
    X = pd.DataFrame({"drv_marker": marker, "clin_age": rng.normal(60, 10, n),
                      "rx_class_a": 0.0}, index=ids)
    regimen = pd.Series(np.where(rng.random(n) < np.where(marker == 1, 0.9, 0.1), "a", "b"),
                        index=ids, dtype="string")
    X["rx_class_a"] = (regimen == "a").astype(float).to_numpy()
    y = pd.Series((rng.random(n) < 0.4).astype(float), index=ids)
    targets = H.Targets(y, pd.Series(np.nan, index=ids), pd.Series(np.nan, index=ids),
                        pd.Series("g", index=ids), regimen=regimen,
                        cancer_type=pd.Series("T", index=ids, dtype="string"))
    got: dict[str, np.ndarray] = {}
    original = ResponseModel.fit

    def spy(self, X, y, categorical_features=(), sample_weight=None):
        got["w"] = None if sample_weight is None else np.asarray(sample_weight)
        return original(self, X, y, categorical_features, sample_weight)

    monkeypatch.setattr(ResponseModel, "fit", spy)
    make = lambda: ResponseModel(n_estimators=20, inner_folds=2, tree_weight=1.0)  # noqa: E731
    base = H.Learner(H.MODEL, H.RESPONSE, make)
    settings = R.RegimenSettings(ipw_clip=0.05)
    H.fit_learner(R.with_learner(base, R.S_LEARNER, settings), X, targets, [])
    assert got["w"] is None
    H.fit_learner(R.with_learner(base, R.PROPENSITY_WEIGHTED, settings), X, targets, [])
    w = got["w"]
    assert len(w) == n and np.isfinite(w).all() and abs(w.mean() - 1) < 1e-9
    # unusual assignments (regimen a without the marker) weigh more than usual ones
    unusual = ((regimen == "a") & (marker == 0)).to_numpy()
    usual = ((regimen == "a") & (marker == 1)).to_numpy()
    assert w[unusual].mean() > 3 * w[usual].mean()


def test_response_model_refuses_bad_sample_weights(response_like):
    X, y = response_like
    with pytest.raises(InputError, match="sample_weight"):
        ResponseModel(n_estimators=5, inner_folds=2).fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(InputError, match="sample_weight"):
        ResponseModel(n_estimators=5, inner_folds=2).fit(X, y, sample_weight=np.ones(3))


@pytest.fixture()
def response_like():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    y = (rng.random(80) < 1 / (1 + np.exp(-X["a"].to_numpy()))).astype(float)
    return X, y


def test_settings_are_checked():
    with pytest.raises(InputError, match="regimen_learner"):
        R.RegimenSettings.from_config({"regimen_learner": "x_learner"})
    with pytest.raises(InputError, match=r"model\.regimen\.bogus"):
        R.RegimenSettings.from_config({"regimen": {"bogus": 1}})
    with pytest.raises(InputError, match="ipw_clip"):
        R.RegimenSettings.from_config({"regimen": {"ipw_clip": 0}})
    default = R.RegimenSettings.from_config(config().model)
    assert default.learner == R.AUTO and default.support_floor == 0.01


def test_regimen_metric_names_group_by_learner_in_mlflow():
    assert R.LEARNERS == REGIMEN_LEARNERS
    for flat, grouped in (
            ("cv_regimen_s_learner_policy_value_model", "cv/regimen/s_learner/policy_value_model"),
            ("cv_regimen_propensity_weighted_policy_gap_closed",
             "cv/regimen/propensity_weighted/policy_gap_closed"),
            ("test_regimen_policy_gap_closed", "test/regimen/policy_gap_closed"),
            ("final_regimen_learner_s_learner", "final/regimen/learner_s_learner")):
        assert mlflow_metric_name(flat) == grouped
        assert flat_metric_name(grouped) == flat


def test_what_if_rows_are_the_served_rows_also_with_within_cohort_ranks():
    """The regimen CV scores what-if rows as ``predict --regimens`` serves them: a patient's
    row under a regimen is the plain row with that patient's regimen alone replaced, so with
    within-cohort ranks the new mechanism values are ranked among the other patients' own."""
    from dataclasses import replace

    import yaml

    from predictor.data.simulator import simulate_cohort
    from predictor.features.knowledge import REPO_ROOT
    from predictor.features.pipeline import build_feature_pipeline

    cohort, _ = simulate_cohort(120, 9)
    cohort = cohort.without_outcomes()
    cfg = yaml.safe_load((REPO_ROOT / "conf/features/default.yaml").read_text())
    cfg["families"]["mutation"]["gene_sets"] = str(REPO_ROOT / "conf/knowledge/gene_sets.yaml")
    cfg["families"]["mechanism"]["knowledge_base"] = str(REPO_ROOT / "conf/knowledge/drugs.yaml")
    cfg["within_cohort"] = {"column": "cohort"}
    pipeline = build_feature_pipeline(cfg).fit(cohort)
    ids = cohort.patient_ids.astype(str)
    candidates = pd.DataFrame({"patient_id": np.repeat(ids[:12], 2),
                               "regimen": ["osimertinib", "nivolumab+ipilimumab"] * 12})
    rows = R.what_if(pipeline, cohort, candidates, None, 0.01)
    assert [r for r, _, _ in rows.blocks] == ["nivolumab+ipilimumab", "osimertinib"]
    for regimen, patients, X in rows.blocks:
        assert list(X.index) == list(patients) == list(ids[:12])
        for p in (0, 5, 11):
            clinical = cohort.clinical.copy()
            clinical.iloc[p, clinical.columns.get_loc("regimen")] = regimen
            plain = pipeline.transform(replace(cohort, clinical=clinical)).iloc[p]
            np.testing.assert_array_equal(X.iloc[p].to_numpy(), plain.to_numpy())
