"""What-if on the real Chowell ICB cohort: anti-PD-1 alone vs anti-PD-1 + anti-CTLA-4, by
cancer type, next to what randomised or parallel-arm trials report.

OBSERVATIONAL, not a trial: the model learned from which patients MSK actually treated with
the combination (fitter patients, melanoma and SCLC mostly), so a what-if difference mixes the
drug's effect with who gets it; the cohort's label is clinical benefit (CR/PR or stable
disease >= 6 months), not the trials' objective response rate; and Chowell's ``Drug`` is a
class code (the mapping names nivolumab / nivolumab+ipilimumab as representatives).

    predictor-train +experiment=chowell_icb tracking=disabled
    python experiments/chowell_regimen_whatif.py --model outputs/chowell_icb/model \
        --input ../shared/data/chowell_icb/test.csv

prints a Markdown table (docs/regimens_serving.md holds the one of the run quoted there).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

PD1 = "nivolumab"
COMBO = "nivolumab+ipilimumab"

# Published ORR, anti-PD-1 alone vs anti-PD-1 + anti-CTLA-4 in the same trial (arms randomised
# or assigned in parallel), by the cohort's cancer-type names.
TRIALS = {
    "Melanoma": ("CheckMate 067, untreated advanced melanoma (Larkin et al., NEJM 2019; "
                 "381:1535), randomised", 0.45, 0.58),
    "SCLC": ("CheckMate 032 randomised cohort, recurrent SCLC (Ready et al., J Thorac Oncol "
             "2020;15:426), nivolumab 3 vs nivolumab 1 + ipilimumab 3 mg/kg", 0.116, 0.219),
    "Gastric": ("CheckMate 032, chemotherapy-refractory oesophagogastric cancer (Janjigian et "
                "al., JCO 2018;36:2836), nivolumab 3 vs nivolumab 1 + ipilimumab 3 mg/kg",
                0.12, 0.24),
    "Esophageal": ("CheckMate 032 oesophagogastric cohort, as for Gastric", 0.12, 0.24),
}


def whatif_table(model: Path, source: Path, backend: str = "compiled") -> pd.DataFrame:
    """Per cancer type: patients, observed arms and benefit, mean predicted probability of
    benefit under each regimen, and the trials' ORRs where a trial compared them."""
    from predictor.data.readers import read_cohort
    from predictor.serving.bundle import load_bundle

    predictor = load_bundle(model, backend=backend)
    cohort = read_cohort(source, predictor.manifest.get("input_mapping"))
    scores = predictor.predict_regimens(cohort, [PD1, COMBO])
    wide = scores[scores["regimen"].isin([PD1, COMBO])].pivot(
        index="patient_id", columns="regimen", values="response_probability")
    supported = scores[scores["regimen"] == COMBO].set_index("patient_id")["supported"]
    clinical = cohort.clinical
    outcome = cohort.outcomes["responder"] if cohort.outcomes is not None else None
    rows = []
    for ctype, ids in clinical.groupby("cancer_type").groups.items():
        ids = pd.Index(ids).astype(str)
        given = clinical.loc[ids, "regimen"].astype(str)
        row = {"cancer_type": ctype, "patients": len(ids),
               "given_combo": int((given == COMBO).sum()),
               "combo_supported": float(supported.reindex(ids).fillna(False).mean()),
               "predicted_pd1": float(wide.loc[ids, PD1].mean()),
               "predicted_combo": float(wide.loc[ids, COMBO].mean())}
        row["predicted_difference"] = row["predicted_combo"] - row["predicted_pd1"]
        row["combo_better_share"] = float((wide.loc[ids, COMBO] > wide.loc[ids, PD1]).mean())
        if outcome is not None:
            benefit = outcome.reindex(ids).astype(float)
            for arm, name in ((PD1, "observed_pd1"), (COMBO, "observed_combo")):
                on = given == arm
                row[name] = float(benefit[on.to_numpy()].mean()) if on.any() else np.nan
        trial = TRIALS.get(str(ctype))
        row["trial_orr_pd1"] = trial[1] if trial else np.nan
        row["trial_orr_combo"] = trial[2] if trial else np.nan
        rows.append(row)
    return pd.DataFrame(rows).sort_values("patients", ascending=False).reset_index(drop=True)


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown (percentages; n/a where nobody / no trial)."""
    def pct(value: float) -> str:
        return "n/a" if pd.isna(value) else f"{100 * value:.0f}%"

    lines = ["| cancer type | patients (given PD-1 + CTLA-4) | observed benefit, PD-1 / combo "
             "| predicted benefit, PD-1 / combo (difference) | combo predicted better "
             "| combo supported | trial ORR, PD-1 / combo |",
             "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(
            f"| {r.cancer_type} | {r.patients} ({r.given_combo}) "
            f"| {pct(getattr(r, 'observed_pd1', np.nan))} / "
            f"{pct(getattr(r, 'observed_combo', np.nan))} "
            f"| {pct(r.predicted_pd1)} / {pct(r.predicted_combo)} "
            f"({100 * r.predicted_difference:+.1f} pts) | {pct(r.combo_better_share)} "
            f"| {pct(r.combo_supported)} "
            f"| {pct(r.trial_orr_pd1)} / {pct(r.trial_orr_combo)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("outputs/chowell_icb/model"))
    parser.add_argument("--input", type=Path,
                        default=Path("../shared/data/chowell_icb/test.csv"))
    parser.add_argument("--backend", default="compiled")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    table = whatif_table(args.model, args.input, args.backend)
    print("OBSERVATIONAL what-if (not a trial): predicted probability of clinical benefit "
          f"under {PD1} vs {COMBO}, {args.input}")
    print(markdown(table))
    for ctype, (trial, _, _) in TRIALS.items():
        print(f"- {ctype}: {trial}")


if __name__ == "__main__":
    main()
