"""Treatment mechanism: what the regimen does, and whether the tumour carries its target,
resistance, bypass or sensitising alterations (knowledge base ``conf/knowledge/drugs.yaml``).

Regimens are parsed once per distinct regimen string, alterations are matched once per
knowledge-base rule over the MAF rows of the rule's gene, and patients are combined with
their regimen by array indexing: no loop runs per patient.

A regimen with a drug missing from the knowledge base (or no regimen) gives NaN for every
``rx_*`` feature of that patient, and one warning lists the unknown drugs. Alteration features
are NaN for a patient who was not sequenced (no panel, no MAF row, no CNA row).

With RNA-seq, a knowledge base loaded with its ``expression_markers`` (feature option
``mechanism.expression_markers: true``) adds ``rx_marker_expression``: the mean within-sample
percentile (0 lowest, 1 highest expressed gene of the sample) of the regimen's marker genes
(e.g. CD274 for anti-PD-(L)1); NaN without expression or for a regimen without markers.
Without expression at fit nothing changes: no feature, no new learned attribute.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from predictor.data.codes import text_codes
from predictor.data.cohort import Cohort
from predictor.data.expression import mean_by_patient
from predictor.data.regimens import regimen_drugs
from predictor.data.schema import NONSYNONYMOUS_CLASSES
from predictor.features.base import FeatureFamily, per_patient, safe_name
from predictor.features.knowledge import ROLES, expand_classes
from predictor.features.maf import cna_patients, maf_index, mutation_ccf, string_positions, vaf
from predictor.features.ranks import percentiles, selected_ranks

logger = logging.getLogger(__name__)

ROLE_PREFIX = {"targets": "target", "resistance": "resistance", "bypass": "bypass",
               "sensitizers": "sensitizer"}
GENOMIC = ("rx_target_altered", "rx_target_clonal", "rx_target_subclonal",
           "rx_resistance_altered", "rx_resistance_clonal", "rx_resistance_subclonal",
           "rx_resistance_max_ccf", "rx_bypass_altered", "rx_sensitizer_altered")


class MechanismFeatures(FeatureFamily):
    """``rx_class_<class>``, ``rx_mech_<mechanism>``, combination counts and, when the MAF or
    CNA table is present, target / resistance / bypass / sensitiser alteration features.

    Clonal vs subclonal uses mutation CCF (MAF ``ccf`` or purity-adjusted VAF) against
    ``clonal_threshold``; a hit whose CCF is unknown (e.g. a copy-number call) makes the
    clonal/subclonal features NaN unless another hit decides them.
    """

    requires = ("clinical",)
    reads_regimen = True

    def __init__(self, drugs: dict | None = None, clonal_threshold: float = 0.8,
                 estimate_purity: bool = True, default_purity: float | None = None) -> None:
        self.drugs = drugs
        self.clonal_threshold = clonal_threshold
        self.estimate_purity = estimate_purity
        self.default_purity = default_purity

    def available(self, cohort: Cohort) -> bool:
        return "regimen" in cohort.clinical.columns

    # ------------------------------------------------------------------ fit
    def _fit(self, cohort: Cohort) -> None:
        kb = self.drugs or {}
        regimens = pd.unique(cohort.clinical["regimen"].astype("string").dropna())
        drugs = {d for r in regimens for d in regimen_drugs(r)}
        known = sorted(d for d in drugs if d in kb)  # unknown ones are reported by transform
        self.classes_ = sorted({kb[d]["class"] for d in known})
        self.mechanisms_ = sorted({kb[d]["mechanism"] for d in known})
        self.uses_mutations_ = cohort.mutations is not None
        self.uses_cna_ = cohort.cna is not None
        self.uses_genomics_ = self.uses_mutations_ or self.uses_cna_
        names = [f"rx_class_{safe_name(c)}" for c in self.classes_]
        names += [f"rx_mech_{safe_name(m)}" for m in self.mechanisms_]
        names += ["rx_n_drugs", "rx_n_classes", "rx_n_mechanisms"]
        if self.uses_genomics_:
            names += list(GENOMIC)
        markers = sorted({g for d in known for g in kb[d].get("expression_markers", [])})
        if markers and cohort.expression is not None:
            # set only when used, so that states of models without RNA-seq stay as they were
            self.marker_genes_ = markers
            names.append("rx_marker_expression")
        elif hasattr(self, "marker_genes_"):
            del self.marker_genes_
        self.feature_names_ = names

    def _warn_unknown(self, drugs: set[str]) -> None:
        unknown = sorted(d for d in drugs if d not in (self.drugs or {}))
        if unknown:
            logger.warning("drugs not in the knowledge base (mechanism features are NaN for "
                           "their patients): %s", ", ".join(unknown))

    # ------------------------------------------------------------------ transform
    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        out = np.empty((len(self.feature_names_), len(cohort.clinical)))
        self._fill(cohort, out)
        return pd.DataFrame(out.T, index=cohort.patient_ids, columns=list(self.feature_names_),
                            copy=False)

    def _fill(self, cohort: Cohort, out: np.ndarray) -> bool:
        """Every fitted feature (``feature_names_`` order; genomic ones NaN when the cohort has
        neither MAF nor CNA) into ``out``, features x patients: each ``rx_*`` row is one
        gather from a (features x regimens) table with one column per distinct regimen
        string and a last one of NaN, for a patient whose regimen is missing or has a drug
        outside the knowledge base."""
        kb = self.drugs or {}
        codes, uniques = text_codes(cohort.clinical["regimen"])
        parsed = [regimen_drugs(r) for r in uniques]
        self._warn_unknown({d for drugs in parsed for d in drugs})
        valid_reg = np.array([bool(d) and all(x in kb for x in d) for d in parsed], dtype=bool)
        n_reg = len(parsed)
        cls_col = {c: j for j, c in enumerate(self.classes_)}
        mech_col = {m: j for j, m in enumerate(self.mechanisms_)}
        names = ([f"rx_class_{safe_name(c)}" for c in self.classes_]
                 + [f"rx_mech_{safe_name(m)}" for m in self.mechanisms_]
                 + ["rx_n_drugs", "rx_n_classes", "rx_n_mechanisms"])
        table = np.zeros((len(names), n_reg + 1))
        table[:, n_reg] = np.nan
        n_cls, n_mech = len(cls_col), len(mech_col)
        for r, drugs in enumerate(parsed):  # one pass per distinct regimen string
            if not valid_reg[r]:  # its patients take the NaN column (``column`` below)
                continue
            classes = {kb[d]["class"] for d in drugs}
            mechs = {kb[d]["mechanism"] for d in drugs}
            for c in classes & set(cls_col):
                table[cls_col[c], r] = 1.0
            for m in mechs & set(mech_col):
                table[n_cls + mech_col[m], r] = 1.0
            table[n_cls + n_mech:, r] = (len(set(drugs)), len(classes), len(mechs))
        ok = (codes >= 0) & valid_reg[np.maximum(codes, 0)] if n_reg else codes >= 0
        extra: dict[str, np.ndarray] = {}
        if self.uses_genomics_ and (cohort.mutations is not None or cohort.cna is not None):
            extra.update(self._genomic(cohort, parsed, valid_reg, codes, ok))
        if getattr(self, "marker_genes_", None):
            extra["rx_marker_expression"] = self._marker_expression(cohort, parsed, valid_reg,
                                                                    codes)
        table_row = {name: j for j, name in enumerate(names)}  # names equal after safe_name:
        column = np.where(ok, codes, n_reg)                    # the last one wins
        for row, name in enumerate(self.feature_names_):
            if name in table_row:  # mode="clip" writes straight into out ("raise" buffers)
                np.take(table[table_row[name]], column, out=out[row], mode="clip")
            else:
                out[row] = extra.get(name, np.nan)
        return True

    def _marker_expression(self, cohort: Cohort, parsed: list[list[str]], valid_reg: np.ndarray,
                           codes: np.ndarray) -> np.ndarray:
        """Per patient, the mean within-sample percentile of its regimen's marker genes."""
        n = len(codes)
        expr = cohort.expression
        if expr is None:
            return np.full(n, np.nan)
        kb = self.drugs or {}
        genes = list(self.marker_genes_)
        ranks, n_measured = selected_ranks(expr.values, expr.gene_rows(genes))
        pct = mean_by_patient(percentiles(ranks, n_measured).T, expr.samples, cohort.samples,
                            cohort.patient_ids)  # patients x marker genes
        out = np.full(n, np.nan)
        column = {g: j for j, g in enumerate(genes)}
        for r, drugs in enumerate(parsed):
            if not valid_reg[r]:
                continue
            cols = sorted({column[g] for d in drugs for g in kb[d].get("expression_markers", [])
                           if g in column})
            rows = np.flatnonzero(codes == r)
            if cols and len(rows):
                block = pct[np.ix_(rows, cols)]
                seen = ~np.isnan(block)
                with np.errstate(invalid="ignore"):
                    out[rows] = np.where(seen, block, 0.0).sum(axis=1) / seen.sum(axis=1)
        return out

    def _genomic(self, cohort: Cohort, parsed: list[list[str]], valid_reg: np.ndarray,
                 codes: np.ndarray, ok: np.ndarray) -> dict[str, np.ndarray]:
        """Alteration features: rules of the regimens' drugs matched against the tumour."""
        specs, rules = _regimen_rules(parsed, valid_reg, self.drugs or {})
        keys = list(specs)
        col = {k: j for j, k in enumerate(keys)}
        n_reg = len(parsed)
        role_mask = {role: np.zeros((n_reg, len(keys)), dtype=bool) for role in ROLES}
        for r, regimen_rules in enumerate(rules):
            for key, role, _drug in regimen_rules:
                role_mask[role][r, col[key]] = True

        hits = _match_alterations(cohort, [specs[k] for k in keys], float(self.clonal_threshold),
                                  self.estimate_purity, self.default_purity)
        n = len(codes)
        idx = hits["index"]
        sequenced = per_patient(idx.sequenced.astype(float), idx.sample_patient, n) > 0
        # "Nothing found" is 0 only when every table the model was fitted on was looked at.
        known = ok.copy()
        if self.uses_mutations_:
            known &= sequenced & (cohort.mutations is not None)
        if self.uses_cna_:
            known &= hits["cna_profiled"]
        safe_codes = np.maximum(codes, 0)
        out: dict[str, np.ndarray] = {}
        for role in ROLES:
            prefix = ROLE_PREFIX[role]
            mask = role_mask[role][safe_codes] if n_reg else np.zeros((n, 0), dtype=bool)
            mask &= ok[:, None]
            any_hit = (hits["any"] & mask).any(axis=1)
            clonal = (hits["clonal"] & mask).any(axis=1)
            sub = (hits["subclonal"] & mask).any(axis=1)
            unknown = (hits["unknown"] & mask).any(axis=1)
            ccf = np.where(mask, hits["max_ccf"], -np.inf).max(axis=1, initial=-np.inf)
            has_ccf = np.isfinite(ccf)
            out[f"rx_{prefix}_altered"] = _flag(any_hit, known)
            out[f"rx_{prefix}_clonal"] = _flag(clonal, known & ~unknown)
            out[f"rx_{prefix}_subclonal"] = _flag(sub, known & ~unknown)
            out[f"rx_{prefix}_max_ccf"] = np.where(
                has_ccf, ccf, np.where(known & ~unknown, 0.0, np.nan))
        return {name: out[name] for name in GENOMIC}


ROLE_PHRASE = {"targets": "target of", "bypass": "bypass of", "resistance": "resistance to",
               "sensitizers": "sensitises to"}


def describe_mechanisms(step: MechanismFeatures, cohort: Cohort) -> np.ndarray:
    """Per patient, the knowledge-base rules of the regimen's drugs that the tumour matches,
    in words (``"MET amplified: bypass of osimertinib; EGFR mutated: target of osimertinib"``)
    so that a prediction's ``rx_*`` contributions can be read as biology. ``"no target,
    bypass, resistance or sensitising alteration found"`` when none matched, ``""`` for a
    regimen with an unknown drug or a patient without MAF/CNA data."""
    kb = step.drugs or {}
    codes, uniques = text_codes(cohort.clinical["regimen"])
    parsed = [regimen_drugs(r) for r in uniques]
    valid = [bool(d) and all(x in kb for x in d) for d in parsed]
    n = len(codes)
    out = np.full(n, "", dtype=object)
    if cohort.mutations is None and cohort.cna is None:
        return out
    specs, rules = _regimen_rules(parsed, valid, kb)
    keys = list(specs)
    col = {k: j for j, k in enumerate(keys)}
    hits = _match_alterations(cohort, [specs[k] for k in keys], float(step.clonal_threshold),
                              step.estimate_purity, step.default_purity)
    idx = hits["index"]
    seen = (per_patient(idx.sequenced.astype(float), idx.sample_patient, n) > 0) | hits[
        "cna_profiled"]
    for r in range(len(parsed)):
        if not valid[r]:
            continue
        patients = np.flatnonzero((codes == r) & seen)
        for p in patients:
            phrases = []
            for key, role, drug in rules[r]:
                if hits["any"][p, col[key]]:
                    phrase = f"{specs[key]['gene']} {_altered(specs[key])}: " \
                             f"{ROLE_PHRASE[role]} {drug}"
                    if phrase not in phrases:
                        phrases.append(phrase)
            out[p] = "; ".join(phrases) if phrases else (
                "no target, bypass, resistance or sensitising alteration found")
    return out


def _regimen_rules(parsed: list[list[str]], valid: Sequence[bool], kb: dict,
                   ) -> tuple[dict[str, dict], list[list[tuple[str, str, str]]]]:
    """The knowledge-base rules of each regimen's drugs: the distinct rules by key (so each
    is matched against the tumours once) and, per regimen, its (rule key, role, drug) triples
    (none for a regimen with an unknown drug)."""
    specs: dict[str, dict] = {}
    rules: list[list[tuple[str, str, str]]] = []
    for r, drugs in enumerate(parsed):
        rules.append([])
        if not valid[r]:
            continue
        for d in drugs:
            for role in ROLES:
                for spec in kb[d].get(role, []) or []:
                    key = json.dumps(spec, sort_keys=True)
                    specs.setdefault(key, spec)
                    rules[r].append((key, role, d))
    return specs, rules


def _altered(spec: dict) -> str:
    """How a rule's gene is altered, in a word."""
    cna = spec.get("cna") or []
    if cna and not spec.get("hgvsp") and not spec.get("classes"):
        return "amplified" if min(cna) > 0 else "deleted" if max(cna) < 0 else "copy-altered"
    return "mutated"


def _flag(hit: np.ndarray, known: np.ndarray) -> np.ndarray:
    """1 where seen, 0 where it could have been seen but was not, NaN otherwise."""
    return np.where(hit, 1.0, np.where(known, 0.0, np.nan))


def _match_alterations(cohort: Cohort, specs: list[dict], threshold: float,
                       estimate_purity: bool, default_purity: float | None) -> dict:
    """Patient x rule hit matrices (any, clonal, subclonal, unknown CCF, max CCF)."""
    idx = maf_index(cohort)
    n, k = idx.n_patients, len(specs)
    any_hit = np.zeros((n, k), dtype=bool)
    clonal = np.zeros((n, k), dtype=bool)
    subclonal = np.zeros((n, k), dtype=bool)
    unknown = np.zeros((n, k), dtype=bool)
    max_ccf = np.full((n, k), -np.inf)
    genes = sorted({s["gene"] for s in specs})
    mutations = cohort.mutations
    if k and mutations is not None and len(mutations):
        gene_code = string_positions(mutations["Hugo_Symbol"], genes)
        rows = np.flatnonzero((gene_code >= 0) & (idx.mut_sample >= 0))
        if len(rows):
            vafs = vaf(mutations)
            ccf_all = mutation_ccf(cohort, idx, vafs, estimate_purity=estimate_purity,
                                   default_purity=default_purity)
            sub = mutations.iloc[rows]
            g = gene_code[rows]
            pat = idx.sample_patient[idx.mut_sample[rows]]
            vclass = sub["Variant_Classification"].astype("string").to_numpy(dtype=object)
            hgvsp = (sub["HGVSp_Short"].astype("string").fillna("").str.replace(
                r"^p\.", "", regex=True) if "HGVSp_Short" in sub.columns
                else pd.Series("", index=sub.index, dtype="string"))
            ccf = ccf_all[rows]
            for j, spec in enumerate(specs):
                if "cna" in spec and "hgvsp" not in spec and "classes" not in spec:
                    continue  # a copy-number-only rule
                m = (g == genes.index(spec["gene"])) & (pat >= 0)
                classes = expand_classes(spec.get("classes") or []) or list(NONSYNONYMOUS_CLASSES)
                m &= np.isin(vclass, classes)
                if spec.get("hgvsp") and m.any():
                    pattern = "|".join(f"(?:{p})" for p in spec["hgvsp"])
                    sel = np.flatnonzero(m)
                    with warnings.catch_warnings():  # KB patterns may hold capture groups
                        warnings.simplefilter("ignore", UserWarning)
                        matched = hgvsp.iloc[sel].str.contains(re.compile(pattern), regex=True)
                    m[sel] = matched.fillna(False).to_numpy(dtype=bool)
                if not m.any():
                    continue
                p, c = pat[m], ccf[m]
                any_hit[p, j] = True
                clonal[p[c >= threshold], j] = True
                subclonal[p[c < threshold], j] = True
                unknown[p[np.isnan(c)], j] = True
                np.maximum.at(max_ccf[:, j], p[~np.isnan(c)], c[~np.isnan(c)])
    cpat, profiled = cna_patients(cohort, idx)
    cna = cohort.cna
    if len(cpat):
        values = cna["cna"].to_numpy(dtype="float64", na_value=np.nan)
        cna_genes = sorted({s["gene"] for s in specs if s.get("cna")})
        gene_code = string_positions(cna["Hugo_Symbol"], cna_genes)
        for j, spec in enumerate(specs):
            if not spec.get("cna"):
                continue
            m = (gene_code == cna_genes.index(spec["gene"])) & (cpat >= 0)
            m &= np.isin(values, spec["cna"])
            any_hit[cpat[m], j] = True
            unknown[cpat[m], j] = True  # the clonality of a copy-number call is not known
    return {"index": idx, "any": any_hit, "clonal": clonal, "subclonal": subclonal,
            "unknown": unknown, "max_ccf": max_ccf, "cna_profiled": profiled}
