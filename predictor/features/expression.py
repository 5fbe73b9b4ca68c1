"""Tumour micro-environment from bulk RNA-seq: one rank-based score per gene set and patient.

Why singscore (Foroutan et al., BMC Bioinformatics 2018;19:404) rather than ssGSEA (Barbie et
al., Nature 2009): both are single-sample and rank-based, so TPM, FPKM, RSEM, log values and
a library-size factor give the same score and no reference cohort is needed. Singscore is the
mean within-sample rank of the set's genes scaled by its theoretical bounds, so it is bounded
(``[-0.5, 0.5]``), stable for small sets (2-gene cytolytic activity), exact to hand-compute,
and costs one sort per sample for all sets together; ssGSEA walks a weighted running sum over
all genes per set and sample, and its scale depends on the gene universe.

Gene sets and their citations are in ``conf/knowledge/expression_signatures.yaml``; the gene
lists used are copied into the fitted state. Composites (e.g. ``rna_immune_vs_exclusion``)
are means of signature scores minus means of others: a few strong summaries for cohorts of a
few hundred patients.

Missing genes: a sample is scored from the set genes it measured when they are at least
``min_coverage`` of the set, else NaN, with one warning per signature naming its coverage.
Each sample is ranked over the genes it measured (pooled studies leave NaN for genes one study
lacks). A patient with several samples gets the mean of their scores (scores, unlike TPM of
different libraries, are on one scale); a patient without expression gets NaN.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.data.expression import Expression, mean_by_patient
from predictor.errors import InputError
from predictor.features.base import FeatureFamily, safe_name
from predictor.features.knowledge import load_expression_signatures
from predictor.features.ranks import (
    DEFAULT_BLOCK,
    first_measured,
    selected_ranks,
    singscore,
)

logger = logging.getLogger(__name__)

PREFIX = "rna_"


def entry_symbols(entry: str) -> list[str]:
    """The symbols of one gene entry (``"CCN2|CTGF"`` -> ``["CCN2", "CTGF"]``)."""
    return [s.strip() for s in str(entry).split("|") if s.strip()]


class ExpressionTMEFeatures(FeatureFamily):
    """``rna_<signature>`` and ``rna_<composite>`` scores from ``cohort.expression``.

    Params: ``gene_sets`` (the loaded signature file, or its path; default the packaged
    ``conf/knowledge/expression_signatures.yaml``), ``signatures`` / ``composites`` (names to
    output; ``None`` = all in the file), ``min_coverage`` (share of a set's genes a sample
    must measure), ``block_size`` (samples ranked at a time, caps memory).
    Signatures whose coverage in the training matrix is below ``min_coverage`` are dropped at
    fit (one warning each), and so are the composites that use them.
    """

    requires = ("expression",)

    def __init__(self, gene_sets: dict | str | None = None, signatures: list[str] | None = None,
                 composites: list[str] | None = None, min_coverage: float = 0.75,
                 block_size: int = DEFAULT_BLOCK) -> None:
        self.gene_sets = gene_sets
        self.signatures = signatures
        self.composites = composites
        self.min_coverage = min_coverage
        self.block_size = block_size

    # ------------------------------------------------------------------ fit
    def _library(self) -> dict:
        if self.gene_sets is None or isinstance(self.gene_sets, str):
            return (load_expression_signatures(self.gene_sets) if self.gene_sets
                    else load_expression_signatures())
        return self.gene_sets

    def _fit(self, cohort: Cohort) -> None:
        library = self._library()
        known_sigs = library["signatures"]
        known_comps = library.get("composites") or {}
        want_sigs = list(known_sigs) if self.signatures is None else list(self.signatures)
        want_comps = list(known_comps) if self.composites is None else list(self.composites)
        unknown = [s for s in want_sigs if s not in known_sigs]
        unknown += [c for c in want_comps if c not in known_comps]
        if unknown:
            raise InputError(f"unknown expression signature(s) {unknown} (known: "
                             f"{', '.join(list(known_sigs) + list(known_comps))})",
                             column="features.families.expression")
        needed = list(dict.fromkeys(
            want_sigs + [s for c in want_comps
                         for s in known_comps[c]["plus"] + known_comps[c]["minus"]]))
        expr = cohort.expression
        measured = pd.Index(expr.genes[~np.isnan(expr.values).all(axis=1)], dtype="string")
        coverage: dict[str, float] = {}
        kept: dict[str, dict] = {}
        for name in needed:
            genes = known_sigs[name]["genes"]
            n = sum(any(s in measured for s in entry_symbols(g)) for g in genes)
            coverage[name] = n / len(genes)
            if coverage[name] + 1e-12 >= float(self.min_coverage):
                kept[name] = {"genes": list(genes),
                              "direction": known_sigs[name].get("direction", "up")}
            else:
                logger.warning("expression signature %r dropped: %d of %d genes measured "
                               "(coverage %.2f < %.2f)", name, n, len(genes), coverage[name],
                               float(self.min_coverage))
        comps = {c: {"plus": list(known_comps[c]["plus"]), "minus": list(known_comps[c]["minus"])}
                 for c in want_comps
                 if all(s in kept for s in known_comps[c]["plus"] + known_comps[c]["minus"])}
        self.signatures_ = kept
        self.composites_ = comps
        self.fit_coverage_ = coverage
        self.output_signatures_ = [s for s in want_sigs if s in kept]
        self.feature_names_ = ([PREFIX + safe_name(s) for s in self.output_signatures_]
                               + [PREFIX + safe_name(c) for c in comps])

    # ------------------------------------------------------------------ transform
    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        scores = self.sample_scores(cohort.expression)
        out = mean_by_patient(scores.to_numpy(dtype=np.float64), scores.index, cohort.samples,
                            cohort.patient_ids)
        names = [PREFIX + safe_name(c) for c in scores.columns]
        return pd.DataFrame(out, index=cohort.patient_ids, columns=names)

    def sample_scores(self, expression: Expression) -> pd.DataFrame:
        """Samples x (output signatures, composites) scores of an expression matrix."""
        sigs = self.signatures_
        symbols = sorted({s for spec in sigs.values() for g in spec["genes"]
                          for s in entry_symbols(g)})
        rows = expression.gene_rows(symbols)
        position = {s: i for i, s in enumerate(symbols)}
        ranks, n_measured = selected_ranks(expression.values, rows, block=self.block_size)
        score: dict[str, np.ndarray] = {}
        for name, spec in sigs.items():
            alternatives = [[position[s] for s in entry_symbols(g)] for g in spec["genes"]]
            entry_ranks = first_measured(ranks, alternatives)
            score[name], coverage = singscore(entry_ranks, n_measured, float(self.min_coverage),
                                              spec.get("direction", "up"))
            low = (n_measured > 0) & (coverage + 1e-12 < float(self.min_coverage))
            if low.any():
                worst = float(coverage[low].min())
                size = len(spec["genes"])
                logger.warning("expression signature %r: coverage %.2f (%d of %d genes) below "
                               "%.2f in %d of %d samples; its score is NaN there", name, worst,
                               round(worst * size), size, float(self.min_coverage),
                               int(low.sum()), len(coverage))
        columns = {s: score[s] for s in self.output_signatures_}
        for name, spec in self.composites_.items():
            plus = np.mean([score[s] for s in spec["plus"]], axis=0) if spec["plus"] else 0.0
            minus = np.mean([score[s] for s in spec["minus"]], axis=0) if spec["minus"] else 0.0
            columns[name] = (np.zeros(len(n_measured)) + plus) - minus
        return pd.DataFrame(columns, index=expression.samples)

