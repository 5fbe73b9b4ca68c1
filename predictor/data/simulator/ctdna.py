"""Serial ctDNA: tumour fraction that falls on response and rises before clinical progression.

Schedule: days 0, 21, 42, 84, 168, then every 84 days, while the patient is progression-free
and followed (day <= min(progression, censoring)).

True tumour fraction, with tf0 ~ LogNormal(log 0.03, 1) clipped to [0.0005, 0.6]:
- response kinetics: level(t) = nadir + (1 - nadir) exp(-t / 10 d), median nadir 0.08 (CR),
  0.25 (PR), 0.6 (SD), x LogNormal(0, 1.0) per patient (capped at 1): ctDNA shedding is only
  loosely tied to radiological shrinkage, so early ctDNA change predicts response well but not
  perfectly (AUC ~0.85 for the day-42 fold change, as in molecular-response studies);
- molecular relapse starts a lead time L ~ U(30, 90) days (1-3 months) before clinical
  progression T and grows exponentially to 1.2 x baseline at T:
  tf(t) = tf0 level(t) exp(r max(0, t - (T - L))),  r = log(1.2 / level(T - L)) / L;
- PD at first assessment: tf(t) = tf0 exp(t log(1 + g) / T), g = 0.4 x LogNormal(0, 0.8).
Measured = true x LogNormal(0, 0.25); below the 0.001 detection limit it reads 0.
mean_vaf = measured / 2 x LogNormal(0, 0.15) (heterozygous clonal variants).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.simulator.outcomes import MONTH_DAYS, Outcomes

SCHEDULE = np.array([0, 21, 42, 84, *range(168, 1827, 84)], dtype=np.float64)
NADIR = np.array([0.08, 0.25, 0.6, 1.0])  # median nadir / baseline for CR, PR, SD (PD unused)
PD_GROWTH = 0.4  # median fractional rise of ctDNA by progression at the first scan
PD_GROWTH_SD = 0.8
SHEDDING_SD = 1.0  # patient-to-patient spread of log nadir: shedding differs from shrinkage
LOD = 0.001


def draw_ctdna(patient_ids: list[str], out: Outcomes, rng: np.random.Generator) -> pd.DataFrame:
    """The long ctDNA table (patient_id, day, tumor_fraction, mean_vaf)."""
    n = len(patient_ids)
    tf0 = np.clip(np.exp(np.log(0.03) + rng.standard_normal(n)), 0.0005, 0.6)
    nadir = np.minimum(NADIR[out.category] * np.exp(SHEDDING_SD * rng.standard_normal(n)), 1.0)
    t_prog = out.pfs_true * MONTH_DAYS
    lead = rng.uniform(30, 90, n)
    t_mol = np.maximum(t_prog - lead, 0.0)
    span = np.maximum(t_prog - t_mol, 1.0)

    def level(t: np.ndarray) -> np.ndarray:
        return nadir[:, None] + (1 - nadir[:, None]) * np.exp(-t / 10.0)

    days = SCHEDULE[None, :]
    r = np.log(1.2 / level(t_mol[:, None])[:, 0]) / span
    tf = tf0[:, None] * level(days) * np.exp(r[:, None] * np.maximum(0, days - t_mol[:, None]))
    pd_growth = PD_GROWTH * np.exp(PD_GROWTH_SD * rng.standard_normal(n))
    pd_rate = np.log1p(pd_growth) / np.maximum(t_prog, 1.0)
    tf_pd = tf0[:, None] * np.exp(pd_rate[:, None] * days)
    tf = np.where((out.category == 3)[:, None], tf_pd, tf)

    end = np.minimum(out.pfs_true, out.censor) * MONTH_DAYS
    mask = days <= end[:, None]
    measured = tf * np.exp(0.25 * rng.standard_normal(tf.shape))
    measured = np.where(measured < LOD, 0.0, np.minimum(measured, 0.95))
    vaf = np.minimum(measured / 2 * np.exp(0.15 * rng.standard_normal(tf.shape)), 0.95)
    pid = np.repeat(np.arange(n), len(SCHEDULE)).reshape(n, -1)[mask]
    return pd.DataFrame({
        "patient_id": np.asarray(patient_ids, dtype=object)[pid],
        "day": np.broadcast_to(days, tf.shape)[mask],
        "tumor_fraction": measured[mask].round(5),
        "mean_vaf": vaf[mask].round(5),
    })
