"""experiments/regimen_policy.py end to end on a small bundle: what-if scores from the
bundle, the simulator's per-regimen truth and the policy report fit together."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiment_runs import load_script

from predictor.data.regimens import regimens_by_cancer_type
from predictor.serving.bundle import save_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, fitted, sim_cohort) -> Path:
    return save_bundle(
        tmp_path_factory.mktemp("policy") / "model", feature_pipeline=fitted["pipeline"],
        heads={"response": fitted["response"], "relapse": fitted["relapse"]},
        input_mapping=None, label_rule={"source": "best_response", "positive": ["CR", "PR"]},
        horizons=(6.0, 12.0, 24.0), metadata={"fingerprint": sim_cohort.fingerprint()},
        probe_cohort=sim_cohort, training_features=fitted["X"],
        regimens={"by_cancer_type": regimens_by_cancer_type(sim_cohort.clinical)})


def test_the_experiment_scores_a_fresh_cohort_against_the_regimen_truth(bundle) -> None:
    module = load_script("regimen_policy")
    reports = module.run(bundle, 120, 5)
    r = reports["all patients"]
    assert set(module.KEYS) <= set(r) and r["n_patients"] == 120
    for policy in ("model", "practice", "random"):
        assert r["policy_value_oracle"] >= r[f"policy_value_{policy}"] - 1e-12
    anyway = reports["all patients, any candidate (supported ignored)"]
    assert anyway["policy_value_oracle"] == r["policy_value_oracle"]
    per_type = [k for k in reports if k in ("Bladder", "Breast", "Colorectal", "Melanoma",
                                            "NSCLC")]
    assert sum(reports[k]["n_patients"] for k in per_type) == 120
    # The bundle was trained on another cohort: it scores most of the truth's candidates.
    assert r["mean_candidates"] > 0.5 * reports["coverage"]["truth_candidates_per_patient"]
    assert "| all patients | 120 |" in module.table(reports)
