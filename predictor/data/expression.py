"""Tumour gene expression as one compact matrix: float32 genes x samples, with its own indexes.

Bulk RNA-seq has ~20,000 genes per sample; a long (gene, sample, value) table would be ten
times larger and slow to pivot. ``Expression`` keeps the matrix as read (linear-scale TPM,
RSEM or FPKM), the gene symbols and the sample ids (which the cohort's ``samples`` table maps
to patients). A gene a study did not measure is NaN, never 0: pooled studies measure different
genes, and "not measured" must not read as "not expressed".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

UNITS = ("tpm", "rsem", "fpkm", "unknown")


@dataclass(frozen=True, eq=False)
class Expression:
    """``values[g, s]`` is gene ``genes[g]`` in sample ``samples[s]`` (float32, NaN = not measured).

    Gene symbols and sample ids are unique strings. ``unit`` says what the values are
    (``tpm``, ``rsem``, ``fpkm`` or ``unknown``); rank-based features do not depend on it.
    ``source`` names the file it was read from (for error messages), if any.
    """

    values: np.ndarray
    genes: pd.Index
    samples: pd.Index
    unit: str = "unknown"
    source: str | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float32)
        if values.ndim != 2:
            raise ValueError("expression values must be a genes x samples matrix")
        genes = pd.Index(self.genes, dtype="string", name="gene")
        samples = pd.Index(self.samples, dtype="string", name="sample_id")
        if values.shape != (len(genes), len(samples)):
            raise ValueError(f"expression matrix is {values.shape}, but there are "
                             f"{len(genes)} genes and {len(samples)} samples")
        if not genes.is_unique:
            raise ValueError("expression gene symbols must be unique")
        if not samples.is_unique:
            raise ValueError("expression sample ids must be unique")
        if self.unit not in UNITS:
            raise ValueError(f"unknown expression unit {self.unit!r} (known: {', '.join(UNITS)})")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "genes", genes)
        object.__setattr__(self, "samples", samples)

    # ------------------------------------------------------------------ views
    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def __len__(self) -> int:
        return len(self.samples)

    def gene_rows(self, genes: Iterable[str]) -> np.ndarray:
        """Row positions of ``genes`` (-1 for a gene not in the matrix)."""
        return self.genes.get_indexer(pd.Index(list(genes), dtype="string"))

    def to_frame(self) -> pd.DataFrame:
        """A genes x samples DataFrame (a copy; for inspection and small tests)."""
        return pd.DataFrame(self.values, index=self.genes, columns=self.samples)

    # ------------------------------------------------------------------ derived matrices
    def select_samples(self, sample_ids: Sequence[str] | pd.Index) -> Expression:
        """The matrix restricted to ``sample_ids`` that it has, in that order."""
        ids = pd.Index(list(sample_ids), dtype="string")
        pos = self.samples.get_indexer(ids)
        keep = pos >= 0
        return Expression(self.values[:, pos[keep]], self.genes, ids[keep], self.unit,
                          self.source)

    def by_patient(self, samples: pd.DataFrame, patient_ids: pd.Index) -> Expression:
        """One column per patient of ``patient_ids`` (in that order): the patient's sample, or
        the mean of its samples when it has several; all NaN for a patient without one.

        ``samples`` is the cohort's ``sample_id -> patient_id`` table. Feature code works on
        this matrix so that every family sees patients, not samples.
        """
        patients = pd.Index(patient_ids, dtype="string")
        out = mean_by_patient(self.values.T, self.samples, samples, patients).T
        return Expression(out.astype(np.float32), self.genes, patients, self.unit, self.source)

    @classmethod
    def concat(cls, parts: Sequence[Expression]) -> Expression:
        """Samples of several matrices side by side over the union of their genes; a gene one
        part did not measure is NaN in that part's samples (never 0)."""
        if len(parts) == 1:
            return parts[0]
        genes = pd.Index([], dtype="string")
        for part in parts:
            genes = genes.union(part.genes, sort=False)
        n_samples = sum(len(p.samples) for p in parts)
        values = np.full((len(genes), n_samples), np.nan, dtype=np.float32)
        start = 0
        for part in parts:
            rows = genes.get_indexer(part.genes)
            values[rows, start:start + len(part.samples)] = part.values
            start += len(part.samples)
        samples = pd.Index(np.concatenate([np.asarray(p.samples, dtype=object)
                                           for p in parts]), dtype="string")
        if not samples.is_unique:
            dup = samples[samples.duplicated()][0]
            raise ValueError(f"sample {dup!r} is in more than one expression matrix")
        units = {p.unit for p in parts}
        return cls(values, genes, samples, units.pop() if len(units) == 1 else "unknown")

    def fingerprint_bytes(self) -> bytes:
        """A digest of genes, samples and values (for ``Cohort.fingerprint``)."""
        digest = hashlib.sha256()
        digest.update("\x1f".join(map(str, self.genes)).encode())
        digest.update(b"\x1e")
        digest.update("\x1f".join(map(str, self.samples)).encode())
        digest.update(np.ascontiguousarray(self.values).tobytes())
        return digest.digest()


def mean_by_patient(values: np.ndarray, sample_ids: pd.Index, samples: pd.DataFrame | None,
                    patient_ids: pd.Index) -> np.ndarray:
    """Per-sample rows (samples x k) averaged over each patient's samples (NaN-skipping):
    (patients x k) float64, NaN for a patient without a sample. ``samples`` maps
    ``sample_id`` to ``patient_id`` (``None``: sample ids are patient ids). Serves both the
    expression matrix itself (:meth:`Expression.by_patient`) and per-sample feature scores."""
    ids = pd.Index(sample_ids, dtype="string")
    if samples is None:
        owner = ids
    else:
        mapping = pd.Series(np.asarray(samples["patient_id"], dtype=object),
                            index=pd.Index(samples["sample_id"], dtype="string"))
        mapping = mapping[~mapping.index.duplicated()]
        owner = pd.Index(mapping.reindex(ids).to_numpy(dtype=object), dtype="string")
    patient = pd.Index(patient_ids, dtype="string").get_indexer(owner)
    values = np.asarray(values, dtype=np.float64)
    out = np.full((len(patient_ids), values.shape[1]), np.nan)
    keep = patient >= 0
    if len(np.unique(patient[keep])) == int(keep.sum()):  # one sample per patient
        out[patient[keep]] = values[keep]
    else:
        frame = pd.DataFrame(values[keep]).groupby(patient[keep], sort=False).mean()
        out[frame.index.to_numpy()] = frame.to_numpy(dtype=np.float64)
    return out
