"""Write the nsclc_pd1_msk_2018 study as a hospital export in the Chowell model's input format,
without the patients the Chowell cohort also holds, and split it in two fixed halves.

Why: the Chowell model (``predictor-train +experiment=chowell_icb``) reads a flat table with
Chowell et al.'s column names (conf/mappings/chowell_icb.yaml). Rizvi et al.'s 240 NSCLC
patients (cBioPortal study nsclc_pd1_msk_2018, MSK, anti-PD-(L)1, J Clin Oncol 2018) are
another cohort from the same hospital, but with another label (durable clinical benefit) and
fewer inputs, which is how a model meets a new site. The study is read with predictor's
cBioPortal reader and mapped column by column:

    CancerType      NSCLC (every patient)
    TMB             TMB_NONSYNONYMOUS (MSK-IMPACT, mutations per Mb: Chowell's TMB)
    FCNA            FGA (fraction of the genome altered: Chowell's FCNA)
    PDL1_TPS        PDL1_SCORE (% of tumour cells; 79 of 240 measured)
    Systemic_therapy_history  1 when ICB was not the first line (LINES_OF_TX > 1), else 0
    Drug            0 anti-PD-(L)1 monotherapy, 1 combination (TREATMENT_TYPE; the publication's
                    combinations add anti-CTLA-4)
    Age, Sex        AGE, SEX (1 Male, 0 Female)
    Response        DURABLE_CLINICAL_BENEFIT (YES 1, NO 0, NE empty: not labelled)
    PFS_Months, PFS_Event   PFS_MONTHS, PFS_STATUS (no OS in the study)

Albumin, NLR, HED, HLA_LOH, MSI, Stage, platelets, haemoglobin and BMI are not in the study:
those columns are absent, and the model predicts them as missing.

Overlap: some of these patients are also in the Chowell cohort (mostly its train.csv), which
has no patient ids. A study patient is dropped when a Chowell NSCLC patient has the same sex,
an age within a year, |FCNA - FGA| < 0.006 and |TMB - TMB_NONSYNONYMOUS| < 0.06 (TMB and FCNA
are rounded differently in the two releases). With these tolerances, permuting the study's
ages gives 3-4 chance matches, against the ~29 found: the drop removes the real overlap at the
cost of a few patients who only look alike.

Halves: a stratified random split on the label (labelled responders, labelled non-responders
and unlabelled patients each split in two), numpy seed 20261201: ``half_a.csv`` to
recalibrate on, ``half_b.csv`` to evaluate on; ``all.csv`` holds every kept patient.

    .venv/bin/python experiments/nsclc_pd1_msk_2018_as_chowell.py --out external/nsclc
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO.parent / "shared" / "data" / "nsclc_pd1_msk_2018"
CHOWELL = REPO.parent / "shared" / "data" / "chowell_icb"
SEED = 20261201
AGE_TOL, FCNA_TOL, TMB_TOL = 1.0, 0.006, 0.06


def chowell_format(study: Path) -> pd.DataFrame:
    """One row per study patient in Chowell's column names."""
    from predictor.data.readers import read_cohort

    cohort = read_cohort(study)
    c, o = cohort.clinical, cohort.outcomes.reindex(cohort.clinical.index)
    lines = c["line_of_therapy"].astype("Float64")
    treatment = c["treatment_type"].astype("string")
    return pd.DataFrame({
        "SAMPLE_ID": c.index.astype(str),
        "CancerType": "NSCLC",
        "TMB": c["tmb_nonsynonymous"].astype(float),
        "FCNA": c["fga"].astype(float),
        "PDL1_TPS": c["pdl1_score"].astype(float),
        "Systemic_therapy_history": (lines > 1).astype("Int64").where(lines.notna()),
        "Drug": treatment.map({"Monotherapy": 0, "Combination": 1}).astype("Int64"),
        "Age": c["age"].astype(float),
        "Sex": c["sex"].astype("string").map({"Male": 1, "Female": 0}).astype("Int64"),
        "Response": o["responder"].astype("Int64"),
        "PFS_Months": o["pfs_months"].astype(float),
        "PFS_Event": o["pfs_event"].astype("Int64"),
    }).reset_index(drop=True)


def in_chowell(frame: pd.DataFrame, chowell_dir: Path) -> np.ndarray:
    """True for study patients who match a Chowell NSCLC patient (rule in the docstring)."""
    chowell = pd.concat([pd.read_csv(chowell_dir / f) for f in ("train.csv", "test.csv")])
    nsclc = chowell[chowell["CancerType"] == "NSCLC"]
    found = np.zeros(len(frame), dtype=bool)
    for i, row in enumerate(frame.itertuples()):
        match = ((np.abs(nsclc["Age"] - (row.Age + 0.5)) <= AGE_TOL)  # study ages are whole years
                 & (nsclc["Sex"] == row.Sex)
                 & (np.abs(nsclc["FCNA"] - row.FCNA) < FCNA_TOL)
                 & (np.abs(nsclc["TMB"] - row.TMB) < TMB_TOL))
        found[i] = bool(match.any())
    return found


def halves(frame: pd.DataFrame, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified (responder / non-responder / unlabelled) random halves."""
    rng = np.random.default_rng(seed)
    stratum = frame["Response"].astype("Float64").fillna(-1).to_numpy()
    a = np.zeros(len(frame), dtype=bool)
    for value in np.unique(stratum):
        idx = np.flatnonzero(stratum == value)
        rng.shuffle(idx)
        a[idx[: (len(idx) + 1) // 2]] = True
    return frame[a], frame[~a]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (new)")
    parser.add_argument("--study", type=Path, default=STUDY)
    parser.add_argument("--chowell", type=Path, default=CHOWELL)
    args = parser.parse_args()
    frame = chowell_format(args.study)
    overlap = in_chowell(frame, args.chowell)
    kept = frame[~overlap]
    args.out.mkdir(parents=True, exist_ok=False)
    half_a, half_b = halves(kept)
    for name, part in (("all", kept), ("half_a", half_a), ("half_b", half_b)):
        part.to_csv(args.out / f"{name}.csv", index=False)
        labels = part["Response"].dropna()
        print(f"{name}.csv: {len(part)} patients, {len(labels)} labelled, "
              f"{int(labels.sum())} with durable benefit")
    print(f"dropped {int(overlap.sum())} of {len(frame)} study patients who match a Chowell "
          "patient")


if __name__ == "__main__":
    main()
