"""Published tumour-expression scores of response to immune checkpoint blockade, as published.

Nothing here is fitted: each score is a fixed per-sample formula of the patient's own TPM
values (linear scale), so the score of one patient never depends on the other patients, a
cohort or a fold. They are the references an expression model must beat
(``predictor.models.published_expression`` reads them as baselines) and may also be model
features.

- ``pub_cyt`` -- cytolytic activity (Rooney et al., Cell 2015;160:48-61): the geometric mean
  of GZMA and PRF1 in TPM with an offset of 0.01, ``sqrt((GZMA + 0.01) * (PRF1 + 0.01))``.
- ``pub_gep`` -- the 18-gene T-cell-inflamed gene expression profile (Ayers et al., J Clin
  Invest 2017;127:2930-2940) with the weights of Cristescu et al., Science 2018;362:eaar3593,
  Table S2B (:data:`GEP_WEIGHTS`): ``sum_g w_g * (log10(TPM_g + 1) - mean_h log10(TPM_h + 1))``
  over the 11 housekeeping genes ``h`` of :data:`GEP_HOUSEKEEPING` (housekeeping-normalised log
  expression, as in Cristescu's method). The log base only rescales the score (log2 multiplies
  it by 3.32), so rankings and AUCs are the same with log2(TPM + 1), as the ``easier`` R
  package computes it.
- ``pub_cd8_teff`` -- CD8 T-effector signature (Mariathasan et al., Nature 2018;554:544-548,
  IMvigor210): mean log2(TPM + 1) of CD8A, GZMA, GZMB, IFNG, CXCL9, CXCL10, PRF1, TBX21. The
  paper averaged per-gene z-scores within its one cohort; a z-score needs the other patients,
  so the per-sample mean log expression is used here.
- ``pub_impres`` -- IMPRES (Auslander et al., Nat Med 2018;24:1545-1549): the number of the
  15 checkpoint gene pairs of :data:`IMPRES_PAIRS` in which the first gene's expression is
  strictly higher than the second's (0-15). Pairs with a gene not measured are left out and
  the count is rescaled to 15 pairs, as the ``easier`` package does.

Gene symbols have aliases in older annotations (VSIR = C10orf54, NRDE2 = C14orf102): the
first symbol of :data:`ALIASES` present in the matrix is used. Genes a matrix lacks are left
out of a score (CD8 T-effector: mean of the genes present; GEP: sum of the terms present;
housekeeping mean of those present; IMPRES: rescaled); a patient without expression, or
without any gene of a score (cytolytic activity: either gene), gets NaN.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.errors import InputError
from predictor.features.base import FeatureFamily

CYT_GENES = ("GZMA", "PRF1")
CYT_OFFSET = 0.01
# Cristescu et al. 2018, Table S2B (the weights also used by the easier R package,
# github.com/olapuentesantana/easier, compute_Tcell_inflamed).
GEP_WEIGHTS: dict[str, float] = {
    "CCL5": 0.008346, "CD27": 0.072293, "CD274": 0.042853, "CD276": -0.0239,
    "CD8A": 0.031021, "CMKLR1": 0.151253, "CXCL9": 0.074135, "CXCR6": 0.004313,
    "HLA-DQA1": 0.020091, "HLA-DRB1": 0.058806, "HLA-E": 0.07175, "IDO1": 0.060679,
    "LAG3": 0.123895, "NKG7": 0.075524, "PDCD1LG2": 0.003734, "PSMB10": 0.032999,
    "STAT1": 0.250229, "TIGIT": 0.084767,
}
GEP_HOUSEKEEPING = ("STK11IP", "ZBTB34", "TBC1D10B", "OAZ1", "POLR2A", "G6PD", "ABCF1",
                    "NRDE2", "UBB", "TBP", "SDHA")
CD8_TEFF_GENES = ("CD8A", "GZMA", "GZMB", "IFNG", "CXCL9", "CXCL10", "PRF1", "TBX21")
# Auslander et al. 2018: (first, second) -- the pair scores 1 when first > second. Taken from the
# easier R package's compute_IMPRES (github.com/olapuentesantana/easier); three other public
# implementations list the same 15 pairs (ashyamal/COMPASS, citing the "original IMPRES
# features" of Carter et al.'s re-analysis, JasonACarter/IMPRES_Correspondence; an R
# default_ckpt_pairs). tests/features/test_published_expression.py pins the list.
IMPRES_PAIRS: tuple[tuple[str, str], ...] = (
    ("PDCD1", "TNFSF4"), ("CD27", "PDCD1"), ("CTLA4", "TNFSF4"), ("CD40", "CD28"),
    ("CD86", "TNFSF4"), ("CD28", "CD86"), ("CD80", "TNFSF9"), ("CD274", "VSIR"),
    ("CD86", "HAVCR2"), ("CD40", "PDCD1"), ("CD86", "CD200"), ("CD40", "CD80"),
    ("CD28", "CD276"), ("CD40", "CD274"), ("TNFRSF14", "CD86"),
)
ALIASES: dict[str, tuple[str, ...]] = {"VSIR": ("VSIR", "C10orf54"),
                                       "NRDE2": ("NRDE2", "C14orf102")}
SCORES = ("cyt", "gep", "cd8_teff", "impres")


def _log(values: np.ndarray, base: float) -> np.ndarray:
    return np.log1p(np.clip(values, 0.0, None)) / np.log(base)


def cytolytic_activity(genes: dict[str, np.ndarray]) -> np.ndarray:
    """Rooney 2015: geometric mean of GZMA and PRF1 TPM, offset 0.01."""
    gzma, prf1 = genes["GZMA"], genes["PRF1"]
    return np.sqrt((np.clip(gzma, 0.0, None) + CYT_OFFSET) * (np.clip(prf1, 0.0, None)
                                                             + CYT_OFFSET))


def gep_score(genes: dict[str, np.ndarray]) -> np.ndarray:
    """Cristescu 2018: weighted sum of housekeeping-centred log10(TPM + 1)."""
    with np.errstate(invalid="ignore"):
        housekeeping = np.vstack([_log(genes[g], 10.0) for g in GEP_HOUSEKEEPING])
        seen = ~np.isnan(housekeeping)
        centre = np.where(seen.any(axis=0),
                          np.nansum(housekeeping, axis=0) / np.maximum(seen.sum(axis=0), 1),
                          np.nan)
        terms = np.vstack([weight * (_log(genes[gene], 10.0) - centre)
                           for gene, weight in GEP_WEIGHTS.items()])
    # A signature gene a study did not measure is left out (as in the easier package): Liu
    # et al.'s matrix lacks CCL5 (weight 0.008); NaN only when no term is left.
    return np.where(np.isnan(terms).all(axis=0), np.nan, np.nansum(terms, axis=0))


def cd8_teff_score(genes: dict[str, np.ndarray]) -> np.ndarray:
    """Mariathasan 2018: mean log2(TPM + 1) of the 8 CD8 T-effector genes (NaN-skipping)."""
    values = np.vstack([_log(genes[g], 2.0) for g in CD8_TEFF_GENES])
    seen = ~np.isnan(values)
    return np.where(seen.any(axis=0),
                    np.nansum(values, axis=0) / np.maximum(seen.sum(axis=0), 1), np.nan)


def impres_score(genes: dict[str, np.ndarray]) -> np.ndarray:
    """Auslander 2018: pairs with first > second, rescaled to 15 when pairs are unmeasured."""
    first = np.vstack([genes[a] for a, _ in IMPRES_PAIRS])
    second = np.vstack([genes[b] for _, b in IMPRES_PAIRS])
    measured = ~(np.isnan(first) | np.isnan(second))
    wins = np.where(measured, first > second, False).sum(axis=0).astype(np.float64)
    n = measured.sum(axis=0)
    return np.where(n > 0, wins * len(IMPRES_PAIRS) / np.maximum(n, 1), np.nan)


FORMULAS = {"cyt": cytolytic_activity, "gep": gep_score, "cd8_teff": cd8_teff_score,
            "impres": impres_score}


def needed_genes() -> list[str]:
    """Every gene symbol the four scores read."""
    genes = [*CYT_GENES, *GEP_WEIGHTS, *GEP_HOUSEKEEPING, *CD8_TEFF_GENES]
    genes += [g for pair in IMPRES_PAIRS for g in pair]
    return list(dict.fromkeys(genes))


def gene_values(expression, genes: list[str]) -> dict[str, np.ndarray]:
    """Each gene's row (float64, NaN when absent). Per sample, the first of the gene's aliases
    that the sample measured: a pooled matrix has both VSIR (NaN in hg19 studies) and
    C10orf54 (NaN in hg38 studies) rows."""
    out: dict[str, np.ndarray] = {}
    n = expression.shape[1]
    for gene in genes:
        rows = expression.gene_rows(ALIASES.get(gene, (gene,)))
        values = np.full(n, np.nan)
        for row in rows[rows >= 0]:
            gaps = np.isnan(values)
            values[gaps] = expression.values[row, gaps]
        out[gene] = values
    return out


def published_scores(expression, names: tuple[str, ...] | list[str] = SCORES) -> pd.DataFrame:
    """The named scores of every column (sample or patient) of an ``Expression`` matrix."""
    genes = gene_values(expression, needed_genes())
    return pd.DataFrame({f"pub_{name}": FORMULAS[name](genes) for name in names},
                        index=pd.Index(expression.samples))


class PublishedExpressionScores(FeatureFamily):
    """``pub_cyt``, ``pub_gep``, ``pub_cd8_teff``, ``pub_impres`` (or the ``scores`` chosen)
    from the cohort's expression matrix, per patient (a patient's samples averaged first)."""

    requires: ClassVar[tuple[str, ...]] = ("expression",)

    def __init__(self, scores: list[str] | None = None) -> None:
        self.scores = scores

    def _names(self) -> list[str]:
        names = list(self.scores) if self.scores else list(SCORES)
        unknown = [n for n in names if n not in FORMULAS]
        if unknown:
            raise InputError(f"unknown published expression score(s) {unknown} (known: "
                             f"{', '.join(SCORES)})",
                             column="features.families.published_expression.scores")
        return names

    def _fit(self, cohort: Cohort) -> None:
        self.feature_names_ = [f"pub_{name}" for name in self._names()]

    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        matrix = cohort.expression.by_patient(cohort.samples, cohort.patient_ids)
        out = published_scores(matrix, self._names())
        out.index = cohort.patient_ids
        return out
