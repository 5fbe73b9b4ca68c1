"""Driver, resistance and copy-number alterations, and where in the clone tree they sit.

- One founder driver at most per tumour (EGFR/KRAS/BRAF/NRAS/PIK3CA hotspots are mutually
  exclusive in real tumours), with cancer-type prevalences; truncal with probability 0.85.
- Co-alterations (TP53, STK11, KEAP1, PTEN, B2M, JAK1/2, HLA-A, ...) independently, truncal
  with probability 0.7.
- Pre-existing resistant subclones conditional on a truncal founder they resist (EGFR T790M
  and C797S and a KRAS bypass in EGFR-mutant tumours, KRAS Y96D in KRAS G12C, NRAS Q61K and
  MAP2K1 in BRAF V600E), more frequent after prior therapy, always in a subclone (which then
  carries the truncal founder too): their CCF is what later drives relapse time under the drug
  they resist.
- Gene-level copy number: focal amplifications (MET, ERBB2, MYC, CCND1) and deep losses (PTEN,
  CDKN2A) with cancer-type rates, MET amplification enriched in EGFR-mutant NSCLC, plus
  one-copy gains/losses as noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.data.simulator import catalogue as K
from predictor.data.simulator.clones import Clones


@dataclass
class Genomics:
    """Per-tumour alteration arrays."""

    variant_clone: np.ndarray  # (n, n_variants) int8: clone carrying the variant, -1 absent
    cna: np.ndarray  # (n, len(CNA_GENES)) int8 GISTIC calls
    purity: np.ndarray
    ploidy: np.ndarray
    wgd: np.ndarray  # bool, whole-genome doubled

    def has(self, key: str) -> np.ndarray:
        return self.variant_clone[:, K.VARIANT_INDEX[key]] >= 0

    def clone_of(self, key: str) -> np.ndarray:
        return self.variant_clone[:, K.VARIANT_INDEX[key]]

    def cna_of(self, gene: str) -> np.ndarray:
        return self.cna[:, K.CNA_GENES.index(gene)]


def _random_subclone(clones: Clones, rng: np.random.Generator) -> np.ndarray:
    """A uniformly chosen non-trunk clone (the trunk when the tumour has no subclone)."""
    n_sub = clones.n_clones - 1
    pick = 1 + np.floor(rng.random(len(n_sub)) * np.maximum(n_sub, 1)).astype(np.int64)
    return np.where(n_sub > 0, pick, 0)


def draw_genomics(
    cancer: np.ndarray, line: np.ndarray, clones: Clones, rng: np.random.Generator
) -> Genomics:
    """Draw drivers, resistant subclones, copy number, purity and ploidy."""
    n = len(cancer)
    vc = np.full((n, len(K.VARIANT_KEYS)), -1, dtype=np.int8)

    founders = list(K.FOUNDER)
    probs = np.array([K.FOUNDER[f] for f in founders]).T  # (types, founders)
    probs = np.column_stack([probs, 1 - probs.sum(axis=1)])
    cum = np.cumsum(probs[cancer], axis=1)
    choice = (cum < rng.random(n)[:, None]).sum(axis=1)
    clonal = rng.random(n) < K.FOUNDER_CLONAL
    where = np.where(clonal, 0, _random_subclone(clones, rng))
    for j, key in enumerate(founders):
        hit = choice == j
        vc[hit, K.VARIANT_INDEX[key]] = where[hit]

    for key, rates in K.CO_ALTERATIONS.items():
        hit = rng.random(n) < np.asarray(rates)[cancer]
        clonal = rng.random(n) < K.CO_CLONAL
        where = np.where(clonal, 0, _random_subclone(clones, rng))
        if key == "TP53":
            hot = rng.integers(0, len(K.TP53_HOTSPOTS), n)
            for h, hkey in enumerate(K.TP53_HOTSPOTS):
                sel = hit & (hot == h)
                vc[sel, K.VARIANT_INDEX[hkey]] = where[sel]
            continue
        col = K.VARIANT_INDEX[key]
        sel = hit & (vc[:, col] < 0)
        vc[sel, col] = where[sel]

    for res_key, needs, p_first, p_later in K.RESISTANCE:
        # Only under a truncal founder: a resistant subclone must carry the founder too.
        has_need = np.zeros(n, dtype=bool)
        for need in needs:
            has_need |= vc[:, K.VARIANT_INDEX[need]] == 0
        p = np.where(line > 1, p_later, p_first)
        col = K.VARIANT_INDEX[res_key]
        sel = has_need & (clones.n_clones > 1) & (rng.random(n) < p) & (vc[:, col] < 0)
        vc[sel, col] = _random_subclone(clones, rng)[sel]

    cna = np.zeros((n, len(K.CNA_GENES)), dtype=np.int8)
    u = rng.random(cna.shape)
    cna[u < K.CNA_ARM_NOISE] = -1
    cna[u > 1 - K.CNA_ARM_NOISE] = 1
    egfr_mut = (vc[:, K.VARIANT_INDEX["EGFR_L858R"]] >= 0) | (
        vc[:, K.VARIANT_INDEX["EGFR_EX19DEL"]] >= 0)
    for gene, (value, rates) in K.CNA_FOCAL.items():
        p = np.asarray(rates)[cancer]
        if gene == "MET":
            p = np.where(egfr_mut, K.MET_AMP_EGFR_MUT, p)
        hit = rng.random(n) < p
        cna[hit, K.CNA_GENES.index(gene)] = value

    a, b = np.array(K.PURITY_BETA).T
    purity = np.clip(rng.beta(a[cancer], b[cancer]), 0.1, 0.95).round(2)
    wgd = rng.random(n) < 0.4
    ploidy = np.where(wgd, rng.uniform(2.8, 4.2, n), np.clip(rng.normal(2.0, 0.1, n), 1.6, 2.5))
    return Genomics(variant_clone=vc, cna=cna, purity=purity, ploidy=ploidy.round(2), wgd=wgd)
