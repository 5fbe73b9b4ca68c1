"""MAF rows: passengers and drivers placed in clones, with noisy read counts like a real caller.

For a mutation in clone c of a tumour with purity p, local copy number CN and multiplicity m
(mutated copies; all copies for 20% of clonal mutations, i.e. LOH before amplification):

    VAF = p * CCF(c) * m / (p * CN + 2 (1 - p))

Depth ~ NegativeBinomial(mean mu_sample, size 20) with mu_sample ~ U(300, 500) and
``t_alt_count ~ Binomial(depth, VAF)``; a variant is called when it has >= 3 alt reads and
VAF >= 2%, so low-CCF subclones (including resistant ones) are sometimes missed, as in real
data. CN is 1-4 (more gains in whole-genome-doubled tumours).

Everything is vectorised over rows; strings are built with Arrow compute kernels and stay
Arrow-backed (``string[pyarrow]``), which keeps 10M rows in well under a GB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from predictor.data.simulator import catalogue as K
from predictor.data.simulator.clones import MAX_CLONES, Clones
from predictor.data.simulator.genomics import Genomics

MIN_ALT = 3
MIN_VAF = 0.02
_CN_PROBS = np.array([[0.10, 0.75, 0.10, 0.05], [0.05, 0.30, 0.35, 0.30]])  # diploid, WGD
_ALL_COPIES_RATE = 0.2  # clonal mutations on every copy (LOH, then gain)
_SUFFIX = (*K.AMINO_ACIDS, "=", "*", "fs", "del", "dup", "_splice")
# HGVSp suffix per passenger class; -1 = the alternative amino acid.
_CLASS_SUFFIX = np.array([-1, 20, 21, 22, 22, 23, 24, 25])
_PASSENGER_GENES = list(K.PASSENGER_GENES)
_LENGTHS = np.array(list(K.PASSENGER_GENES.values()), dtype=np.float64)
_DRIVER_GENES = sorted({v.gene for v in K.VARIANTS.values()})
GENE_VOCAB = _PASSENGER_GENES + _DRIVER_GENES
_VAR_GENE = np.array([len(_PASSENGER_GENES) + _DRIVER_GENES.index(K.VARIANTS[k].gene)
                      for k in K.VARIANT_KEYS], dtype=np.int16)
_VAR_CLASS = np.array([K.PASSENGER_CLASSES.index(K.VARIANTS[k].vclass)
                       for k in K.VARIANT_KEYS], dtype=np.int8)
_VAR_HGVSP = [K.VARIANTS[k].hgvsp for k in K.VARIANT_KEYS]
BLOCK = 16384  # patients per block: bounds memory, fixed so draws stay reproducible


@dataclass
class MafResult:
    mutations: pd.DataFrame
    detected_per_clone: np.ndarray  # (n, MAX_CLONES) called mutations per clone
    clonal_nonsyn: np.ndarray  # true truncal nonsynonymous mutations per tumour
    subclonal_share: np.ndarray  # true share of mutations outside the trunk


def expected_vaf(
    purity: np.ndarray, ccf: np.ndarray, mult: np.ndarray, cn: np.ndarray
) -> np.ndarray:
    """VAF = p CCF m / (p CN + 2 (1 - p)): mutated reads over all reads at the locus."""
    return np.minimum(purity * ccf * mult / (purity * cn + 2 * (1 - purity)), 1.0)


def _arrow_str(values: pa.Array) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(values))


def _take(vocab: tuple[str, ...] | list[str], codes: np.ndarray) -> pa.Array:
    return pa.array(list(vocab), type=pa.string()).take(pa.array(codes))


def draw_mutations(
    sample_ids: list[str], clones: Clones, gen: Genomics, rng: np.random.Generator
) -> MafResult:
    """Draw every passenger and driver, their read counts, and the called MAF.

    Patients are processed in fixed blocks (bounded memory at 100k patients); rows come out
    grouped by sample, passengers and drivers together.
    """
    n = len(sample_ids)
    counts = clones.counts
    total = counts.sum(axis=1)
    subclonal_share = np.divide(total - counts[:, 0], total, out=np.zeros(n), where=total > 0)
    clonal_nonsyn = np.zeros(n, dtype=np.int64)
    barcodes = pa.array(list(sample_ids), type=pa.string())
    blocks = []
    for lo in range(0, n, BLOCK):
        hi = min(n, lo + BLOCK)
        block, ctmb = _block(lo, hi, clones, gen, rng)
        clonal_nonsyn[lo:hi] = ctmb
        blocks.append(block)

    def cat(key: str) -> np.ndarray:
        return np.concatenate([b[key] for b in blocks])

    def strings(key: str) -> pd.Series:
        return _arrow_str(pa.chunked_array([b[key] for b in blocks], type=pa.string()))

    pat, clone = cat("pat"), cat("clone")
    gene, vclass = cat("gene"), cat("vclass")
    vtype = [K.PASSENGER_VARIANT_TYPE[c] for c in range(len(K.PASSENGER_CLASSES))]
    mutations = pd.DataFrame({
        "Hugo_Symbol": _arrow_str(_take(GENE_VOCAB, gene)),
        "Tumor_Sample_Barcode": _arrow_str(barcodes.take(pa.array(pat))),
        "Variant_Classification": _arrow_str(_take(K.PASSENGER_CLASSES, vclass)),
        "Variant_Type": _arrow_str(_take(vtype, vclass)),
        "HGVSp_Short": strings("hgvsp"),
        "t_ref_count": cat("ref_count"),
        "t_alt_count": cat("alt_count"),
        "ccf": cat("ccf"),
    })
    mutations.attrs["text_trimmed"] = True  # no blanks or padding: schema skips re-trimming
    detected = np.bincount(pat.astype(np.int64) * MAX_CLONES + clone,
                           minlength=n * MAX_CLONES).reshape(n, MAX_CLONES)
    return MafResult(mutations=mutations, detected_per_clone=detected,
                     clonal_nonsyn=clonal_nonsyn, subclonal_share=subclonal_share)


def _block(
    lo: int, hi: int, clones: Clones, gen: Genomics, rng: np.random.Generator
) -> tuple[dict, np.ndarray]:
    """Rows of patients ``lo:hi``: called variants sorted by patient, and true clonal TMB."""
    n = hi - lo
    counts = clones.counts[lo:hi]
    flat = counts.ravel()
    p_pat = np.repeat(np.repeat(np.arange(lo, hi, dtype=np.int32), MAX_CLONES), flat)
    p_clone = np.repeat(np.tile(np.arange(MAX_CLONES, dtype=np.int8), n), flat)
    m = len(p_pat)
    p_gene = np.searchsorted(np.cumsum(_LENGTHS) / _LENGTHS.sum(), rng.random(m))
    p_gene = np.minimum(p_gene, len(_LENGTHS) - 1).astype(np.int16)
    p_class = np.searchsorted(np.cumsum(K.PASSENGER_CLASS_FREQ), rng.random(m))
    p_class = np.minimum(p_class, len(K.PASSENGER_CLASSES) - 1).astype(np.int8)
    nonsyn = K.NONSYNONYMOUS_PASSENGER[p_class]
    clonal_nonsyn = np.bincount(p_pat[(p_clone == 0) & nonsyn] - lo, minlength=n)

    d_pat, d_var = np.nonzero(gen.variant_clone[lo:hi] >= 0)
    d_clone = gen.variant_clone[lo:hi][d_pat, d_var].astype(np.int8)
    pat = np.concatenate([p_pat, (d_pat + lo).astype(np.int32)])
    clone = np.concatenate([p_clone, d_clone])
    gene = np.concatenate([p_gene, _VAR_GENE[d_var]])
    vclass = np.concatenate([p_class, _VAR_CLASS[d_var]])
    rows = len(pat)

    # Read counts.
    purity = gen.purity[pat]
    ccf = clones.ccf[pat, clone]
    u = rng.random(rows)
    thresholds = np.cumsum(_CN_PROBS, axis=1)[gen.wgd.astype(np.int8)[pat]]
    cn = 1 + (u[:, None] > thresholds[:, :3]).sum(axis=1)
    mult = np.where((clone == 0) & (rng.random(rows) < _ALL_COPIES_RATE), cn, 1)
    vaf = expected_vaf(purity, ccf, mult, cn)
    mean_depth = rng.uniform(300, 500, n)[pat - lo]
    depth = np.maximum(rng.negative_binomial(20, 20 / (20 + mean_depth)), 10)
    alt = rng.binomial(depth, vaf)
    keep = (alt >= MIN_ALT) & (alt >= MIN_VAF * depth)

    # Passenger protein changes (only for called rows).
    kp = keep[:m]
    k_class = p_class[kp]
    ref = rng.integers(0, 20, m, dtype=np.int8)[kp]
    alt_aa = ((ref + rng.integers(1, 20, m, dtype=np.int8)[kp]) % 20).astype(np.int8)
    pos = (np.floor(rng.random(m)[kp] * _LENGTHS[p_gene[kp]]) + 1).astype(np.int32)
    suffix = np.where(_CLASS_SUFFIX[k_class] < 0, alt_aa, _CLASS_SUFFIX[k_class])
    ref = np.where(k_class == K.PASSENGER_CLASSES.index("Splice_Site"), 20, ref)
    hgvsp = pa.concat_arrays([
        pc.binary_join_element_wise(
            "p.", _take((*K.AMINO_ACIDS, "X"), ref), pc.cast(pa.array(pos), pa.string()),
            _take(_SUFFIX, suffix), ""),
        _take(_VAR_HGVSP, d_var[keep[m:]]),
    ])
    order = np.argsort(pat[keep], kind="stable")
    block = {
        "pat": pat[keep][order],
        "clone": clone[keep][order],
        "gene": gene[keep][order],
        "vclass": vclass[keep][order],
        "hgvsp": hgvsp.take(pa.array(order)),
        "ref_count": (depth - alt)[keep][order].astype(np.int32),
        "alt_count": alt[keep][order].astype(np.int32),
        "ccf": ccf[keep][order],
    }
    return block, clonal_nonsyn
