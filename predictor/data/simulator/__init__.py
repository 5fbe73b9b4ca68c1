"""Biology-grounded cohort simulator: mutations, clones, TME, regimens, outcomes and ctDNA.

Why: real cohorts with all of these layers are small and hard to share; a simulator whose
mechanisms are known lets us test that the models learn what they should, and ships a demo.

Generative model, one module per step (each documents its equations):
1. ``patients``: cancer type (NSCLC 35%, melanoma 20%, colorectal 20%, breast 15%, bladder
   10%), age, sex, line of therapy, blood NLR and albumin from one inflammation factor.
2. ``clones``: a clone tree (1-8 clones, trunk CCF 1, children within parent capacity) and
   per-clone mutation counts (log-normal TMB by cancer type).
3. ``genomics``: founder drivers, co-alterations and pre-existing resistant subclones placed in
   clones; gene-level copy number; purity and ploidy.
4. ``maf``: passenger and driver MAF rows with VAF = p CCF m / (p CN + 2 (1 - p)), read depth
   ~ NegBin, alt reads ~ Binomial; only variants a caller would call are kept.
5. ``tme``: micro-environment markers from immune, stromal and vascular latent axes.
6. ``regimens``: regimen choice confounded like practice: by indication group, combinations
   more often for fitter/younger patients, and a documented share of discordant choices.
7. ``mechanisms``: ground truth, per-mechanism logits (targeted, immune checkpoint,
   chemotherapy), combined by independent drug action, and the relapse log-hazard.
8. ``outcomes``: RECIST category, PFS and OS with censoring.
9. ``ctdna``: serial tumour fraction, falling on response, rising 1-3 months before relapse.
10. ``expression``: bulk tumour RNA-seq (linear TPM) from the TME state, purity and genomics:
    marker genes of each cell type and cell state plus background genes (own random stream,
    so the other tables do not depend on it).
``generate`` assembles the schema tables and the ground truth (also the counterfactual truth
under every candidate regimen: ``simulate_regimen_truth``); ``study`` writes a cBioPortal
folder with ``ground_truth.tsv`` and ``ground_truth_regimens.tsv`` beside it.
``data/README.md`` lists every column and effect.

All steps are vectorised over patients and rows (loops only over clone index, drug or gene),
seeded from one ``SeedSequence(seed)``.
"""

from predictor.data.simulator.generate import (
    simulate_cohort,
    simulate_regimen_truth,
    simulate_tables,
    simulate_with_tme_truth,
)
from predictor.data.simulator.study import simulate_study

__all__ = ["simulate_cohort", "simulate_regimen_truth", "simulate_study", "simulate_tables",
           "simulate_with_tme_truth"]
