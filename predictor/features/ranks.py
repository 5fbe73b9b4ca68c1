"""Within-sample gene ranks of an expression matrix, and the scores built on them.

Why ranks: a gene's rank among the genes of its own sample does not change under any
increasing transform of that sample (TPM, log TPM, FPKM or RSEM, a library-size factor), so
scores built on ranks need no normalisation across studies and no reference cohort.

Speed: each sample is sorted once over all its genes (``np.sort`` on a contiguous block of
samples, column blocks to cap memory); the rank of any gene is then a binary search in its
sample's sorted values. Only the genes a caller asks about are ranked, never one pass per
signature. Ties take the lowest rank (R's ``rank(ties.method = "min")``, singscore's default);
NaN (a gene the sample's study did not measure) has no rank and does not count in the sample's
gene total.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BLOCK = 512  # samples sorted at a time: 20,000 genes x 512 x 4 bytes = 41 MB


def selected_ranks(values: np.ndarray, rows: np.ndarray,
                   block: int = DEFAULT_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Min-ranks (1 = lowest) of genes ``rows`` within each sample of a genes x samples
    matrix, and each sample's number of measured (non-NaN) genes.

    Returns ``ranks`` (``len(rows)`` x samples, float64, NaN where the gene is NaN in the
    sample or a row is -1) and ``n_measured`` (per sample).
    """
    values = np.asarray(values)
    rows = np.asarray(rows, dtype=np.int64)
    n_genes, n_samples = values.shape
    ranks = np.full((len(rows), n_samples), np.nan)
    n_measured = np.zeros(n_samples)
    valid = rows >= 0
    safe_rows = np.where(valid, rows, 0)
    for start in range(0, n_samples, max(1, int(block))):
        stop = min(start + max(1, int(block)), n_samples)
        # A copy always (never a view: the caller's matrix must not be sorted in place)
        sorted_block = np.array(values[:, start:stop].T, dtype=np.float32, order="C")
        sorted_block.sort(axis=1)  # NaN sorts last
        measured = n_genes - np.isnan(sorted_block).sum(axis=1)
        n_measured[start:stop] = measured
        queries = values[safe_rows, start:stop].T.astype(np.float32)  # (samples, rows)
        for i in range(stop - start):
            m = int(measured[i])
            pos = np.searchsorted(sorted_block[i, :m], queries[i], side="left")
            ranks[:, start + i] = pos + 1.0
        ranks[:, start:stop][np.isnan(queries.T)] = np.nan
    ranks[~valid] = np.nan
    return ranks, n_measured


def first_measured(ranks: np.ndarray, alternatives: list[list[int]]) -> np.ndarray:
    """One rank row per entry: the rank of the entry's first alternative row that the sample
    measured (gene symbols renamed between annotations, e.g. ``CCN2`` / ``CTGF``)."""
    out = np.full((len(alternatives), ranks.shape[1]), np.nan)
    for e, alts in enumerate(alternatives):
        for r in alts:
            if r < 0:
                continue
            gap = np.isnan(out[e])
            out[e, gap] = ranks[r, gap]
    return out


def singscore(entry_ranks: np.ndarray, n_measured: np.ndarray, min_coverage: float,
              direction: str = "up") -> tuple[np.ndarray, np.ndarray]:
    """Centred singscore (Foroutan et al., BMC Bioinformatics 2018;19:404) of one gene set.

    ``entry_ranks`` is (set genes x samples), NaN for a gene the sample lacks. With ``n`` the
    set genes the sample measured and ``N`` its measured genes, the mean rank ``S`` is scaled
    by its bounds ``(n + 1) / 2`` and ``(2N - n + 1) / 2`` to ``[0, 1]`` and centred by
    subtracting 0.5, so a score lies in ``[-0.5, 0.5]``. A ``down`` set (genes that fall when
    the programme is active) scores ``-(score)``, i.e. singscore's ``1 - normalised`` centred.
    Returns the scores (NaN where the sample's coverage ``n / set size`` is below
    ``min_coverage``) and the coverage per sample.
    """
    size = entry_ranks.shape[0]
    present = ~np.isnan(entry_ranks)
    n = present.sum(axis=0).astype(np.float64)
    coverage = n / size if size else np.zeros(entry_ranks.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_rank = np.where(present, entry_ranks, 0.0).sum(axis=0) / n
        low = (n + 1.0) / 2.0
        high = (2.0 * n_measured - n + 1.0) / 2.0
        score = (mean_rank - low) / (high - low) - 0.5
    ok = (n > 0) & (coverage >= min_coverage - 1e-12) & (n_measured > n)
    score = np.where(ok, score, np.nan)
    if direction == "down":
        score = -score
    return score, coverage


def percentiles(ranks: np.ndarray, n_measured: np.ndarray) -> np.ndarray:
    """Within-sample percentile in ``[0, 1]`` of ranked genes: ``(rank - 1) / (N - 1)``
    (0 = the sample's lowest-expressed gene, 1 = its highest)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (ranks - 1.0) / (n_measured - 1.0)
    return np.where(n_measured > 1, out, np.nan)
