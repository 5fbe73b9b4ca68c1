"""Copy-number burden from the segment file: fraction of the genome altered (FGA).

``cn_fga`` of a sample is the length-weighted share of its segmented genome whose copy ratio
departs from neutral:

    FGA = sum(length of segments with |seg_mean| > threshold) / sum(length of all segments)

with ``length = end - start`` (bp) and ``seg_mean`` the segment's log2 copy ratio as in a
cBioPortal ``.seg`` file. ``threshold`` defaults to 0.2 (cBioPortal's own FGA uses 0.2 too, so
``cn_fga`` reproduces a study's precomputed ``FGA`` column without reading it). ``cn_fga_gain``
and ``cn_fga_loss`` split the altered share by sign (``seg_mean > threshold`` /
``< -threshold``), and ``cn_n_segments`` counts the sample's segments (a breakpoint-burden proxy
that depends on the panel's probe density: compare it only within one assay).

Segments on chromosomes listed in ``exclude_chromosomes`` (default: none; e.g. ``[X, Y]`` to
avoid sex-dependent calls) and segments with a missing ``seg_mean`` or a non-positive length are
ignored. A patient whose samples have no segment gets NaN (never 0); with several samples the
most altered one counts. No purity or ploidy correction is applied: the log2 ratios are taken as
the segmentation reports them (low-purity tumours therefore look less altered).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.features.base import FeatureFamily, best_sample, take_rows
from predictor.features.maf import string_positions

NAMES = ("cn_fga", "cn_fga_gain", "cn_fga_loss", "cn_n_segments")


class CopyNumberFeatures(FeatureFamily):
    """``cn_fga``, ``cn_fga_gain``, ``cn_fga_loss`` and ``cn_n_segments`` from ``segments``."""

    requires = ("segments",)

    def __init__(self, threshold: float = 0.2, exclude_chromosomes: list | None = None) -> None:
        self.threshold = threshold
        self.exclude_chromosomes = exclude_chromosomes

    def _fit(self, cohort: Cohort) -> None:
        self.feature_names_ = list(NAMES)

    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        seg = cohort.segments
        samples = cohort.samples
        n_samples = len(samples)
        sample_patient = cohort.patient_ids.get_indexer(samples["patient_id"].to_numpy())
        s = string_positions(seg["sample_id"], samples["sample_id"].to_numpy())
        start = seg["start"].to_numpy(dtype="float64", na_value=np.nan)
        end = seg["end"].to_numpy(dtype="float64", na_value=np.nan)
        mean = seg["seg_mean"].to_numpy(dtype="float64", na_value=np.nan)
        length = end - start
        keep = (s >= 0) & ~np.isnan(mean) & (length > 0)
        if self.exclude_chromosomes:
            chrom = seg["chrom"].astype("string").str.upper().str.removeprefix("CHR")
            excluded = {str(c).upper().removeprefix("CHR") for c in self.exclude_chromosomes}
            keep &= ~chrom.isin(excluded).fillna(False).to_numpy()
        s, length, mean = s[keep], length[keep], mean[keep]
        thr = float(self.threshold)
        total = np.bincount(s, length, minlength=n_samples)
        gain = np.bincount(s, np.where(mean > thr, length, 0.0), minlength=n_samples)
        loss = np.bincount(s, np.where(mean < -thr, length, 0.0), minlength=n_samples)
        count = np.bincount(s, minlength=n_samples).astype(float)
        has = total > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            per_sample = np.column_stack([
                np.where(has, (gain + loss) / total, np.nan),
                np.where(has, gain / total, np.nan),
                np.where(has, loss / total, np.nan),
                np.where(has, count, np.nan),
            ])
        # Each patient takes the row of their most altered sample (ties: the first), so the
        # four columns describe the same sample; NaN without segments.
        best = best_sample(per_sample[:, 0], sample_patient, len(cohort.patient_ids))
        values = np.column_stack([take_rows(per_sample[:, j], best) for j in range(len(NAMES))])
        return pd.DataFrame(values, index=cohort.patient_ids, columns=list(NAMES))
