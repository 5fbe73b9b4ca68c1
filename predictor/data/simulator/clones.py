"""Clonal architecture: a tree of up to 8 clones per tumour and the mutations each carries.

Why a tree with the sum rule: cells of a child clone are a subset of its parent's cells, and
sibling clones are disjoint, so (as PyClone/PhyloWGS assume)

    CCF(trunk) = 1,   sum_{c in children(p)} CCF(c) <= CCF(p).

Clone k (k = 1..K-1) picks a parent among clones 0..k-1 with probability proportional to the
parent's free capacity ``cap(p) = CCF(p) - sum CCF(children)``, then takes a share
``U(0.25, 0.85)`` of that capacity
(at least 1% when there is room). ``K = 1 + Binomial(7, p_type)``.

Mutations: the total count is log-normal around a cancer-type median (melanoma and NSCLC high,
breast low; 5% of colorectal tumours are hypermutated, x10). A share ``s ~ Beta`` (mean 0.5-0.65,
higher in carcinogen-driven tumours) is truncal; the rest is split across subclones by a flat
Dirichlet, and counts are one multinomial draw per tumour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.data.simulator import catalogue as K

MAX_CLONES = 8


@dataclass
class Clones:
    """Per-tumour clone arrays of shape (n, MAX_CLONES); absent clones have ccf 0."""

    n_clones: np.ndarray
    parent: np.ndarray  # int8, -1 for the trunk and absent clones
    ccf: np.ndarray
    counts: np.ndarray  # true mutations per clone (before detection)
    msi: np.ndarray  # bool, hypermutated

    @property
    def exists(self) -> np.ndarray:
        return np.arange(MAX_CLONES)[None, :] < self.n_clones[:, None]


def draw_clones(cancer: np.ndarray, rng: np.random.Generator) -> Clones:
    """Draw the clone tree and per-clone mutation counts of every tumour."""
    n = len(cancer)
    n_clones = 1 + rng.binomial(MAX_CLONES - 1, K.SUBCLONE_P[cancer])
    parent = np.full((n, MAX_CLONES), -1, dtype=np.int8)
    ccf = np.zeros((n, MAX_CLONES))
    cap = np.zeros((n, MAX_CLONES))
    ccf[:, 0] = cap[:, 0] = 1.0
    rows = np.arange(n)
    for k in range(1, MAX_CLONES):
        active = k < n_clones
        cum = np.cumsum(cap[:, :k], axis=1)
        u = rng.random(n) * cum[:, -1]
        par = np.minimum((cum < u[:, None]).sum(axis=1), k - 1)
        share = rng.uniform(0.25, 0.85, n)
        room = cap[rows, par]
        # At least 1% CCF when the parent has room, so no clone rounds to zero.
        child = np.where(active, np.minimum(np.maximum(room * share, 0.01), room), 0.0)
        cap[rows, par] -= child
        cap[:, k] = child
        ccf[:, k] = child
        parent[:, k] = np.where(active, par, -1)
    ccf = np.round(ccf, 3)  # rounding is monotone, so child <= parent still holds

    msi = rng.random(n) < K.MSI_RATE[cancer]
    total = np.exp(np.log(K.MUT_MEDIAN[cancer]) + K.MUT_SIGMA * rng.standard_normal(n))
    total = np.maximum(np.rint(total * np.where(msi, 10.0, 1.0)), 5).astype(np.int64)

    mean = K.TRUNK_SHARE_MEAN[cancer]
    trunk_share = rng.beta(8 * mean, 8 * (1 - mean))
    exists = np.arange(MAX_CLONES)[None, :] < n_clones[:, None]
    w = rng.gamma(1.0, 1.0, (n, MAX_CLONES)) * exists
    w[:, 0] = 0.0
    wsum = w.sum(axis=1, keepdims=True)
    sub = np.divide(w, wsum, out=np.zeros_like(w), where=wsum > 0)
    trunk_share = np.where(n_clones == 1, 1.0, trunk_share)
    pvals = sub * (1 - trunk_share)[:, None]
    pvals[:, 0] = trunk_share
    pvals /= pvals.sum(axis=1, keepdims=True)
    counts = rng.multinomial(total, pvals)
    return Clones(n_clones=n_clones, parent=parent, ccf=ccf, counts=counts, msi=msi)
