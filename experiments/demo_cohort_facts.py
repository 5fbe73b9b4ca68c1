"""The facts about a simulated study that data/README.md quotes ("Demo contents").

Reads a simulated study (default ``data/demo``) and its ``ground_truth.tsv`` and prints the
patients per cancer type, table sizes, best-response counts, Kaplan-Meier medians, the oracle
AUC, the share of regimens discordant with the indication and of combinations by fitness
third (recomputed from the same seed and size, which the study's ``meta_study.txt`` names).
``--pfs-by-regimen N`` also simulates N patients (seed 1) and prints the Kaplan-Meier median
PFS of the regimen groups data/README.md quotes ("Relapse"). No files written.

    .venv/bin/python experiments/demo_cohort_facts.py [STUDY_FOLDER] [--pfs-by-regimen 30000]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from predictor.data.readers import read_cohort
from predictor.data.simulator.generate import draw_state
from predictor.data.simulator.regimens import COMBINATION, discordant_share, fitness
from predictor.data.truth import read_truth
from predictor.evaluation.plots import kaplan_meier


def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """First time the Kaplan-Meier curve is at or below 0.5 (NaN if never)."""
    x, y = kaplan_meier(time, event)
    below = np.flatnonzero(y <= 0.5)
    return float(x[below[0]]) if len(below) else float("nan")


def pfs_by_regimen(n_patients: int, seed: int = 1) -> None:
    """Median PFS of patients as assigned (so confounded by fitness), by regimen group."""
    from predictor.data.simulator import simulate_cohort

    cohort, truth = simulate_cohort(n_patients, seed, expression="none")
    clin, out = cohort.clinical, cohort.outcomes
    truth = truth.set_index("patient_id").reindex(clin.index)
    reg, ct = clin["regimen"].astype(str), clin["cancer_type"].astype(str)
    first = (clin["line_of_therapy"].astype(int) == 1).to_numpy()
    target = (truth["target_ccf"].fillna(0) > 0).to_numpy()
    resistant = (truth["resistant_subclone_ccf"].fillna(0) > 0).to_numpy()
    osi = (reg == "osimertinib").to_numpy() & (ct == "NSCLC").to_numpy()
    groups = {
        "osimertinib, EGFR-mutant NSCLC, first line": osi & target & first,
        "  of which with a resistant subclone": osi & target & first & resistant,
        "osimertinib without EGFR mutation": osi & ~target,
        "dabrafenib+trametinib, BRAF V600E melanoma":
            (reg == "dabrafenib+trametinib").to_numpy() & (ct == "Melanoma").to_numpy() & target,
        "nivolumab+ipilimumab, melanoma":
            (reg == "nivolumab+ipilimumab").to_numpy() & (ct == "Melanoma").to_numpy(),
        "carboplatin+pemetrexed+pembrolizumab":
            (reg == "carboplatin+pemetrexed+pembrolizumab").to_numpy(),
        "fluorouracil+oxaliplatin": (reg == "fluorouracil+oxaliplatin").to_numpy(),
        "pembrolizumab, NSCLC": (reg == "pembrolizumab").to_numpy() & (ct == "NSCLC").to_numpy(),
        "docetaxel": (reg == "docetaxel").to_numpy(),
    }
    t, e = out["pfs_months"].to_numpy(float), out["pfs_event"].to_numpy(int)
    for name, mask in groups.items():
        print(f"median PFS {name}: {km_median(t[mask], e[mask]):.1f} months (n {mask.sum()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", default="data/demo", type=Path)
    parser.add_argument("--pfs-by-regimen", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if args.pfs_by_regimen:
        pfs_by_regimen(args.pfs_by_regimen)
    cohort = read_cohort(args.study)
    truth = read_truth(args.study / "ground_truth.tsv")
    clin, out = cohort.clinical, cohort.outcomes
    print("patients:", clin["cancer_type"].value_counts().to_dict())
    mut = cohort.mutations_by_patient()
    called = mut.groupby("patient_id").size().reindex(clin.index, fill_value=0)
    print(f"MAF rows {len(cohort.mutations):,} (median {called.median():.0f} per tumour), "
          f"clones {len(cohort.clones):,}, ctDNA measurements {len(cohort.ctdna):,}")
    print("best response:", out["best_response"].value_counts().to_dict())
    pfs_t, pfs_e = out["pfs_months"].to_numpy(float), out["pfs_event"].to_numpy(int)
    print(f"Kaplan-Meier median PFS {km_median(pfs_t, pfs_e):.2f} months "
          f"({pfs_e.mean():.1%} events), median OS "
          f"{km_median(out['os_months'].to_numpy(float), out['os_event'].to_numpy(int)):.2f}")
    y = out["responder"].astype("Float64")
    ok = y.notna().to_numpy()
    p = truth["true_response_probability"].reindex(y.index)
    print(f"oracle AUC {roc_auc_score(y[ok].astype(int), p[ok]):.3f}")
    meta = (args.study / "meta_study.txt").read_text()
    found = re.search(r"\((\d+) patients, seed (\d+)\)", meta)
    if found:
        st = draw_state(int(found.group(1)), int(found.group(2)))
        share = discordant_share(st.patients, st.genomics, st.clones.msi, st.regimen)
        same = list(np.array(st.ids)) == [str(i) for i in clin.index]
        print(f"regimens discordant with the indication: {share:.1%}"
              + ("" if same else " (study ids differ from the seed's simulation!)"))
        fit, combo = fitness(st.patients), COMBINATION[st.regimen]
        low, high = np.quantile(fit, [1 / 3, 2 / 3])
        thirds = (fit < low, (fit >= low) & (fit < high), fit >= high)
        print("combinations by fitness third (least fit first): "
              + ", ".join(f"{combo[m].mean():.0%}" for m in thirds))


if __name__ == "__main__":
    main()
