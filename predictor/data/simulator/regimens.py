"""Regimen assignment confounded like real practice: by indication, by fitness, with errors.

How a regimen is drawn for each patient (all draws from the ``regimens`` random stream only,
so no other table's draws move when these rules change):

1. **Indication.** Each patient falls in one indication group (cancer type x actionable
   founder driver, and MSI status for colorectal; ``GROUPS``) and the regimen comes from that
   group's first-line or later-line mix: EGFR-mutant NSCLC mostly gets an EGFR TKI, BRAF
   V600E melanoma mostly BRAF/MEK, PIK3CA-mutant breast often alpelisib, MSI colorectal
   mostly anti-PD-1. The mixes carry a few mismatches (osimertinib for EGFR wild-type,
   dabrafenib+trametinib for BRAF wild-type, alpelisib without PIK3CA, ...), so a model can
   see that a targeted drug without its target does not work.
2. **Fitness.** Fitter, younger patients get combinations more often and frail, older ones
   monotherapy, as oncologists weigh toxicity. The simulator has no ECOG score; its stand-in
   is a fitness score from observed clinical columns (the same ones that enter the host
   term of the truth, so this is measured confounding):

       fitness = -0.6 (age - 65) / 10 - 0.5 (log NLR - log 3) / 0.5 + 0.4 (albumin - 3.9) / 0.4

   Every combination in the group's mix (a regimen of >= 2 mechanism classes: nivolumab +
   ipilimumab, chemo-immunotherapy, osimertinib + chemotherapy, platinum doublets,
   dabrafenib + trametinib) has its weight multiplied by ``exp(COMBO_FITNESS * fitness)``
   (``COMBO_FITNESS`` = 1.0) before the mix is renormalised: at fitness +1 (e.g. a 48-year-old
   with NLR 3 and albumin 3.9) a combination's odds against a monotherapy are x2.7, at -1
   (an 82-year-old with the same markers) x0.37. Fitter patients also respond a little
   better (host term), so a naive comparison of combinations against monotherapy is biased
   in their favour.
3. **Guideline-discordant choices.** With probability ``DISCORDANT_RATE`` (4%) the regimen is
   instead drawn uniformly from every regimen the simulator uses for the patient's cancer
   type (``CANDIDATES``, the union of the cancer type's mixes): trial enrolment, drug
   access, physician preference or error (many such draws land inside the mix anyway).
   Together with the mismatches inside the mixes, 4.3% of the demo's patients get a regimen
   discordant with their indication (a targeted drug without its target, or a regimen
   outside their group's mix for their line; ``discordant_share``). These choices also give
   every candidate a non-zero propensity (>= 0.04 / 17 for NSCLC), so no regimen is
   strictly impossible for any patient, only rare.

``CANDIDATES`` is also the candidate set of the per-regimen truth
(``ground_truth_regimens.tsv``): every regimen a patient of that cancer type can get.
"""

from __future__ import annotations

import numpy as np

from predictor.data.simulator import catalogue as K
from predictor.data.simulator.genomics import Genomics
from predictor.data.simulator.mechanisms import PROGRAMS, regimen_info
from predictor.data.simulator.patients import Patients

R = {name: i for i, name in enumerate(K.REGIMENS)}
COMBO_FITNESS = 1.0  # log odds ratio of a combination vs a monotherapy per unit of fitness
DISCORDANT_RATE = 0.04  # share of regimens drawn uniformly from the cancer type's candidates

# group -> (first-line weights, later-line weights), by regimen name.
GROUPS: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "NSCLC_EGFR": (
        {"osimertinib": 0.62, "osimertinib+carboplatin+pemetrexed": 0.12, "erlotinib": 0.09,
         "gefitinib": 0.09, "carboplatin+pemetrexed": 0.05, "pembrolizumab": 0.03},
        {"osimertinib": 0.35, "carboplatin+pemetrexed": 0.35, "docetaxel": 0.15,
         "carboplatin+pemetrexed+pembrolizumab": 0.10, "nivolumab": 0.05}),
    "NSCLC_KRAS_G12C": (
        {"carboplatin+pemetrexed+pembrolizumab": 0.45, "pembrolizumab": 0.25,
         "sotorasib": 0.15, "carboplatin+paclitaxel+atezolizumab": 0.10, "osimertinib": 0.05},
        {"sotorasib": 0.55, "docetaxel": 0.25, "nivolumab": 0.10, "pembrolizumab": 0.10}),
    "NSCLC_BRAF": (
        {"dabrafenib+trametinib": 0.70, "carboplatin+pemetrexed+pembrolizumab": 0.30},
        {"dabrafenib+trametinib": 0.60, "docetaxel": 0.25, "nivolumab": 0.15}),
    "NSCLC_other": (
        {"pembrolizumab": 0.25, "carboplatin+pemetrexed+pembrolizumab": 0.28,
         "carboplatin+paclitaxel+atezolizumab": 0.07, "carboplatin+pemetrexed": 0.10,
         "carboplatin+paclitaxel": 0.08, "atezolizumab": 0.05, "durvalumab": 0.05,
         "nivolumab+ipilimumab": 0.06, "osimertinib": 0.03, "erlotinib": 0.02,
         "sotorasib": 0.01},
        {"docetaxel": 0.35, "nivolumab": 0.25, "pembrolizumab": 0.10, "atezolizumab": 0.10,
         "carboplatin+pemetrexed": 0.10, "gemcitabine": 0.05, "osimertinib": 0.03,
         "erlotinib": 0.02}),
    "Melanoma_BRAF": (
        {"dabrafenib+trametinib": 0.50, "vemurafenib": 0.10, "nivolumab+ipilimumab": 0.20,
         "pembrolizumab": 0.10, "nivolumab": 0.10},
        {"dabrafenib+trametinib": 0.45, "nivolumab+ipilimumab": 0.20, "pembrolizumab": 0.15,
         "ipilimumab": 0.10, "paclitaxel": 0.10}),
    "Melanoma_other": (
        {"pembrolizumab": 0.35, "nivolumab": 0.30, "nivolumab+ipilimumab": 0.30,
         "dabrafenib+trametinib": 0.03, "vemurafenib": 0.02},
        {"nivolumab+ipilimumab": 0.30, "ipilimumab": 0.20, "pembrolizumab": 0.15,
         "paclitaxel": 0.20, "carboplatin+paclitaxel": 0.15}),
    "Colorectal_KRAS_G12C": (
        {"fluorouracil+oxaliplatin": 0.85, "pembrolizumab": 0.05, "sotorasib": 0.10},
        {"sotorasib": 0.50, "fluorouracil+oxaliplatin": 0.40, "gemcitabine": 0.10}),
    "Colorectal_BRAF": (
        {"fluorouracil+oxaliplatin": 0.75, "dabrafenib+trametinib": 0.20,
         "pembrolizumab": 0.05},
        {"dabrafenib+trametinib": 0.45, "fluorouracil+oxaliplatin": 0.45,
         "vemurafenib": 0.10}),
    "Colorectal_MSI": (
        {"pembrolizumab": 0.60, "nivolumab+ipilimumab": 0.20, "fluorouracil+oxaliplatin": 0.20},
        {"pembrolizumab": 0.40, "nivolumab": 0.30, "fluorouracil+oxaliplatin": 0.30}),
    "Colorectal_other": (
        {"fluorouracil+oxaliplatin": 0.90, "pembrolizumab": 0.05, "sotorasib": 0.02,
         "dabrafenib+trametinib": 0.03},
        {"fluorouracil+oxaliplatin": 0.60, "gemcitabine": 0.15, "nivolumab": 0.15,
         "docetaxel": 0.10}),
    "Breast_PIK3CA": (
        {"alpelisib": 0.45, "paclitaxel": 0.30, "docetaxel": 0.15,
         "carboplatin+paclitaxel+atezolizumab": 0.10},
        {"alpelisib": 0.55, "paclitaxel": 0.25, "gemcitabine": 0.20}),
    "Breast_other": (
        {"paclitaxel": 0.40, "docetaxel": 0.25, "carboplatin+paclitaxel": 0.15,
         "carboplatin+paclitaxel+atezolizumab": 0.12, "pembrolizumab": 0.05,
         "alpelisib": 0.03},
        {"gemcitabine": 0.35, "paclitaxel": 0.30, "docetaxel": 0.25, "alpelisib": 0.05,
         "atezolizumab": 0.05}),
    "Bladder": (
        {"cisplatin+gemcitabine": 0.50, "pembrolizumab": 0.20, "atezolizumab": 0.10,
         "carboplatin+paclitaxel": 0.05, "nivolumab": 0.05, "durvalumab": 0.10},
        {"pembrolizumab": 0.40, "atezolizumab": 0.15, "nivolumab": 0.15, "durvalumab": 0.10,
         "docetaxel": 0.10, "paclitaxel": 0.10}),
}
GROUP_NAMES = tuple(GROUPS)


def group_cancer_type(group: str) -> str:
    """Cancer type of an indication group (``NSCLC_EGFR`` -> ``NSCLC``)."""
    return group.split("_", 1)[0]


def _candidates() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for cancer in K.CANCER_TYPES:
        names = {name for group, mixes in GROUPS.items() if group_cancer_type(group) == cancer
                 for mix in mixes for name in mix}
        out[cancer] = tuple(sorted(names))
    return out


# Cancer type -> every regimen its mixes use (sorted): the regimens a patient can be given.
CANDIDATES: dict[str, tuple[str, ...]] = _candidates()
# Regimens of >= 2 mechanism classes (combinations), by regimen index.
COMBINATION = np.array([regimen_info(r).n_mechanisms >= 2 for r in K.REGIMENS])


def candidate_matrix() -> np.ndarray:
    """(cancer types, regimens) bool: which regimens are candidates for each cancer type."""
    out = np.zeros((len(K.CANCER_TYPES), len(K.REGIMENS)), dtype=bool)
    for c, cancer in enumerate(K.CANCER_TYPES):
        out[c, [R[name] for name in CANDIDATES[cancer]]] = True
    return out


def _weights() -> np.ndarray:
    w = np.zeros((len(GROUPS), 2, len(K.REGIMENS)))
    for g, (first, later) in enumerate(GROUPS.values()):
        for b, mix in enumerate((first, later)):
            for name, weight in mix.items():
                w[g, b, R[name]] = weight
            w[g, b] /= w[g, b].sum()
    return w


def fitness(pat: Patients) -> np.ndarray:
    """Performance-status stand-in from age, NLR and albumin (higher = fitter; see above)."""
    return (-0.6 * (pat.age - 65.0) / 10.0 - 0.5 * (np.log(pat.nlr) - np.log(3.0)) / 0.5
            + 0.4 * (pat.albumin - 3.9) / 0.4)


def indication_group(cancer: np.ndarray, gen: Genomics, msi: np.ndarray) -> np.ndarray:
    """Indication group index of each patient (see ``GROUPS``)."""
    names = np.array(K.CANCER_TYPES)[cancer]
    egfr = gen.has("EGFR_L858R") | gen.has("EGFR_EX19DEL")
    g12c = gen.has("KRAS_G12C")
    braf = gen.has("BRAF_V600E")
    pik3ca = gen.has("PIK3CA_H1047R") | gen.has("PIK3CA_E545K")
    conditions = [
        (names == "NSCLC") & egfr, (names == "NSCLC") & g12c, (names == "NSCLC") & braf,
        names == "NSCLC", (names == "Melanoma") & braf, names == "Melanoma",
        (names == "Colorectal") & g12c & ~msi, (names == "Colorectal") & braf & ~msi,
        (names == "Colorectal") & msi, names == "Colorectal",
        (names == "Breast") & pik3ca, names == "Breast", names == "Bladder",
    ]
    return np.select(conditions, list(range(len(GROUPS))), default=len(GROUPS) - 1)


def _pick(w: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise inverse-CDF draw of a column index from (unnormalised) weights ``w``."""
    cum = np.cumsum(w, axis=1)
    pick = (cum < u[:, None] * cum[:, -1:]).sum(axis=1)
    return np.minimum(pick, w.shape[1] - 1)


def _mix_weights(pat: Patients, gen: Genomics, msi: np.ndarray) -> np.ndarray:
    """(patients, regimens) unnormalised weights of the indication mix, fitness-tilted."""
    group = indication_group(pat.cancer, gen, msi)
    w = _weights()[group, (pat.line > 1).astype(np.int64)]
    return w * np.exp(COMBO_FITNESS * fitness(pat)[:, None] * COMBINATION[None, :])


def assignment_weights(pat: Patients, gen: Genomics, msi: np.ndarray) -> np.ndarray:
    """(patients, regimens) probability of each regimen: the simulator's true propensity."""
    w = _mix_weights(pat, gen, msi)
    w /= w.sum(axis=1, keepdims=True)
    cand = candidate_matrix()[pat.cancer].astype(float)
    uniform = cand / cand.sum(axis=1, keepdims=True)
    return (1.0 - DISCORDANT_RATE) * w + DISCORDANT_RATE * uniform


def assign_regimens(pat: Patients, gen: Genomics, msi: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """Regimen index (into ``REGIMENS``) of each patient (rules in the module docstring).

    Three uniform draws per patient, in this order: discordant or not, the pick from the
    indication mix, the pick among the cancer type's candidates.
    """
    n = len(pat)
    discordant = rng.random(n) < DISCORDANT_RATE
    u_mix, u_any = rng.random(n), rng.random(n)
    from_mix = _pick(_mix_weights(pat, gen, msi), u_mix)
    from_any = _pick(candidate_matrix()[pat.cancer].astype(float), u_any)
    return np.where(discordant, from_any, from_mix)


def discordant_share(pat: Patients, gen: Genomics, msi: np.ndarray,
                     regimen: np.ndarray) -> float:
    """Share of patients whose regimen is discordant with their indication.

    Discordant = outside the indication group's mix for the patient's line, or a targeted drug
    whose target the tumour lacks (the mixes' own mismatches).
    """
    group = indication_group(pat.cancer, gen, msi)
    in_mix = _weights()[group, (pat.line > 1).astype(np.int64), regimen] > 0
    targets = {"egfr_tki_1g": gen.has("EGFR_L858R") | gen.has("EGFR_EX19DEL"),
               "egfr_tki_3g": gen.has("EGFR_L858R") | gen.has("EGFR_EX19DEL"),
               "braf_i": gen.has("BRAF_V600E"), "kras_g12c_i": gen.has("KRAS_G12C"),
               "pi3k_i": gen.has("PIK3CA_H1047R") | gen.has("PIK3CA_E545K")}
    program = np.array([PROGRAMS.index(i.program) if i.program else -1
                        for i in map(regimen_info, K.REGIMENS)])[regimen]
    no_target = np.zeros(len(regimen), dtype=bool)
    for j, name in enumerate(PROGRAMS):
        no_target |= (program == j) & ~targets[name]
    return float(np.mean(~in_mix | no_target))
