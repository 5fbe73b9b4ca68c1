"""The training flow in-process (no MLflow): reproducible, test split untouched, clear errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from predictor import resources, training
from predictor.data.truth import read_truth
from predictor.errors import InputError
from predictor.evaluation import harness
from predictor.train import CONFIG_DIR
from predictor.training.bundle import bundle_mapping

pytestmark = pytest.mark.slow

TINY = ["+experiment=demo_fast", "data=simulated", "data.simulate.n_patients=140",
        "tracking=disabled", "compile=false", "evaluation.plots=false",
        "evaluation.n_boot=30", "seed=11"]


def config(extra: list[str] = ()):  # type: ignore[assignment]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=[*TINY, *extra])


def load(data_cfg, seed: int):  # type: ignore[no-untyped-def]
    """The data group as run_training builds it, loaded."""
    return instantiate(data_cfg).load(seed)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9


def test_same_config_and_seed_give_the_same_metrics_and_cv_never_sees_the_test_split(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[set[str]] = []
    original = harness.cross_validate

    def recording(cohort, *args, **kwargs):
        seen.append(set(cohort.patient_ids))
        return original(cohort, *args, **kwargs)

    monkeypatch.setattr(harness, "cross_validate", recording)
    cfg = config()
    first = training.run_training(cfg, output_dir=tmp_path / "a")
    second = training.run_training(cfg, output_dir=tmp_path / "b")
    assert first.metrics.keys() == second.metrics.keys()
    differing = [k for k in first.metrics if not same(first.metrics[k], second.metrics[k])]
    assert differing == []
    assert first.objective == first.metrics["cv_roc_auc"]

    data = load(cfg.data, int(cfg.seed))
    assert data.test is not None
    test_ids = set(data.test.patient_ids)
    assert seen[0] == set(data.train.patient_ids) and not seen[0] & test_ids
    assert len(test_ids) == round(0.25 * 140)
    # Outputs of a run: bundle, report, metrics (NaN written as null), resolved config.
    out = tmp_path / "a"
    assert (out / "model" / "bundle.yaml").is_file()
    assert "| **model** |" in (out / "report.md").read_text()
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test_roc_auc"] == pytest.approx(first.metrics["test_roc_auc"])
    # The blend weight each final head chose on its inner folds is recorded (1 = trees alone).
    for head in ("response", "relapse"):
        assert saved[f"final_{head}_tree_weight"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert first.model_uri == str(out / "model")


def test_without_a_test_split_oracle_is_on_cv_and_heads_can_be_switched_off(
        tmp_path: Path) -> None:
    cfg = config(["data.test_fraction=0", "heads.relapse=false",
                  "data.cohort_column=cohort"])
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "km_by_risk.png").write_bytes(b"from an earlier run")
    result = training.run_training(cfg, output_dir=tmp_path)
    assert not (tmp_path / "plots").exists()  # stale plots are not left to be logged
    metrics = result.metrics
    assert not any(k.startswith("test_") for k in metrics)
    assert not any("harrell" in k for k in metrics if not k.startswith("oracle"))
    assert "oracle_roc_auc" in metrics and "cv_roc_auc_over_oracle" in metrics
    cohorts = [k for k in metrics if k.startswith("cv_roc_auc_cohort_")]
    assert len(cohorts) >= 2  # one held-out AUC per source cohort (leave-one-cohort-out)
    assert metrics["cv_roc_auc_over_oracle"] == pytest.approx(
        metrics["cv_roc_auc"] / metrics["oracle_roc_auc"])


def test_user_errors_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cross-validation metric"):
        training.run_training(config(["optimized_metric=test_roc_auc"]), output_dir=tmp_path)
    with pytest.raises(InputError, match=r"unknown estimator class 'no\.such\.Class'"):
        training.make_learners(
            config(["+model.baselines.response.nope._target_=no.such.Class"]))
    with pytest.raises(InputError, match="truth file not found"):
        read_truth(tmp_path / "missing.tsv")


def test_the_app_reports_bad_input_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "predictor.train", "tracking=disabled",
         f"data.path={tmp_path / 'no_such_study'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "no_such_study" in errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "outputs" / "demo" / "model").exists()


def test_optuna_search_maximises_the_cv_auc_returned_by_the_app(tmp_path: Path) -> None:
    import yaml

    sweep = tmp_path / "sweep"
    result = subprocess.run(
        [sys.executable, "-m", "predictor.train", "hparams_search=optuna", *TINY,
         "data.simulate.n_patients=100", "hydra.sweeper.n_trials=2",
         f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = [json.loads((sweep / str(i) / "metrics.json").read_text())["cv_roc_auc"]
              for i in range(2)]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(max(trials))
    assert set(best["best_params"]) == {"model.response.num_leaves",
                                        "model.response.learning_rate",
                                        "model.response.min_child_samples",
                                        "model.response.feature_fraction",
                                        "model.response.lambda_l2",
                                        "model.response.tree_weight"}


def test_a_separate_test_file_is_the_held_out_set(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from predictor.data.flat import write_table
    from predictor.data.mappings import unmap_cohort
    from predictor.data.simulator import simulate_cohort

    cohort, _ = simulate_cohort(60, seed=5)
    ids = cohort.patient_ids
    rows = unmap_cohort(cohort)  # one row per patient, schema column names
    write_table(rows.iloc[:40], tmp_path / "train.tsv")
    write_table(rows.iloc[40:], tmp_path / "test.tsv")
    write_table(rows.iloc[30:], tmp_path / "overlap.tsv")
    cfg = config([f"data.path={tmp_path / 'train.tsv'}",
                  f"data.test_path={tmp_path / 'test.tsv'}"])
    data = load(cfg.data, 0)
    assert set(data.train.patient_ids) == set(ids[:40])
    assert set(data.test.patient_ids) == set(ids[40:])
    assert data.separate_test() and len(data.all_patient_ids()) == 60
    assert "test_data_fingerprint" in data.extra_tags()
    cfg = config([f"data.path={tmp_path / 'train.tsv'}",
                  f"data.test_path={tmp_path / 'overlap.tsv'}"])
    with caplog.at_level("WARNING", logger="predictor.training"):
        data = load(cfg.data, 0)  # ids may restart per file: warn, don't fail
    assert "10 patient id(s) appear in both" in caplog.text
    assert data.separate_test() and len(data.test) == 30


def test_shipped_paths_resolve_from_any_folder_and_rules_are_described(tmp_path: Path) -> None:
    from predictor.data.labels import ResponseRule

    assert training.resolve_path("data/demo") == resources.resource_root() / "data" / "demo"
    assert training.resolve_path(str(tmp_path)) == tmp_path
    assert training.resolve_path(None) is None
    assert ResponseRule("best_response", ("CR", "PR"), 6.0).describe() == \
        "best overall response in {CR, PR}, or stable disease lasting >= 6 months"
    assert "responder" in ResponseRule("responder").describe()


def test_summary_names_the_best_baseline_next_to_the_model() -> None:
    metrics = {"test_roc_auc": 0.8, "test_roc_auc_ci_low": 0.7, "test_roc_auc_ci_high": 0.9,
               "test_baseline_logistic_roc_auc": 0.7, "test_baseline_rf_roc_auc": 0.75,
               "test_baseline_rf_roc_auc_ci_low": 0.95, "cv_harrell_c": float("nan")}
    result = training.TrainingResult("models:/p/1", 0.8, metrics, Path("out"))
    assert result.best_baseline("test_roc_auc") == ("rf", 0.75)
    assert result.best_baseline("oracle_roc_auc") is None
    lines = result.summary().splitlines()
    assert lines[0] == "test_roc_auc: 0.800 (95% CI 0.700-0.900); best baseline rf 0.750"
    assert lines[-1] == "output: out"
    assert not any(line.startswith("cv_harrell_c") for line in lines)  # NaN is left out


def test_a_flat_table_is_read_through_its_mapping_and_the_bundle_keeps_it(
        tmp_path: Path) -> None:
    import pandas as pd
    import yaml
    from omegaconf import OmegaConf

    table = pd.DataFrame({"ID": ["a1", "a2", "a3", "a4"], "Type": ["NSCLC"] * 4,
                          "Resp": [1, 0, 1, 0], "PFS": [5.0, 2.0, 9.0, 1.5],
                          "Event": [1, 1, 0, 1], "TMB": [12.0, 3.0, 20.0, 1.0]})
    table.to_csv(tmp_path / "cohort.csv", index=False)
    mapping = {"id_column": "ID", "columns": {"cancer_type": "Type"},
               "outcomes": {"responder": "Resp", "pfs_months": "PFS", "pfs_event": "Event"},
               "features": ["TMB"]}
    (tmp_path / "mapping.yaml").write_text(yaml.safe_dump(mapping))
    for given in (str(tmp_path / "mapping.yaml"), mapping):
        data_cfg = OmegaConf.create({"_target_": "predictor.training.data.CohortData",
                                     "_convert_": "all", "path": str(tmp_path / "cohort.csv"),
                                     "mapping": given,
                                     "response_rule": {"source": "responder"},
                                     "relapse_endpoint": "pfs", "test_fraction": 0,
                                     "truth_file": None, "stratify_column": "cancer_type"})
        spec = instantiate(data_cfg)
        data = spec.load(0)
        targets = spec.targets(data.train)
        assert list(targets.response) == [1.0, 0.0, 1.0, 0.0]
        assert list(data.train.clinical["TMB"]) == [12.0, 3.0, 20.0, 1.0]
        assert bundle_mapping(data.mapping)["id_column"] == "ID"


def test_a_cohort_with_one_outcome_trains_that_head_alone(tmp_path: Path) -> None:
    from predictor.data.flat import write_flat
    from predictor.data.simulator import simulate_cohort

    cohort, _ = simulate_cohort(140, 11)
    flat = tmp_path / "cohort.tsv"
    write_flat(cohort, flat)  # schema names: clinical columns and every outcome
    table = pd.read_csv(flat, sep="\t")
    response_only = tmp_path / "response_only.tsv"
    table.drop(columns=["pfs_months", "pfs_event", "os_months", "os_event"]).to_csv(
        response_only, sep="\t", index=False)
    relapse_only = tmp_path / "relapse_only.tsv"
    table.drop(columns=["best_response", "responder"]).to_csv(relapse_only, sep="\t",
                                                              index=False)
    with pytest.raises(InputError, match=r"pfs_months.*heads\.relapse=false"):
        training.run_training(config([f"data.path={response_only}", "data.truth_file=null"]),
                              output_dir=tmp_path / "a")
    with pytest.raises(InputError, match=r"best_response.*heads\.response=false"):
        training.run_training(config([f"data.path={relapse_only}", "data.truth_file=null"]),
                              output_dir=tmp_path / "b")
    response = training.run_training(config([f"data.path={response_only}",
                                             "data.truth_file=null", "heads.relapse=false"]),
                                     output_dir=tmp_path / "c")
    assert 0.5 < response.metrics["cv_roc_auc"] < 1 and "cv_harrell_c" not in response.metrics
    relapse = training.run_training(config([f"data.path={relapse_only}",
                                            "data.truth_file=null", "heads.response=false"]),
                                    output_dir=tmp_path / "d")
    assert 0.5 < relapse.metrics["cv_harrell_c"] < 1 and "cv_roc_auc" not in relapse.metrics
