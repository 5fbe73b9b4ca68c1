"""Ground-truth drug mechanisms: per-mechanism response logits and the relapse log-hazard.

Standardised inputs use fixed population constants (never the sample's own statistics), so a
patient's truth does not depend on who else was simulated.

Per mechanism k present in the regimen (s = logistic):

targeted (program P: EGFR 1st/3rd generation, BRAF, KRAS G12C, PI3K)
    target present:  a_P + 2.0 CCF_target - 2.0 bypass - 1.2 CCF_resistant
                     + 0.5 [MEK inhibitor added to a BRAF inhibitor]
                     - 1.5 [BRAF inhibitor in colorectal cancer: EGFR feedback]
                     - 0.6 [KEAP1 co-mutation under sotorasib]
    target absent:   -3.0
    (a: osimertinib -0.3, erlotinib/gefitinib -0.6, BRAF -1.1, sotorasib -2.0, alpelisib -2.4)
    Resistant subclones: T790M (1st gen EGFR-TKI), C797S (osimertinib), KRAS subclone (any
    EGFR-TKI), NRAS Q61K / MAP2K1 (BRAF/MEK), KRAS Y96D (sotorasib). Bypass: MET amplification
    or exon 14 skipping, ERBB2 amplification, BRAF V600E (EGFR-TKI; PIK3CA at half weight);
    PTEN loss (BRAF at half weight, alpelisib); MET amplification, NRAS or BRAF (sotorasib).

immune checkpoint (anti-PD-1/PD-L1 and/or anti-CTLA-4)
    a_type + 1.0 z(log clonal TMB) + 0.7 z(log CD8) + 0.3 z(log M1/M2) - 0.45 z(subclonal share)
    - 0.3 z(Treg) - 0.45 z(CAF + stroma) - 1.6 [B2M or JAK1/JAK2 loss] - 0.7 [HLA-A loss]
    - 0.4 [STK11] + 0.5 [PD-1 + CTLA-4] - 0.5 [CTLA-4 alone]
    (a: NSCLC -1.4, melanoma -0.8, colorectal -2.2, breast -2.2, bladder -1.5)

cytotoxic chemotherapy
    a_type + 0.35 (distinct chemo classes - 1) - 0.7 z(hypoxia) - 0.4 z(7.4 - pH)
    - 0.3 z(oxidative stress) - 0.7 [KEAP1: NRF2 antioxidant programme]
    (a: NSCLC -1.0, melanoma -1.9, colorectal -0.6, breast -0.7, bladder -0.5)

host term added to every logit: -0.35 (line - 1) - 0.3 z(log NLR) + 0.25 z(albumin).

Combination: independent drug action (Palmer & Sorger 2017), a patient responds if any
mechanism works: P(response) = 1 - prod_k (1 - s(logit_k + host)).

Relapse (PFS hazard per month after the first assessment, stable-disease reference):
    log h = log lambda_type + 0.2 (line - 1) + 0.25 z(log NLR) - 0.2 z(albumin)
            - 0.8 P(response) - 0.8 p_targeted - 0.2 p_immune
            + 2.0 CCF_resistant + 1.0 bypass (only where the target is present)
            + 0.3 z(subclonal share) - 0.2 (distinct mechanisms - 1)
    (lambda: NSCLC 0.30, melanoma 0.25, colorectal 0.15, breast 0.16, bladder 0.30)
A resistant subclone already present at CCF f regrows under the drug it resists, so relapse
comes sooner the larger f is; combinations need several escapes at once, so they relapse later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.data.simulator import catalogue as K
from predictor.data.simulator.genomics import Genomics

PROGRAMS = ("egfr_tki_1g", "egfr_tki_3g", "braf_i", "kras_g12c_i", "pi3k_i")
TARGET_INTERCEPT = {"egfr_tki_1g": -0.6, "egfr_tki_3g": -0.3, "braf_i": -1.1,
                    "kras_g12c_i": -2.0, "pi3k_i": -2.4}
ICI_INTERCEPT = np.array([-1.4, -0.8, -2.2, -2.2, -1.5])
CHEMO_INTERCEPT = np.array([-1.0, -1.9, -0.6, -0.7, -0.5])
BASE_HAZARD = np.array([0.30, 0.25, 0.15, 0.16, 0.30])
TARGET_ABSENT = -3.0

# Fixed standardisation constants (centre, scale): population mean and sd of a large run.
Z = {
    "log_ctmb": (3.5, 1.0),
    "log_cd8": (-3.4, 1.1),
    "log_m1m2": (-0.66, 0.83),
    "subclonal": (0.38, 0.2),
    "treg": (0.023, 0.013),
    "exclusion": (0.40, 0.21),
    "hypoxia": (0.45, 0.31),
    "acidity": (0.30, 0.18),
    "oxidative": (0.49, 0.2),
    "log_nlr": (np.log(3.0), 0.5),
    "albumin": (3.9, 0.4),
}


def _z(name: str, x: np.ndarray) -> np.ndarray:
    centre, scale = Z[name]
    return (x - centre) / scale


def _s(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class RegimenInfo:
    """What a regimen does, by mechanism."""

    program: str | None
    has_mek: bool
    pd1: bool
    ctla4: bool
    n_chemo: int
    n_mechanisms: int


def regimen_info(regimen: str) -> RegimenInfo:
    classes = {K.DRUG_CLASS[d] for d in regimen.split("+")}
    programs = [p for p in PROGRAMS if p in classes]
    return RegimenInfo(
        program=programs[0] if programs else None,
        has_mek="mek_i" in classes,
        pd1=bool(classes & {"anti_pd1", "anti_pdl1"}),
        ctla4="anti_ctla4" in classes,
        n_chemo=len(classes & set(K.CHEMO_CLASSES)),
        n_mechanisms=len(classes),
    )


def _ccf_of(gen: Genomics, ccf: np.ndarray, keys: tuple[str, ...]) -> np.ndarray:
    """Largest CCF among the clones carrying any of ``keys`` (0 when absent)."""
    rows = np.arange(len(ccf))
    out = np.zeros(len(ccf))
    for key in keys:
        c = gen.clone_of(key)
        out = np.maximum(out, np.where(c >= 0, ccf[rows, np.maximum(c, 0)], 0.0))
    return out


EGFR_ACT = ("EGFR_L858R", "EGFR_EX19DEL")
KRAS_ANY = ("KRAS_G12C", "KRAS_G12D", "KRAS_G12V")


def program_terms(gen: Genomics, ccf: np.ndarray) -> dict[str, dict]:
    """Target CCF, resistant-subclone CCF and bypass flag of every patient, per program."""
    met = (gen.cna_of("MET") == 2) | gen.has("MET_EX14")
    erbb2 = gen.cna_of("ERBB2") == 2
    pten = (gen.cna_of("PTEN") == -2) | gen.has("PTEN_R130X")
    braf = gen.has("BRAF_V600E")
    pik3ca = gen.has("PIK3CA_H1047R") | gen.has("PIK3CA_E545K")
    egfr_bypass = np.maximum((met | erbb2 | braf).astype(float), 0.5 * pik3ca)
    kras_ccf = _ccf_of(gen, ccf, KRAS_ANY)
    return {
        "egfr_tki_1g": {
            "target": _ccf_of(gen, ccf, EGFR_ACT),
            "resistant": np.maximum(_ccf_of(gen, ccf, ("EGFR_T790M",)), kras_ccf),
            "bypass": egfr_bypass},
        "egfr_tki_3g": {
            "target": _ccf_of(gen, ccf, (*EGFR_ACT, "EGFR_T790M")),
            "resistant": np.maximum(_ccf_of(gen, ccf, ("EGFR_C797S",)), kras_ccf),
            "bypass": egfr_bypass},
        "braf_i": {
            "target": _ccf_of(gen, ccf, ("BRAF_V600E",)),
            "resistant": _ccf_of(gen, ccf, ("NRAS_Q61K", "MAP2K1_K57N")),
            "bypass": 0.5 * pten},
        "kras_g12c_i": {
            "target": _ccf_of(gen, ccf, ("KRAS_G12C",)),
            "resistant": _ccf_of(gen, ccf, ("KRAS_Y96D",)),
            "bypass": (met | braf | gen.has("NRAS_Q61K")).astype(float)},
        "pi3k_i": {
            "target": _ccf_of(gen, ccf, ("PIK3CA_H1047R", "PIK3CA_E545K")),
            "resistant": np.zeros(len(ccf)),
            "bypass": pten.astype(float)},
    }


def mechanism_truth(
    *, cancer: np.ndarray, line: np.ndarray, nlr: np.ndarray, albumin: np.ndarray,
    regimen: np.ndarray, gen: Genomics, ccf: np.ndarray, clonal_nonsyn: np.ndarray,
    subclonal_share: np.ndarray, tme: dict,
) -> dict[str, np.ndarray]:
    """Every truth quantity per patient (logits NaN when the regimen lacks the mechanism)."""
    n = len(cancer)
    infos = [regimen_info(r) for r in K.REGIMENS]
    program_idx = np.array([PROGRAMS.index(i.program) if i.program else -1 for i in infos])
    prog = program_idx[regimen]
    has_mek = np.array([i.has_mek for i in infos])[regimen]
    pd1 = np.array([i.pd1 for i in infos])[regimen]
    ctla4 = np.array([i.ctla4 for i in infos])[regimen]
    n_chemo = np.array([i.n_chemo for i in infos])[regimen]
    n_mech = np.array([i.n_mechanisms for i in infos])[regimen]

    host = (-0.35 * (line - 1) - 0.3 * _z("log_nlr", np.log(nlr))
            + 0.25 * _z("albumin", albumin))

    terms = program_terms(gen, ccf)
    target = np.zeros(n)
    resistant = np.zeros(n)
    bypass = np.zeros(n)
    intercept = np.zeros(n)
    for j, name in enumerate(PROGRAMS):
        sel = prog == j
        target[sel] = terms[name]["target"][sel]
        resistant[sel] = terms[name]["resistant"][sel]
        bypass[sel] = terms[name]["bypass"][sel]
        intercept[sel] = TARGET_INTERCEPT[name]
    crc = cancer == K.CANCER_TYPES.index("Colorectal")
    braf_prog = prog == PROGRAMS.index("braf_i")
    keap1 = gen.has("KEAP1_G333C")
    targeted = (intercept + 2.0 * target - 2.0 * bypass - 1.2 * resistant
                + 0.5 * (braf_prog & has_mek) - 1.5 * (braf_prog & crc)
                - 0.6 * ((prog == PROGRAMS.index("kras_g12c_i")) & keap1))
    targeted = np.where(target > 0, targeted, TARGET_ABSENT)
    # Resistance and bypass only matter where the drug has its target to lose.
    resistant = np.where(target > 0, resistant, 0.0)
    bypass = np.where(target > 0, bypass, 0.0)
    targeted = np.where(prog >= 0, targeted, np.nan)

    immune_loss = gen.has("B2M_L15FS") | gen.has("JAK1_Q503X") | gen.has("JAK2_I682FS")
    immune = (ICI_INTERCEPT[cancer]
              + 1.0 * _z("log_ctmb", np.log1p(clonal_nonsyn))
              + 0.7 * _z("log_cd8", np.log(tme["cd8"]))
              + 0.3 * _z("log_m1m2", np.log(tme["m1_macrophage"] / tme["m2_macrophage"]))
              - 0.45 * _z("subclonal", subclonal_share)
              - 0.3 * _z("treg", tme["treg"])
              - 0.45 * _z("exclusion", tme["caf"] + tme["stroma"])
              - 1.6 * immune_loss - 0.7 * gen.has("HLA-A_K68FS") - 0.4 * gen.has("STK11_Q37X")
              + 0.5 * (pd1 & ctla4) - 0.5 * (ctla4 & ~pd1))
    immune = np.where(pd1 | ctla4, immune, np.nan)

    chemo = (CHEMO_INTERCEPT[cancer] + 0.35 * (n_chemo - 1)
             - 0.7 * _z("hypoxia", tme["hypoxia"]) - 0.4 * _z("acidity", 7.4 - tme["ph"])
             - 0.3 * _z("oxidative", tme["oxidative_stress"]) - 0.7 * keap1)
    chemo = np.where(n_chemo > 0, chemo, np.nan)

    p = {k: np.where(np.isnan(v), 0.0, _s(v + host))
         for k, v in (("targeted", targeted), ("immune", immune), ("chemo", chemo))}
    p_response = 1 - (1 - p["targeted"]) * (1 - p["immune"]) * (1 - p["chemo"])

    log_h = (np.log(BASE_HAZARD[cancer]) + 0.2 * (line - 1)
             + 0.25 * _z("log_nlr", np.log(nlr)) - 0.2 * _z("albumin", albumin)
             - 0.8 * p_response - 0.8 * p["targeted"] - 0.2 * p["immune"]
             + 2.0 * resistant + 1.0 * bypass
             + 0.3 * _z("subclonal", subclonal_share) - 0.2 * (n_mech - 1))
    return {
        "true_response_probability": p_response,
        "true_relapse_hazard": np.exp(log_h),
        "targeted_logit": targeted,
        "immune_logit": immune,
        "chemo_logit": chemo,
        "host_logit": host,
        "p_targeted": np.where(prog >= 0, p["targeted"], np.nan),
        "p_immune": np.where(pd1 | ctla4, p["immune"], np.nan),
        "p_chemo": np.where(n_chemo > 0, p["chemo"], np.nan),
        "target_ccf": np.where(prog >= 0, target, np.nan),
        "resistant_subclone_ccf": np.where(prog >= 0, resistant, np.nan),
        "bypass_alteration": np.where(prog >= 0, bypass, np.nan),
        "true_clonal_nonsyn_mutations": clonal_nonsyn.astype(float),
        "true_subclonal_share": subclonal_share,
        "n_mechanisms": n_mech.astype(float),
    }
