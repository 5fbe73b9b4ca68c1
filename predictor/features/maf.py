"""Vectorised MAF helpers shared by the mutation, clonal and mechanism families.

Everything works on integer positions (mutation row -> sample -> patient) and ``np.bincount`` or
pandas group-bys: no Python loop runs per patient or per mutation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from predictor.data.cohort import Cohort
from predictor.data.schema import NONSYNONYMOUS_CLASSES

# Default panel sizes (Mb) for TMB: the simulator's exome-like panel and MSK-IMPACT versions
# (coding territory of the cBioPortal gene panels).
DEFAULT_PANEL_SIZES_MB: dict[str, float] = {
    "SIM_WES": 30.0,
    "IMPACT341": 0.9016,
    "IMPACT410": 1.0217,
    "IMPACT468": 1.1565,
}
INDEL_CLASSES = ("Frame_Shift_Del", "Frame_Shift_Ins", "In_Frame_Del", "In_Frame_Ins")
FRAMESHIFT_CLASSES = ("Frame_Shift_Del", "Frame_Shift_Ins")
MAD_SCALE = 1.4826  # makes the median absolute deviation consistent with the SD (Mroz 2013)


def string_positions(values: pd.Series, vocabulary) -> np.ndarray:
    """Position of each value in ``vocabulary`` (-1 when absent or missing).

    Arrow-backed columns are looked up with Arrow's hash kernel, without materialising Python
    strings: about 10x faster than ``Index.get_indexer`` on 10M MAF rows.
    """
    vocab = [str(v) for v in vocabulary]
    if not len(values) or not vocab:
        return np.full(len(values), -1, dtype=np.int64)
    array = values.array
    if hasattr(array, "__arrow_array__"):
        arrow = array.__arrow_array__()
    else:
        arrow = pa.array(values.astype("object").to_numpy(), from_pandas=True, type=pa.string())
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        arrow = pc.cast(arrow, pa.string())
    found = pc.index_in(arrow, value_set=pa.array(vocab, type=arrow.type))
    return pc.fill_null(found, -1).to_numpy().astype(np.int64, copy=False)


@dataclass
class MafIndex:
    """Positions linking mutation rows, samples and patients of one cohort."""

    n_patients: int
    n_samples: int
    sample_patient: np.ndarray  # patient position of each sample (-1: unknown)
    mut_sample: np.ndarray  # sample position of each mutation row
    sequenced: np.ndarray  # per sample: has a panel or any mutation row


def maf_index(cohort: Cohort) -> MafIndex:
    """Map mutation rows to samples and samples to patients of ``cohort``."""
    samples = cohort.samples
    sample_patient = cohort.patient_ids.get_indexer(samples["patient_id"].to_numpy())
    n_samples = len(samples)
    if cohort.mutations is not None and len(cohort.mutations):
        mut_sample = string_positions(cohort.mutations["Tumor_Sample_Barcode"],
                                      samples["sample_id"].to_numpy())
    else:
        mut_sample = np.zeros(0, dtype=np.intp)
    has_mut = np.bincount(mut_sample[mut_sample >= 0], minlength=n_samples) > 0
    has_panel = (samples["panel"].notna().to_numpy() if "panel" in samples.columns
                 else np.zeros(n_samples, dtype=bool))
    return MafIndex(
        n_patients=len(cohort.patient_ids),
        n_samples=n_samples,
        sample_patient=sample_patient,
        mut_sample=mut_sample,
        sequenced=has_mut | has_panel,
    )


def cna_patients(cohort: Cohort, idx: MafIndex) -> tuple[np.ndarray, np.ndarray]:
    """Patient position of each CNA row (-1: unknown sample) and, per patient, whether any of
    their samples was copy-number profiled (a profiled patient without a call is "not altered",
    an unprofiled one is missing)."""
    profiled = np.zeros(idx.n_patients, dtype=bool)
    cna = cohort.cna
    if cna is None or not len(cna):
        return np.zeros(0, dtype=np.intp), profiled
    rows = string_positions(cna["sample_id"], cohort.samples["sample_id"].to_numpy())
    patients = np.where(rows >= 0, idx.sample_patient[np.maximum(rows, 0)], -1)
    profiled[patients[patients >= 0]] = True
    return patients, profiled


def panel_size_mb(cohort: Cohort, sizes: dict[str, float] | None,
                  default: float | None) -> np.ndarray:
    """Panel size (Mb) per sample: ``sizes`` looked up case-insensitively, else ``default``."""
    lookup = {str(k).upper(): float(v) for k, v in (sizes or {}).items()}
    fallback = np.nan if default is None else float(default)
    samples = cohort.samples
    if "panel" not in samples.columns:
        return np.full(len(samples), fallback)
    panels = samples["panel"].astype("string").str.upper()
    return panels.map(lookup).astype("float64").fillna(fallback).to_numpy()


def nonsynonymous_mask(mutations: pd.DataFrame) -> np.ndarray:
    return mutations["Variant_Classification"].isin(NONSYNONYMOUS_CLASSES).to_numpy()


def vaf(mutations: pd.DataFrame) -> np.ndarray:
    """Variant allele fraction ``alt / (alt + ref)``; NaN without read counts or depth."""
    if "t_alt_count" not in mutations.columns or "t_ref_count" not in mutations.columns:
        return np.full(len(mutations), np.nan)
    alt = mutations["t_alt_count"].to_numpy(dtype="float64", na_value=np.nan)
    ref = mutations["t_ref_count"].to_numpy(dtype="float64", na_value=np.nan)
    depth = alt + ref
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(depth > 0, alt / depth, np.nan)


def group_median(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """NaN-skipping median of ``values`` per group position (NaN for empty groups)."""
    out = np.full(n_groups, np.nan)
    ok = ~np.isnan(values) & (groups >= 0)
    if ok.any():
        med = pd.Series(values[ok]).groupby(groups[ok]).median()
        out[med.index.to_numpy()] = med.to_numpy()
    return out


def sample_purity(cohort: Cohort, idx: MafIndex, vafs: np.ndarray, estimate: bool,
                  default: float | None, min_mutations: int = 3) -> np.ndarray:
    """Tumour purity per sample: ``samples.purity``, else estimated, else ``default``.

    Estimate (when ``estimate``): twice the median VAF of the sample's upper VAF half (the
    mutations at or above its median VAF), clipped to [0.05, 1], from at least
    ``min_mutations`` VAFs. Why: clonal heterozygous mutations in a diploid tumour sit at
    VAF = purity / 2 and form the upper VAF mode; subclonal ones sit below it.
    """
    given = (cohort.samples["purity"].to_numpy(dtype="float64", na_value=np.nan)
             if "purity" in cohort.samples.columns else np.full(idx.n_samples, np.nan))
    purity = given.copy()
    if estimate and len(vafs):
        s = idx.mut_sample
        med = group_median(vafs, s, idx.n_samples)
        counts = np.bincount(s[(s >= 0) & ~np.isnan(vafs)], minlength=idx.n_samples)
        upper = np.where((s >= 0) & (vafs >= med[np.maximum(s, 0)]), vafs, np.nan)
        est = np.clip(2.0 * group_median(upper, s, idx.n_samples), 0.05, 1.0)
        est[counts < min_mutations] = np.nan
        purity = np.where(np.isnan(purity), est, purity)
    if default is not None:
        purity = np.where(np.isnan(purity), float(default), purity)
    return purity


def mutation_ccf(cohort: Cohort, idx: MafIndex, vafs: np.ndarray, *, estimate_purity: bool,
                 default_purity: float | None) -> np.ndarray:
    """Cancer-cell fraction per mutation row: the MAF ``ccf`` where given, else inferred.

    Inferred as ``min(1, 2 * VAF / purity)``, assuming a diploid tumour and heterozygous
    variants without copy-number change at the locus (the simplest CCF model; callers with
    copy-number-aware CCFs should put them in the MAF ``ccf`` column).
    """
    mutations = cohort.mutations
    given = (mutations["ccf"].to_numpy(dtype="float64", na_value=np.nan)
             if "ccf" in mutations.columns else np.full(len(mutations), np.nan))
    need = np.isnan(given)
    if not need.any():
        return np.minimum(given, 1.0)
    purity = sample_purity(cohort, idx, vafs, estimate_purity, default_purity)
    s = idx.mut_sample
    p = np.where(s >= 0, purity[np.maximum(s, 0)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        inferred = np.minimum(1.0, 2.0 * vafs / p)
    return np.minimum(np.where(need, inferred, given), 1.0)
