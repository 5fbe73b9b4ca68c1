"""How well bulk-RNA scores recover the simulated micro-environment (numbers in data/README.md).

Reads a simulated study (default ``data/demo``), scores it with the expression TME family
(singscore of the packaged gene sets) and prints Spearman's rho of each score with the true
value behind it: the TME table (``data_tme.txt``) or, for cell types and states the TME table
lacks, ``ground_truth_tme.tsv``. Also prints the size of the expression file. No files written.

    .venv/bin/python experiments/simulated_tme_recovery.py [STUDY_FOLDER]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from predictor.data.readers import read_cohort
from predictor.features.expression import ExpressionTMEFeatures

PAIRS = [  # (family score, true value)
    ("rna_cd8_t_cells", "cd8"), ("rna_cytolytic_activity", "cd8"),
    ("rna_t_cell_inflamed", "cd8"), ("rna_treg", "treg"),
    ("rna_m1_macrophages", "m1_macrophage"), ("rna_m2_macrophages", "m2_macrophage"),
    ("rna_caf", "caf"), ("rna_tgfb_fibroblast", "stroma"),
    ("rna_angiogenesis", "microvessel_density"), ("rna_hypoxia", "hypoxia"),
    ("rna_glycolysis", "ph"), ("rna_nrf2_oxidative_stress", "oxidative_stress"),
    ("rna_nk_cells", "true_nk_fraction"), ("rna_b_cells", "true_b_cell_fraction"),
    ("rna_mhc_i_antigen_presentation", "true_ifn_gamma"),
    ("rna_proliferation", "true_proliferation"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", default="data/demo", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cohort = read_cohort(args.study)
    expr = cohort.expression
    size = (args.study / "data_mrna_seq_tpm.txt").stat().st_size / 1e6
    print(f"{args.study}: {expr.shape[0]:,} genes x {expr.shape[1]:,} samples, "
          f"{(expr.values == 0).mean():.1%} zeros, data_mrna_seq_tpm.txt {size:.1f} MB")
    scores = ExpressionTMEFeatures().fit(cohort).transform(cohort)
    tme = cohort.tme.set_index("patient_id").reindex(scores.index)
    truth = pd.read_csv(args.study / "ground_truth_tme.tsv", sep="\t").set_index("patient_id")
    truth = truth.reindex(scores.index)
    print(f"{'score':34s} {'true value':22s} spearman")
    for score, true in PAIRS:
        target = tme[true] if true in tme.columns else truth[true]
        print(f"{score:34s} {true:22s} {spearmanr(scores[score], target)[0]:+.2f}")


if __name__ == "__main__":
    main()
