"""Tumour micro-environment from three latent axes, so markers correlate as in tissue.

Latent per patient (all ``N(0, 1)`` plus offsets):
- immune ``z_imm``: + cancer-type offset (melanoma, NSCLC, bladder hot; colorectal, breast
  cold) + 0.45 * z(log clonal TMB) (neoantigens recruit T cells);
- stromal ``z_str``: + offset (colorectal, breast fibrotic);
- vascular ``z_vas``: microvessel density.

Markers (s = logistic function, e = independent N(0, 1) noise):

    cd8   = 0.25 s(-1.6 + 0.9 z_imm - 0.35 z_str + 0.3 e)
    treg  = 0.08 s(-1.0 + 0.5 z_imm + 0.6 e)
    m1    = 0.15 s(-0.5 + 0.6 z_imm - 0.3 hyp + 0.5 e)
    m2    = 0.20 s(-0.5 + 0.5 z_str + 0.8 hyp + 0.5 e)          (hypoxia polarises to M2)
    caf   = 0.35 s(-0.8 + 1.0 z_str + 0.4 e)
    stroma= min(0.9, caf + 0.35 s(-0.5 + 0.8 z_str + 0.5 e))
    MVD   = exp(log 60 + 0.4 z_vas - 0.15 z_str)                (per mm^2)
    hyp   = s(-0.4 - 4 (log MVD - log 60) + 0.3 z_str + 0.5 e)  (poor perfusion -> hypoxia)
    pH    = 7.35 - 0.55 hyp + 0.05 e                            (glycolysis acidifies)
    ox    = s(-1.2 + 2.6 hyp + 0.5 e)                           (re-oxygenation, ROS)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

IMMUNE_OFFSET = np.array([0.2, 0.6, -0.6, -0.5, 0.1])
STROMA_OFFSET = np.array([0.0, -0.4, 0.5, 0.5, 0.0])
TMB_CENTRE = 3.5  # log(1 + clonal nonsynonymous mutations), population mean
TMB_SCALE = 1.0


def _s(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def draw_tme(cancer: np.ndarray, clonal_nonsyn: np.ndarray, rng: np.random.Generator) -> dict:
    """Draw TME markers; returns a dict of arrays named as the TME schema columns."""
    n = len(cancer)
    e = rng.standard_normal((11, n))
    z_tmb = (np.log1p(clonal_nonsyn) - TMB_CENTRE) / TMB_SCALE
    z_imm = IMMUNE_OFFSET[cancer] + 0.45 * z_tmb + e[0]
    z_str = STROMA_OFFSET[cancer] + e[1]
    z_vas = e[2]
    mvd = np.exp(np.log(60.0) + 0.4 * z_vas - 0.15 * z_str)
    hyp = _s(-0.4 - 4.0 * (np.log(mvd) - np.log(60.0)) + 0.3 * z_str + 0.5 * e[3])
    caf = 0.35 * _s(-0.8 + 1.0 * z_str + 0.4 * e[8])
    return {
        "cd8": 0.25 * _s(-1.6 + 0.9 * z_imm - 0.35 * z_str + 0.3 * e[4]),
        "treg": 0.08 * _s(-1.0 + 0.5 * z_imm + 0.6 * e[5]),
        "m1_macrophage": 0.15 * _s(-0.5 + 0.6 * z_imm - 0.3 * hyp + 0.5 * e[6]),
        "m2_macrophage": 0.20 * _s(-0.5 + 0.5 * z_str + 0.8 * hyp + 0.5 * e[7]),
        "caf": caf,
        "stroma": np.minimum(0.9, caf + 0.35 * _s(-0.5 + 0.8 * z_str + 0.5 * e[9])),
        "microvessel_density": mvd,
        "hypoxia": hyp,
        "ph": np.clip(7.35 - 0.55 * hyp + 0.05 * e[10], 6.2, 7.6),
        "oxidative_stress": _s(-1.2 + 2.6 * hyp + 0.5 * rng.standard_normal(n)),
    }


def tme_table(patient_ids: list[str], tme: dict) -> pd.DataFrame:
    """The TME table as in the schema (rounded like a lab report)."""
    out = pd.DataFrame({"patient_id": patient_ids})
    for col in ("cd8", "treg", "m1_macrophage", "m2_macrophage", "caf", "stroma"):
        out[col] = tme[col].round(4)
    out["microvessel_density"] = tme["microvessel_density"].round(1)
    out["hypoxia"] = tme["hypoxia"].round(3)
    out["ph"] = tme["ph"].round(2)
    out["oxidative_stress"] = tme["oxidative_stress"].round(3)
    return out
