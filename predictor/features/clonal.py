"""Clonal diversity: number of clones, Shannon/Simpson diversity, MATH, subclonal share, clonal TMB.

Definitions (per tumour sample; a patient with several samples takes the maximum):

- *clone prevalence* ``p_k``: the share of the sample's mutations assigned to clone ``k``
  (``n_mutations / sum n_mutations`` of the clone table). When the clone table lacks
  ``n_mutations`` for a sample, ``p_k`` is the clone's *exclusive cellular prevalence*,
  ``max(0, CCF_k - sum of its children's CCF)``, normalised to sum to 1.
- ``clonal_shannon = -sum p_k ln p_k`` (natural log; 0 for one clone);
  ``clonal_simpson = 1 - sum p_k^2`` (Gini-Simpson: the chance that two random mutations sit
  in different clones).
- ``clonal_math``: Mroz & Rocco (Oral Oncol 2013) mutant-allele tumour heterogeneity,
  ``100 * 1.4826 * median(|VAF - median VAF|) / median VAF`` over all MAF rows with read counts
  (at least ``min_math_mutations``).
- ``clonal_subclonal_fraction``: share of mutations with CCF < ``clonal_threshold``;
  ``clonal_tmb``: non-synonymous mutations with CCF >= ``clonal_threshold`` per Mb.
- ``clonal_largest_subclone_ccf``: the largest CCF below ``clonal_threshold`` (0 when none).

Mutation CCF: the MAF ``ccf`` column, else ``min(1, 2 VAF / purity)`` (diploid, heterozygous;
see :func:`predictor.features.maf.mutation_ccf`). Without a clone table, clones are inferred by
binning CCFs: mutations with CCF >= ``clonal_threshold`` form the trunk cluster; the others fall
into bins of width ``ccf_bin_width``; a bin is a clone when it holds at least
``min_clone_mutations`` mutations (the sample's largest cluster always counts), with the mean
CCF of its mutations as the clone's CCF.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.features.base import FeatureFamily, per_patient
from predictor.features.maf import (
    MAD_SCALE,
    MafIndex,
    group_median,
    maf_index,
    mutation_ccf,
    nonsynonymous_mask,
    panel_size_mb,
    string_positions,
    vaf,
)

CLONE_STATS = ("clonal_n_clones", "clonal_shannon", "clonal_simpson",
               "clonal_largest_subclone_ccf")
NAMES = (*CLONE_STATS, "clonal_math", "clonal_subclonal_fraction", "clonal_tmb")


class ClonalFeatures(FeatureFamily):
    """``clonal_*`` features from the clone table and/or the MAF (see module docstring)."""

    def __init__(
        self,
        panel_sizes_mb: dict | None = None,
        default_panel_size_mb: float | None = None,
        clonal_threshold: float = 0.8,
        ccf_bin_width: float = 0.1,
        min_clone_mutations: int = 2,
        min_math_mutations: int = 5,
        estimate_purity: bool = True,
        default_purity: float | None = None,
    ) -> None:
        self.panel_sizes_mb = panel_sizes_mb
        self.default_panel_size_mb = default_panel_size_mb
        self.clonal_threshold = clonal_threshold
        self.ccf_bin_width = ccf_bin_width
        self.min_clone_mutations = min_clone_mutations
        self.min_math_mutations = min_math_mutations
        self.estimate_purity = estimate_purity
        self.default_purity = default_purity

    def available(self, cohort: Cohort) -> bool:
        return cohort.mutations is not None or cohort.clones is not None

    def _fit(self, cohort: Cohort) -> None:
        self.feature_names_ = list(NAMES)

    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        idx = maf_index(cohort)
        per_sample = {name: np.full(idx.n_samples, np.nan) for name in NAMES}
        has_rows = np.zeros(idx.n_samples, dtype=bool)
        if cohort.clones is not None and len(cohort.clones):
            table, has_rows = self._from_clone_table(cohort, idx)
            per_sample.update(table)
        if cohort.mutations is not None and len(cohort.mutations):
            from_maf = self._from_mutations(cohort, idx, infer_clones=~has_rows)
            for name, values in from_maf.items():
                per_sample[name] = (np.where(has_rows, per_sample[name], values)
                                    if name in CLONE_STATS else values)
        elif cohort.mutations is not None:  # an empty MAF: sequenced samples have clonal TMB 0
            mb = panel_size_mb(cohort, self.panel_sizes_mb, self.default_panel_size_mb)
            per_sample["clonal_tmb"] = np.where(idx.sequenced, 0.0, np.nan) / mb
        matrix = np.column_stack([per_sample[n] for n in NAMES])
        values = per_patient(matrix, idx.sample_patient, idx.n_patients)
        return pd.DataFrame(values, index=cohort.patient_ids, columns=list(NAMES))

    # ------------------------------------------------------------------ from the MAF
    def _from_mutations(self, cohort: Cohort, idx: MafIndex,
                        infer_clones: np.ndarray) -> dict[str, np.ndarray]:
        """MAF-based features; clones are inferred only for samples in ``infer_clones``."""
        mutations = cohort.mutations
        s = idx.mut_sample
        n = idx.n_samples
        vafs = vaf(mutations)
        ccf = mutation_ccf(cohort, idx, vafs, estimate_purity=self.estimate_purity,
                           default_purity=self.default_purity)
        out = {"clonal_math": _math(vafs, s, n, self.min_math_mutations)}

        known = (s >= 0) & ~np.isnan(ccf)
        thr = float(self.clonal_threshold)
        n_known = np.bincount(s[known], minlength=n)
        n_sub = np.bincount(s[known & (ccf < thr)], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["clonal_subclonal_fraction"] = np.where(n_known > 0, n_sub / n_known, np.nan)

        nonsyn = nonsynonymous_mask(mutations) & (s >= 0)
        n_clonal = np.bincount(s[nonsyn & known & (ccf >= thr)], minlength=n).astype(float)
        n_unknown = np.bincount(s[nonsyn & ~known], minlength=n)
        mb = panel_size_mb(cohort, self.panel_sizes_mb, self.default_panel_size_mb)
        ctmb = np.where(idx.sequenced & (n_unknown == 0), n_clonal, np.nan) / mb
        out["clonal_tmb"] = ctmb

        infer = known & infer_clones[np.maximum(s, 0)]
        inferred = self._inferred_clones(s[infer], ccf[infer], n)
        for name in CLONE_STATS:
            out[name] = np.where(infer_clones, inferred[name], np.nan)
        return out

    def _inferred_clones(self, sample: np.ndarray, ccf: np.ndarray,
                         n_samples: int) -> dict[str, np.ndarray]:
        """Clones by binning CCFs (see module docstring), then their diversity."""
        if not len(sample):
            return {name: np.full(n_samples, np.nan) for name in CLONE_STATS}
        thr = float(self.clonal_threshold)
        width = float(self.ccf_bin_width)
        bins = np.where(ccf >= thr, -1, np.floor(ccf / width)).astype(np.int64)
        frame = pd.DataFrame({"s": sample, "b": bins, "c": ccf})
        clusters = frame.groupby(["s", "b"], sort=False)["c"].agg(["size", "mean"]).reset_index()
        largest = clusters.groupby("s")["size"].transform("max")
        keep = (clusters["size"] >= int(self.min_clone_mutations)) | (clusters["size"] == largest)
        clusters = clusters[keep]
        return clone_stats(
            clusters["s"].to_numpy(), clusters["size"].to_numpy(dtype=float),
            clusters["mean"].to_numpy(), (clusters["b"] >= 0).to_numpy(), n_samples)

    # ------------------------------------------------------------------ from the clone table
    def _from_clone_table(self, cohort: Cohort,
                          idx: MafIndex) -> tuple[dict[str, np.ndarray], np.ndarray]:
        clones = cohort.clones
        s = string_positions(clones["sample_id"], cohort.samples["sample_id"].to_numpy())
        ok = s >= 0
        clones, s = clones[ok], s[ok]
        ccf = clones["ccf"].to_numpy(dtype="float64", na_value=np.nan)
        n = idx.n_samples
        has_rows = np.bincount(s, minlength=n) > 0
        exclusive = np.maximum(ccf - _children_ccf(clones, s), 0.0)
        if "n_mutations" in clones.columns:
            n_mut = clones["n_mutations"].to_numpy(dtype="float64", na_value=np.nan)
            complete = (np.bincount(s, np.isnan(n_mut), minlength=n) == 0)
            complete &= np.bincount(s, np.nan_to_num(n_mut), minlength=n) > 0
            weight = np.where(complete[s], np.nan_to_num(n_mut), exclusive)
        else:
            weight = exclusive
        stats = clone_stats(s, weight, ccf, ccf < float(self.clonal_threshold), n)
        return stats, has_rows


def _children_ccf(clones: pd.DataFrame, s: np.ndarray) -> np.ndarray:
    """Sum of the children's CCF for each clone row (0 without parent links)."""
    if "parent_clone_id" not in clones.columns:
        return np.zeros(len(clones))
    frame = pd.DataFrame({
        "s": s,
        "clone": clones["clone_id"].astype("string").to_numpy(),
        "parent": clones["parent_clone_id"].astype("string").to_numpy(),
        "ccf": clones["ccf"].to_numpy(dtype="float64", na_value=np.nan),
    })
    linked = frame[frame["parent"].notna()]
    sums = linked.groupby(["s", "parent"])["ccf"].sum()
    key = pd.MultiIndex.from_arrays([frame["s"], frame["clone"]])
    return sums.reindex(key).fillna(0.0).to_numpy()


def clone_stats(sample: np.ndarray, weight: np.ndarray, ccf: np.ndarray,
                subclonal: np.ndarray, n_samples: int) -> dict[str, np.ndarray]:
    """Number of clones, Shannon and Gini-Simpson diversity of the clone weights, and the
    largest subclonal CCF, per sample (NaN for samples without clones or without weight)."""
    count = np.bincount(sample, minlength=n_samples).astype(float)
    total = np.bincount(sample, weight, minlength=n_samples)
    valid = (count > 0) & (total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = weight / total[sample]
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    shannon = -np.bincount(sample, plogp, minlength=n_samples)
    simpson = 1.0 - np.bincount(sample, p * p, minlength=n_samples)
    largest = np.zeros(n_samples)
    np.maximum.at(largest, sample, np.where(subclonal, ccf, 0.0))
    nan = np.nan
    return {
        "clonal_n_clones": np.where(count > 0, count, nan),
        "clonal_shannon": np.where(valid, np.maximum(shannon, 0.0), nan),
        "clonal_simpson": np.where(valid, np.maximum(simpson, 0.0), nan),
        "clonal_largest_subclone_ccf": np.where(count > 0, largest, nan),
    }


def _math(vafs: np.ndarray, sample: np.ndarray, n_samples: int, min_mutations: int) -> np.ndarray:
    """MATH score per sample (Mroz & Rocco 2013), NaN below ``min_mutations`` VAFs."""
    ok = (sample >= 0) & ~np.isnan(vafs)
    counts = np.bincount(sample[ok], minlength=n_samples)
    med = group_median(vafs, sample, n_samples)
    dev = np.where(ok, np.abs(vafs - med[np.maximum(sample, 0)]), np.nan)
    mad = MAD_SCALE * group_median(dev, sample, n_samples)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(med > 0, 100.0 * mad / med, np.nan)
    return np.where(counts >= max(int(min_mutations), 1), score, np.nan)
