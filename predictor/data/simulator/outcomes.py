"""Sampled outcomes: RECIST best response, progression-free and overall survival.

- responder ~ Bernoulli(P); among responders CR with probability 0.1 + 0.3 P (deeper
  responses when the drug works better), else PR; among non-responders SD with probability
  0.45 + 0.35 P, else PD. 2% of patients are not evaluable (NE, responder missing).
- First assessment at t1 ~ U(1.4, 2.2) months (6-9 weeks). PD patients progress at t1.
  Others progress at t1 + Exp(h * m), h the true relapse hazard per month and m = exp(-1.6)
  for CR, exp(-0.9) for PR, 1 for SD.
- Overall survival = PFS + post-progression survival Exp(0.07 exp(0.3 z(log NLR)
  - 0.25 z(albumin) + 0.15 (line - 1))), so OS >= PFS.
- Censoring C = min(administrative U(18, 60) months, dropout Exp(mean 200 months)), applied to
  both endpoints.
- Truth ``true_pfs_12m``: probability of being progression-free at 12 months (no censoring),
  marginal over the RECIST draw: sum_cat P(cat) exp(-h m_cat (12 - 1.8)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CAT = np.array(["CR", "PR", "SD", "PD", "NE"])
CAT_MULT = np.array([np.exp(-1.6), np.exp(-0.9), 1.0, np.nan])
NE_RATE = 0.02
MONTH_DAYS = 30.4375


@dataclass
class Outcomes:
    table: pd.DataFrame
    category: np.ndarray  # 0 CR, 1 PR, 2 SD, 3 PD (before NE masking)
    t1: np.ndarray  # first assessment, months
    pfs_true: np.ndarray  # uncensored progression time, months
    censor: np.ndarray  # censoring time, months


def category_probabilities(p: np.ndarray) -> np.ndarray:
    """(n, 4) probabilities of CR, PR, SD, PD given P(response)."""
    cr = p * (0.1 + 0.3 * p)
    sd = (1 - p) * (0.45 + 0.35 * p)
    return np.column_stack([cr, p - cr, sd, 1 - p - sd])


def pfs_at(months: float, p: np.ndarray, hazard: np.ndarray) -> np.ndarray:
    """True progression-free probability at ``months`` (no censoring), marginal over RECIST."""
    probs = category_probabilities(p)
    surv = np.exp(-hazard[:, None] * CAT_MULT[None, :3] * max(months - 1.8, 0.0))
    return (probs[:, :3] * surv).sum(axis=1)


def draw_outcomes(
    patient_ids: list[str], p: np.ndarray, hazard: np.ndarray, nlr: np.ndarray,
    albumin: np.ndarray, line: np.ndarray, rng: np.random.Generator,
) -> Outcomes:
    n = len(p)
    cum = np.cumsum(category_probabilities(p), axis=1)
    cat = np.minimum((cum < rng.random(n)[:, None]).sum(axis=1), 3)
    t1 = rng.uniform(1.4, 2.2, n)
    mult = np.where(cat < 3, CAT_MULT[np.minimum(cat, 2)], 1.0)
    after = rng.exponential(1.0, n) / (hazard * mult)
    pfs_true = np.where(cat == 3, t1, t1 + after)
    z_nlr = (np.log(nlr) - np.log(3.0)) / 0.5
    z_alb = (albumin - 3.9) / 0.4
    h_post = 0.07 * np.exp(0.3 * z_nlr - 0.25 * z_alb + 0.15 * (line - 1))
    os_true = pfs_true + rng.exponential(1.0, n) / h_post
    censor = np.minimum(rng.uniform(18, 60, n), rng.exponential(200.0, n))
    ne = rng.random(n) < NE_RATE
    best = np.where(ne, "NE", CAT[cat])
    responder = pd.array(np.where(cat <= 1, 1, 0), dtype="Int64")
    responder[ne] = pd.NA
    table = pd.DataFrame({
        "patient_id": patient_ids,
        "best_response": best,
        "responder": responder,
        "pfs_months": np.round(np.minimum(pfs_true, censor), 2),
        "pfs_event": (pfs_true <= censor).astype(np.int64),
        "os_months": np.round(np.minimum(os_true, censor), 2),
        "os_event": (os_true <= censor).astype(np.int64),
    })
    return Outcomes(table=table, category=cat, t1=t1, pfs_true=pfs_true, censor=censor)
