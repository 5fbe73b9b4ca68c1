"""Regimen assignment as a clinic would do it, plus a few mismatches that carry signal.

Each patient falls in one indication group (cancer type x actionable founder driver, and
MSI status for colorectal); the regimen is drawn from that group's first-line or later-line
mix. Mismatches (osimertinib for EGFR wild-type, dabrafenib+trametinib for BRAF wild-type,
alpelisib without PIK3CA, ...) are rare but present, so a model can see that a targeted drug
without its target does not work.
"""

from __future__ import annotations

import numpy as np

from predictor.data.simulator import catalogue as K
from predictor.data.simulator.genomics import Genomics

R = {name: i for i, name in enumerate(K.REGIMENS)}

# group -> (first-line weights, later-line weights), by regimen name.
GROUPS: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "NSCLC_EGFR": (
        {"osimertinib": 0.62, "osimertinib+carboplatin+pemetrexed": 0.12, "erlotinib": 0.09,
         "gefitinib": 0.09, "carboplatin+pemetrexed": 0.05, "pembrolizumab": 0.03},
        {"osimertinib": 0.35, "carboplatin+pemetrexed": 0.35, "docetaxel": 0.15,
         "carboplatin+pemetrexed+pembrolizumab": 0.10, "nivolumab": 0.05}),
    "NSCLC_KRAS_G12C": (
        {"carboplatin+pemetrexed+pembrolizumab": 0.45, "pembrolizumab": 0.25,
         "sotorasib": 0.15, "carboplatin+paclitaxel+atezolizumab": 0.10, "osimertinib": 0.05},
        {"sotorasib": 0.55, "docetaxel": 0.25, "nivolumab": 0.10, "pembrolizumab": 0.10}),
    "NSCLC_BRAF": (
        {"dabrafenib+trametinib": 0.70, "carboplatin+pemetrexed+pembrolizumab": 0.30},
        {"dabrafenib+trametinib": 0.60, "docetaxel": 0.25, "nivolumab": 0.15}),
    "NSCLC_other": (
        {"pembrolizumab": 0.25, "carboplatin+pemetrexed+pembrolizumab": 0.28,
         "carboplatin+paclitaxel+atezolizumab": 0.07, "carboplatin+pemetrexed": 0.10,
         "carboplatin+paclitaxel": 0.08, "atezolizumab": 0.05, "durvalumab": 0.05,
         "nivolumab+ipilimumab": 0.06, "osimertinib": 0.03, "erlotinib": 0.02,
         "sotorasib": 0.01},
        {"docetaxel": 0.35, "nivolumab": 0.25, "pembrolizumab": 0.10, "atezolizumab": 0.10,
         "carboplatin+pemetrexed": 0.10, "gemcitabine": 0.05, "osimertinib": 0.03,
         "erlotinib": 0.02}),
    "Melanoma_BRAF": (
        {"dabrafenib+trametinib": 0.50, "vemurafenib": 0.10, "nivolumab+ipilimumab": 0.20,
         "pembrolizumab": 0.10, "nivolumab": 0.10},
        {"dabrafenib+trametinib": 0.45, "nivolumab+ipilimumab": 0.20, "pembrolizumab": 0.15,
         "ipilimumab": 0.10, "paclitaxel": 0.10}),
    "Melanoma_other": (
        {"pembrolizumab": 0.35, "nivolumab": 0.30, "nivolumab+ipilimumab": 0.30,
         "dabrafenib+trametinib": 0.03, "vemurafenib": 0.02},
        {"nivolumab+ipilimumab": 0.30, "ipilimumab": 0.20, "pembrolizumab": 0.15,
         "paclitaxel": 0.20, "carboplatin+paclitaxel": 0.15}),
    "Colorectal_KRAS_G12C": (
        {"fluorouracil+oxaliplatin": 0.85, "pembrolizumab": 0.05, "sotorasib": 0.10},
        {"sotorasib": 0.50, "fluorouracil+oxaliplatin": 0.40, "gemcitabine": 0.10}),
    "Colorectal_BRAF": (
        {"fluorouracil+oxaliplatin": 0.75, "dabrafenib+trametinib": 0.20,
         "pembrolizumab": 0.05},
        {"dabrafenib+trametinib": 0.45, "fluorouracil+oxaliplatin": 0.45,
         "vemurafenib": 0.10}),
    "Colorectal_MSI": (
        {"pembrolizumab": 0.60, "nivolumab+ipilimumab": 0.20, "fluorouracil+oxaliplatin": 0.20},
        {"pembrolizumab": 0.40, "nivolumab": 0.30, "fluorouracil+oxaliplatin": 0.30}),
    "Colorectal_other": (
        {"fluorouracil+oxaliplatin": 0.90, "pembrolizumab": 0.05, "sotorasib": 0.02,
         "dabrafenib+trametinib": 0.03},
        {"fluorouracil+oxaliplatin": 0.60, "gemcitabine": 0.15, "nivolumab": 0.15,
         "docetaxel": 0.10}),
    "Breast_PIK3CA": (
        {"alpelisib": 0.45, "paclitaxel": 0.30, "docetaxel": 0.15,
         "carboplatin+paclitaxel+atezolizumab": 0.10},
        {"alpelisib": 0.55, "paclitaxel": 0.25, "gemcitabine": 0.20}),
    "Breast_other": (
        {"paclitaxel": 0.40, "docetaxel": 0.25, "carboplatin+paclitaxel": 0.15,
         "carboplatin+paclitaxel+atezolizumab": 0.12, "pembrolizumab": 0.05,
         "alpelisib": 0.03},
        {"gemcitabine": 0.35, "paclitaxel": 0.30, "docetaxel": 0.25, "alpelisib": 0.05,
         "atezolizumab": 0.05}),
    "Bladder": (
        {"cisplatin+gemcitabine": 0.50, "pembrolizumab": 0.20, "atezolizumab": 0.10,
         "carboplatin+paclitaxel": 0.05, "nivolumab": 0.05, "durvalumab": 0.10},
        {"pembrolizumab": 0.40, "atezolizumab": 0.15, "nivolumab": 0.15, "durvalumab": 0.10,
         "docetaxel": 0.10, "paclitaxel": 0.10}),
}
GROUP_NAMES = tuple(GROUPS)


def _weights() -> np.ndarray:
    w = np.zeros((len(GROUPS), 2, len(K.REGIMENS)))
    for g, (first, later) in enumerate(GROUPS.values()):
        for b, mix in enumerate((first, later)):
            for name, weight in mix.items():
                w[g, b, R[name]] = weight
            w[g, b] /= w[g, b].sum()
    return w


def indication_group(cancer: np.ndarray, gen: Genomics, msi: np.ndarray) -> np.ndarray:
    """Indication group index of each patient (see ``GROUPS``)."""
    names = np.array(K.CANCER_TYPES)[cancer]
    egfr = gen.has("EGFR_L858R") | gen.has("EGFR_EX19DEL")
    g12c = gen.has("KRAS_G12C")
    braf = gen.has("BRAF_V600E")
    pik3ca = gen.has("PIK3CA_H1047R") | gen.has("PIK3CA_E545K")
    conditions = [
        (names == "NSCLC") & egfr, (names == "NSCLC") & g12c, (names == "NSCLC") & braf,
        names == "NSCLC", (names == "Melanoma") & braf, names == "Melanoma",
        (names == "Colorectal") & g12c & ~msi, (names == "Colorectal") & braf & ~msi,
        (names == "Colorectal") & msi, names == "Colorectal",
        (names == "Breast") & pik3ca, names == "Breast", names == "Bladder",
    ]
    return np.select(conditions, list(range(len(GROUPS))), default=len(GROUPS) - 1)


def assign_regimens(
    cancer: np.ndarray, line: np.ndarray, gen: Genomics, msi: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Regimen index (into ``REGIMENS``) of each patient."""
    group = indication_group(cancer, gen, msi)
    w = _weights()[group, (line > 1).astype(np.int64)]
    cum = np.cumsum(w, axis=1)
    pick = (cum < rng.random(len(cancer))[:, None] * cum[:, -1:]).sum(axis=1)
    return np.minimum(pick, len(K.REGIMENS) - 1)
