"""Does the model choose better regimens than current practice? Checked on simulated truth.

The done-when experiment of regimen choice (numbers in ``docs/regimens.md``): simulate a fresh
cohort with its own seed (``SEED``, declared before the first run and used for nothing else:
no training, no tuning), score every patient under every candidate regimen with an existing
bundle (default: the ``make demo`` model, ``outputs/demo/model``) through
``Predictor.predict_regimens(cohort, regimens="all")`` (the code path of ``predictor predict
--regimens all``), and compare the model's choice with the oracle, current practice and a
random choice on the simulator's per-regimen truth (``predictor.evaluation.policy``).

    .venv/bin/python experiments/regimen_policy.py [--model outputs/demo/model]
        [--patients 2000] [--seed 20261202] [--json out.json]

Prints a markdown table: all patients with the model limited to its ``supported`` regimens
(the headline), the same without that limit, and per cancer type.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd

from predictor.data.simulator.generate import regimen_truth, simulate_with_state
from predictor.evaluation.policy import policy_report
from predictor.serving.bundle import load_bundle

SEED = 20261202  # the fresh cohort's seed; the demo cohort is 20261127
N_PATIENTS = 2000
KEYS = ("policy_value_oracle", "policy_value_model", "policy_value_practice",
        "policy_value_random", "policy_gap_closed", "regimen_rank_spearman", "n_patients",
        "mean_candidates")


def run(model: Path, n_patients: int, seed: int) -> dict[str, dict[str, float]]:
    """Policy reports by group: ``all`` (supported only), ``all, any candidate``, cancer types."""
    cohort, _, _, state = simulate_with_state(n_patients, seed)
    truth = regimen_truth(state)
    predictor = load_bundle(model)
    scores = predictor.predict_regimens(cohort, regimens="all")
    assigned = cohort.clinical["regimen"].astype(str)
    reports = {
        "all patients": policy_report(scores, truth, assigned),
        "all patients, any candidate (supported ignored)":
            policy_report(scores.drop(columns="supported"), truth, assigned),
    }
    cancer = cohort.clinical["cancer_type"].astype(str)
    for name in sorted(cancer.unique()):
        ids = set(cancer.index[cancer == name].astype(str))
        reports[name] = policy_report(scores[scores["patient_id"].astype(str).isin(ids)],
                                      truth[truth["patient_id"].isin(ids)],
                                      assigned[assigned.index.astype(str).isin(ids)])
    truth_candidates = truth.groupby("patient_id").size().mean()
    supported = pd.Series(scores["supported"]).astype(bool).mean()
    reports["coverage"] = {"truth_candidates_per_patient": float(truth_candidates),
                           "scored_rows_supported_share": float(supported)}
    return reports


def table(reports: dict[str, dict[str, float]]) -> str:
    head = ("| patients | n | oracle | model | practice | random | gap closed | rank Spearman "
            "| candidates |\n|---|---|---|---|---|---|---|---|---|")
    rows = [head]
    for name, r in reports.items():
        if name == "coverage":
            continue
        rows.append(f"| {name} | {r['n_patients']:.0f} | {r['policy_value_oracle']:.3f} | "
                    f"{r['policy_value_model']:.3f} | {r['policy_value_practice']:.3f} | "
                    f"{r['policy_value_random']:.3f} | {r['policy_gap_closed']:.2f} | "
                    f"{r['regimen_rank_spearman']:.2f} | {r['mean_candidates']:.1f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("outputs/demo/model"))
    parser.add_argument("--patients", type=int, default=N_PATIENTS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", type=Path, default=None, help="also write the reports here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    reports = run(args.model, args.patients, args.seed)
    print(f"{args.patients} simulated patients, seed {args.seed}, model {args.model}")
    print(table(reports))
    cov = reports["coverage"]
    print(f"truth candidates per patient {cov['truth_candidates_per_patient']:.1f}; "
          f"share of scored rows supported {cov['scored_rows_supported_share']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
