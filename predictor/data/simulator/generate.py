"""Assemble one simulated cohort: run every generator in order and build the schema tables.

Each generator gets its own random stream spawned from ``SeedSequence(seed)``, so the same
seed gives identical tables and changing one generator does not reshuffle the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.data.expression import Expression
from predictor.data.simulator import catalogue as K
from predictor.data.simulator.clones import MAX_CLONES, Clones, draw_clones
from predictor.data.simulator.ctdna import draw_ctdna
from predictor.data.simulator.expression import MODES as EXPRESSION_MODES
from predictor.data.simulator.expression import simulate_expression
from predictor.data.simulator.genomics import Genomics, draw_genomics
from predictor.data.simulator.maf import MafResult, draw_mutations
from predictor.data.simulator.mechanisms import mechanism_truth
from predictor.data.simulator.outcomes import draw_outcomes, pfs_at
from predictor.data.simulator.patients import Patients, draw_patients
from predictor.data.simulator.regimens import assign_regimens, candidate_matrix
from predictor.data.simulator.tme import draw_tme, tme_table
from predictor.data.truth import REGIMEN_TRUTH_COLUMNS

STREAMS = ("patients", "clones", "genomics", "maf", "tme", "regimens", "outcomes", "ctdna")
SITES = np.array(["SITE_A", "SITE_B", "SITE_C"])


def _clinical(ids: list[str], pat: Patients, regimen: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ids,
        "cancer_type": np.array(K.CANCER_TYPES)[pat.cancer],
        "regimen": np.array(K.REGIMENS)[regimen],
        "line_of_therapy": pat.line,
        "prior_systemic_therapy": (pat.line > 1).astype(np.int64),
        "age": pat.age,
        "sex": np.where(pat.female, "Female", "Male"),
        "nlr": pat.nlr,
        "albumin": pat.albumin,
        "cohort": SITES[pat.site],
    })


def _samples(ids: list[str], sids: list[str], gen: Genomics) -> pd.DataFrame:
    return pd.DataFrame({"sample_id": sids, "patient_id": ids, "panel": K.PANEL_ID,
                         "purity": gen.purity, "ploidy": gen.ploidy})


def _cna(sids: list[str], gen: Genomics) -> pd.DataFrame:
    n, g = gen.cna.shape
    return pd.DataFrame({
        "sample_id": np.repeat(np.asarray(sids, dtype=object), g),
        "Hugo_Symbol": np.tile(np.array(K.CNA_GENES, dtype=object), n),
        "cna": gen.cna.ravel().astype(np.int64),
    })


def _clones(sids: list[str], clones: Clones, detected: np.ndarray) -> pd.DataFrame:
    mask = clones.exists
    sidx, cidx = np.nonzero(mask)
    names = np.array([f"C{k + 1}" for k in range(MAX_CLONES)], dtype=object)
    parent = clones.parent[sidx, cidx]
    return pd.DataFrame({
        "sample_id": np.asarray(sids, dtype=object)[sidx],
        "clone_id": names[cidx],
        "parent_clone_id": np.where(parent >= 0, names[np.maximum(parent, 0)], None),
        "ccf": clones.ccf[sidx, cidx],
        "n_mutations": detected[sidx, cidx].astype(np.int64),
    })


@dataclass
class State:
    """Every intermediate draw of one simulation (for the truth and for tests)."""

    ids: list[str]
    sample_ids: list[str]
    patients: Patients
    clones: Clones
    genomics: Genomics
    maf: MafResult
    tme: dict
    regimen: np.ndarray
    rng: dict

    def truth(self, regimen: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Mechanism truth, optionally under another regimen (a counterfactual)."""
        pat = self.patients
        return mechanism_truth(
            cancer=pat.cancer, line=pat.line, nlr=pat.nlr, albumin=pat.albumin,
            regimen=self.regimen if regimen is None else regimen, gen=self.genomics,
            ccf=self.clones.ccf, clonal_nonsyn=self.maf.clonal_nonsyn,
            subclonal_share=self.maf.subclonal_share, tme=self.tme)


def draw_state(n_patients: int, seed: int) -> State:
    """Draw patients, tumours, TME and regimens (everything before outcomes)."""
    streams = dict(zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS)), strict=True))
    rng = {k: np.random.default_rng(s) for k, s in streams.items()}
    width = max(6, len(str(n_patients)))
    ids = [f"SIM-P{i:0{width}d}" for i in range(1, n_patients + 1)]
    sids = [f"{p}-T1" for p in ids]
    pat = draw_patients(n_patients, rng["patients"])
    clones = draw_clones(pat.cancer, rng["clones"])
    gen = draw_genomics(pat.cancer, pat.line, clones, rng["genomics"])
    maf = draw_mutations(sids, clones, gen, rng["maf"])
    tme = draw_tme(pat.cancer, maf.clonal_nonsyn, rng["tme"])
    regimen = assign_regimens(pat, gen, clones.msi, rng["regimens"])
    return State(ids=ids, sample_ids=sids, patients=pat, clones=clones, genomics=gen, maf=maf,
                 tme=tme, regimen=regimen, rng=rng)


def simulate_tables(n_patients: int, seed: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """All cohort tables (unvalidated, ``patient_id`` a column) and the ground-truth table."""
    _, tables, truth = _simulate(n_patients, seed)
    return tables, truth


def _simulate(n_patients: int, seed: int) -> tuple[State, dict[str, pd.DataFrame], pd.DataFrame]:
    st = draw_state(n_patients, seed)
    pat, ids, sids = st.patients, st.ids, st.sample_ids
    truth = st.truth()
    p, hazard = truth["true_response_probability"], truth["true_relapse_hazard"]
    out = draw_outcomes(ids, p, hazard, pat.nlr, pat.albumin, pat.line, st.rng["outcomes"])
    tables = {
        "clinical": _clinical(ids, pat, st.regimen),
        "samples": _samples(ids, sids, st.genomics),
        "mutations": st.maf.mutations,
        "cna": _cna(sids, st.genomics),
        "clones": _clones(sids, st.clones, st.maf.detected_per_clone),
        "tme": tme_table(ids, st.tme),
        "ctdna": draw_ctdna(ids, out, st.rng["ctdna"]),
        "outcomes": out.table,
    }
    truth_table = pd.DataFrame({"patient_id": ids,
                                "true_response_probability": p,
                                "true_relapse_hazard": hazard,
                                "true_pfs_12m": pfs_at(12.0, p, hazard)})
    for key, values in truth.items():
        if key not in truth_table.columns:
            truth_table[key] = values
    return st, tables, truth_table.round(6)


def regimen_truth(st: State) -> pd.DataFrame:
    """Counterfactual truth of every patient under every candidate regimen of their cancer type.

    One row per patient x candidate (``regimens.CANDIDATES``), sorted by patient (simulation
    order) then regimen name; values computed and rounded exactly as ``ground_truth.tsv``, so
    the assigned regimen's row equals the patient's row there. One vectorised truth pass per
    distinct regimen (over all patients), not one per patient.
    """
    allowed = candidate_matrix()[st.patients.cancer]  # (patients, regimens)
    n = len(st.ids)
    parts = []
    for r in np.flatnonzero(allowed.any(axis=0)):
        truth = st.truth(np.full(n, r, dtype=st.regimen.dtype))
        p, hazard = truth["true_response_probability"], truth["true_relapse_hazard"]
        rows = np.flatnonzero(allowed[:, r])
        parts.append(pd.DataFrame({
            "row": rows, "regimen": K.REGIMENS[r],
            "true_response_probability": p[rows],
            "true_pfs_12m": pfs_at(12.0, p, hazard)[rows]}))
    table = pd.concat(parts, ignore_index=True).sort_values(["row", "regimen"], kind="stable")
    table.insert(0, "patient_id", np.asarray(st.ids, dtype=object)[table.pop("row").to_numpy()])
    return table.reset_index(drop=True).round(6)[list(REGIMEN_TRUTH_COLUMNS)]


def simulate_regimen_truth(n_patients: int, seed: int) -> pd.DataFrame:
    """The per-regimen truth (``ground_truth_regimens.tsv``) of ``simulate_cohort(n, seed)``."""
    if n_patients < 1 or seed < 0:
        raise ValueError("n_patients must be at least 1 and seed zero or positive")
    return regimen_truth(draw_state(n_patients, seed))


def state_expression(st: State, seed: int, genes: str = "small") -> tuple[Expression, pd.DataFrame]:
    """Tumour RNA-seq (TPM) for the simulated samples and the true TME state behind it.

    Draws only from the expression stream (see ``simulator.expression``), so no other table
    depends on it. ``genes`` is ``small`` (markers + background panel) or ``full`` (~20,000).
    """
    gen = st.genomics
    return simulate_expression(
        sample_ids=st.sample_ids, patient_ids=st.ids, cancer=st.patients.cancer,
        site=st.patients.site, purity=gen.purity, cna=gen.cna, keap1=gen.has("KEAP1_G333C"),
        jak_loss=gen.has("JAK1_Q503X") | gen.has("JAK2_I682FS"), b2m_loss=gen.has("B2M_L15FS"),
        hla_a_loss=gen.has("HLA-A_K68FS"), tme=st.tme, female=st.patients.female, seed=seed,
        full_width=genes == "full")


def simulate_cohort(n_patients: int, seed: int, *,
                    expression: str = "small") -> tuple[Cohort, pd.DataFrame]:
    """A validated simulated :class:`Cohort` and its ground truth (never part of the cohort).

    ``expression``: ``small`` (default: marker genes + a background panel), ``full`` (~20,000
    genes) or ``none`` (no ``cohort.expression``); the other tables do not depend on it.
    """
    cohort, truth, _ = simulate_with_tme_truth(n_patients, seed, expression=expression)
    return cohort, truth


def simulate_with_tme_truth(
    n_patients: int, seed: int, *, expression: str = "small",
) -> tuple[Cohort, pd.DataFrame, pd.DataFrame | None]:
    """:func:`simulate_cohort` plus the true TME state behind the expression (one row per
    patient: cell fractions and cell states; None when ``expression='none'``)."""
    cohort, truth, truth_tme, _ = simulate_with_state(n_patients, seed, expression=expression)
    return cohort, truth, truth_tme


def simulate_with_state(
    n_patients: int, seed: int, *, expression: str = "small",
) -> tuple[Cohort, pd.DataFrame, pd.DataFrame | None, State]:
    """:func:`simulate_with_tme_truth` plus the simulation state (for counterfactual truth)."""
    if n_patients < 1 or seed < 0:
        raise ValueError("n_patients must be at least 1 and seed zero or positive")
    if expression not in EXPRESSION_MODES:
        raise ValueError(f"expression must be one of {', '.join(EXPRESSION_MODES)}, "
                         f"got {expression!r}")
    st, tables, truth = _simulate(n_patients, seed)
    expr, truth_tme = (None, None) if expression == "none" else state_expression(
        st, seed, expression)
    meta = {
        "study": {"cancer_study_identifier": K.STUDY_ID, "type_of_cancer": "mixed",
                  "name": f"Simulated cohort ({n_patients} patients, seed {seed})",
                  "description": "Mechanistic simulation by predictor.data.simulator; "
                                 "see data/README.md."},
        "panel_sizes": {K.PANEL_ID: K.PANEL_MB},
        "simulator": {"seed": int(seed), "n_patients": int(n_patients)},
    }
    # Arrow-backed strings: 10M MAF rows stay compact through schema coercion.
    with pd.option_context("mode.string_storage", "pyarrow"):
        cohort = Cohort.from_tables(name=K.STUDY_ID, meta=meta, expression=expr, **tables)
    return cohort, truth, truth_tme, st
