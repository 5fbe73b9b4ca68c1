"""Mutation profile: TMB, variant-class counts, indel burden, driver, copy-number, pathway flags.

A patient is *sequenced* when one of their samples has a panel or any MAF row; a sequenced
patient with no mutation has TMB 0 and flags 0, an unsequenced one NaN. With several samples
per patient, counts take the most mutated sample and flags any sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.data.schema import NONSYNONYMOUS_CLASSES, VARIANT_CLASSIFICATIONS
from predictor.features.base import (
    FeatureFamily,
    best_sample,
    per_patient,
    safe_name,
    take_rows,
)
from predictor.features.maf import (
    FRAMESHIFT_CLASSES,
    INDEL_CLASSES,
    MafIndex,
    cna_patients,
    maf_index,
    nonsynonymous_mask,
    panel_size_mb,
    string_positions,
)

DEFAULT_DRIVER_GENES = (
    "TP53", "KRAS", "EGFR", "BRAF", "NRAS", "PIK3CA", "PTEN", "STK11", "KEAP1", "ERBB2", "MET",
    "APC", "SMAD4", "CDKN2A", "RB1", "ARID1A", "NF1", "B2M", "JAK1", "JAK2", "HLA-A", "POLE",
    "BRCA1", "BRCA2", "ATM", "MAP2K1", "CTNNB1", "SMARCA4", "NOTCH1", "FBXW7",
)
DEFAULT_AMP_GENES = ("MET", "ERBB2", "EGFR", "MYC", "CCND1", "MDM2", "CDK4", "KRAS", "TYMS")
DEFAULT_DEL_GENES = ("PTEN", "CDKN2A", "RB1", "B2M", "SMAD4", "STK11")


class MutationFeatures(FeatureFamily):
    """``tmb``, ``mut_*`` counts and burdens, ``drv_*`` flags and ``path_*`` pathway flags.

    ``tmb``: non-synonymous mutations (``schema.NONSYNONYMOUS_CLASSES``) per Mb of the sample's
    panel (``panel_sizes_mb[samples.panel]``; unknown panel -> ``default_panel_size_mb`` or
    NaN). Driver flags: a non-synonymous mutation in a gene of ``driver_genes``; copy-number
    flags ``drv_<gene>_amp`` (CNA 2) / ``drv_<gene>_del`` (CNA -2) need the CNA table. Only
    genes altered in at least ``min_patients`` training patients become columns.
    """

    requires = ("mutations",)

    def __init__(
        self,
        panel_sizes_mb: dict | None = None,
        default_panel_size_mb: float | None = None,
        driver_genes: list | None = None,
        amp_genes: list | None = None,
        del_genes: list | None = None,
        pathways: dict | None = None,
        count_classes: bool = True,
        min_patients: int = 1,
    ) -> None:
        self.panel_sizes_mb = panel_sizes_mb
        self.default_panel_size_mb = default_panel_size_mb
        self.driver_genes = driver_genes
        self.amp_genes = amp_genes
        self.del_genes = del_genes
        self.pathways = pathways
        self.count_classes = count_classes
        self.min_patients = min_patients

    # ------------------------------------------------------------------ fit
    def _fit(self, cohort: Cohort) -> None:
        mutations = cohort.mutations
        seen = set(mutations["Variant_Classification"].dropna().unique().tolist())
        self.variant_classes_ = [c for c in VARIANT_CLASSIFICATIONS if c in seen]
        self.uses_cna_ = cohort.cna is not None
        drivers = _unique(DEFAULT_DRIVER_GENES if self.driver_genes is None else self.driver_genes)
        amp = _unique(DEFAULT_AMP_GENES if self.amp_genes is None else self.amp_genes)
        dele = _unique(DEFAULT_DEL_GENES if self.del_genes is None else self.del_genes)
        idx = maf_index(cohort)
        mut, amp_m, del_m, _ = self._gene_matrices(cohort, idx, drivers, amp, dele)
        need = max(int(self.min_patients), 0)  # 0 keeps every configured gene
        self.driver_genes_ = [g for j, g in enumerate(drivers) if mut[:, j].sum() >= need]
        if self.uses_cna_:
            self.amp_genes_ = [g for j, g in enumerate(amp) if amp_m[:, j].sum() >= need]
            self.del_genes_ = [g for j, g in enumerate(dele) if del_m[:, j].sum() >= need]
        else:
            self.amp_genes_, self.del_genes_ = [], []
        self.pathway_names_ = list((self.pathways or {}).keys())
        names = ["tmb", "mut_n_total", "mut_n_nonsyn", "mut_indel_per_mb",
                 "mut_frameshift_per_mb", "mut_indel_fraction"]
        if self.count_classes:
            names += [f"mut_vc_{safe_name(c)}" for c in self.variant_classes_]
        names += [f"drv_{safe_name(g)}" for g in self.driver_genes_]
        names += [f"drv_{safe_name(g)}_amp" for g in self.amp_genes_]
        names += [f"drv_{safe_name(g)}_del" for g in self.del_genes_]
        if self.pathway_names_:
            names += [f"path_{safe_name(p)}" for p in self.pathway_names_] + ["path_n_altered"]
        self.feature_names_ = names

    # ------------------------------------------------------------------ transform
    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        idx = maf_index(cohort)
        out: dict[str, np.ndarray] = {}
        out.update(self._burden(cohort, idx))
        sequenced = per_patient(idx.sequenced.astype(float), idx.sample_patient,
                                idx.n_patients) > 0
        pathways = self.pathways or {}
        path_genes = {p: (list(v.get("oncogenes", [])), list(v.get("tumor_suppressors", [])))
                      for p, v in pathways.items() if p in self.pathway_names_}
        onc = sorted({g for o, _ in path_genes.values() for g in o})
        tsg = sorted({g for _, t in path_genes.values() for g in t})
        genes = list(dict.fromkeys([*self.driver_genes_, *onc, *tsg]))
        mut, amp_m, del_m, cna_profiled = self._gene_matrices(
            cohort, idx, genes, list(dict.fromkeys([*self.amp_genes_, *onc])),
            list(dict.fromkeys([*self.del_genes_, *tsg])))
        nan_unseq = np.where(sequenced, 0.0, np.nan)
        col = {g: j for j, g in enumerate(genes)}
        for g in self.driver_genes_:
            out[f"drv_{safe_name(g)}"] = mut[:, col[g]] + nan_unseq
        cna_ok = np.where(cna_profiled, 0.0, np.nan)
        amp_col = {g: j for j, g in enumerate(dict.fromkeys([*self.amp_genes_, *onc]))}
        del_col = {g: j for j, g in enumerate(dict.fromkeys([*self.del_genes_, *tsg]))}
        for g in self.amp_genes_:
            out[f"drv_{safe_name(g)}_amp"] = amp_m[:, amp_col[g]] + cna_ok
        for g in self.del_genes_:
            out[f"drv_{safe_name(g)}_del"] = del_m[:, del_col[g]] + cna_ok
        if self.pathway_names_:
            n_altered = np.zeros(idx.n_patients)
            for name, (o_genes, t_genes) in path_genes.items():
                hit = np.zeros(idx.n_patients, dtype=bool)
                for g in o_genes:
                    hit |= mut[:, col[g]] | amp_m[:, amp_col[g]]
                for g in t_genes:
                    hit |= mut[:, col[g]] | del_m[:, del_col[g]]
                # Nothing seen is 0 only when every source the model was fitted on was looked at.
                known = sequenced & (cna_profiled if self.uses_cna_ else True)
                value = np.where(hit, 1.0, np.where(known, 0.0, np.nan))
                out[f"path_{safe_name(name)}"] = value
                n_altered = n_altered + value
            out["path_n_altered"] = n_altered
        return pd.DataFrame(out, index=cohort.patient_ids)

    def _burden(self, cohort: Cohort, idx: MafIndex) -> dict[str, np.ndarray]:
        """Counts and burdens of each patient's most mutated sample (one bincount pass)."""
        vocab = list(VARIANT_CLASSIFICATIONS)
        n_cls = len(vocab)
        s = idx.mut_sample
        codes = string_positions(cohort.mutations["Variant_Classification"], vocab)
        sel = (s >= 0) & (codes >= 0)
        counts = np.bincount(s[sel] * n_cls + codes[sel], minlength=idx.n_samples * n_cls)
        counts = counts.reshape(idx.n_samples, n_cls).astype(float)
        counts[~idx.sequenced] = np.nan
        col = {c: j for j, c in enumerate(vocab)}

        def total(classes) -> np.ndarray:
            return counts[:, [col[c] for c in classes]].sum(axis=1)

        mb = panel_size_mb(cohort, self.panel_sizes_mb, self.default_panel_size_mb)
        n_nonsyn, n_indel = total(NONSYNONYMOUS_CLASSES), total(INDEL_CLASSES)
        n_total = counts.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols = {
                "tmb": n_nonsyn / mb,
                "mut_n_total": n_total,
                "mut_n_nonsyn": n_nonsyn,
                "mut_indel_per_mb": n_indel / mb,
                "mut_frameshift_per_mb": total(FRAMESHIFT_CLASSES) / mb,
                "mut_indel_fraction": np.where(n_nonsyn > 0, n_indel / n_nonsyn, np.nan),
            }
        if self.count_classes:
            for c in self.variant_classes_:
                cols[f"mut_vc_{safe_name(c)}"] = counts[:, col[c]]
        best = best_sample(n_total, idx.sample_patient, idx.n_patients)
        return {name: take_rows(values, best) for name, values in cols.items()}

    def _gene_matrices(self, cohort: Cohort, idx: MafIndex, mut_genes: list[str],
                       amp_genes: list[str], del_genes: list[str]):
        """Patient x gene boolean matrices: mutated (non-synonymous), amplified, deleted.

        Also returns which patients were profiled for copy number (any CNA row).
        """
        n = idx.n_patients
        mut = np.zeros((n, len(mut_genes)), dtype=bool)
        if mut_genes and cohort.mutations is not None and len(cohort.mutations):
            mutations = cohort.mutations
            g = string_positions(mutations["Hugo_Symbol"], mut_genes)
            s = idx.mut_sample
            sel = (g >= 0) & (s >= 0) & nonsynonymous_mask(mutations)
            pat = idx.sample_patient[s[sel]]
            keep = pat >= 0
            mut[pat[keep], g[sel][keep]] = True
        amp = np.zeros((n, len(amp_genes)), dtype=bool)
        dele = np.zeros((n, len(del_genes)), dtype=bool)
        cpat, profiled = cna_patients(cohort, idx)
        cna = cohort.cna
        if len(cpat):
            values = cna["cna"].to_numpy(dtype="float64", na_value=np.nan)
            for matrix, genes, level in ((amp, amp_genes, 2.0), (dele, del_genes, -2.0)):
                if not genes:
                    continue
                g = string_positions(cna["Hugo_Symbol"], genes)
                sel = (g >= 0) & (cpat >= 0) & (values == level)
                matrix[cpat[sel], g[sel]] = True
        return mut, amp, dele, profiled


def _unique(genes) -> list[str]:
    return list(dict.fromkeys(str(g) for g in genes))
