"""How good is the regimen a model would choose? Policy values against a per-regimen truth.

A response model is judged per patient on one observed regimen; choosing a regimen needs more:
the model must rank the candidates of each patient. With the simulator's counterfactual truth
(``ground_truth_regimens.tsv``) every candidate's true response probability is known, so the
model's choice can be compared with the best possible choice (oracle), with what the clinic
did (practice) and with chance. Definitions are in ``docs/regimens.md`` ("Policy metrics").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.regimens import regimen_keys

PATIENT = "patient_id"
REGIMEN = "regimen"
SCORE = "response_probability"
TRUE = "true_response_probability"
SUPPORTED = "supported"
MIN_RANKED = 3  # candidates a patient needs for the rank correlation


def policy_report(scores: pd.DataFrame, truth: pd.DataFrame,
                  assigned: pd.Series) -> dict[str, float]:
    """Mean true response probability under the oracle, the model, practice and chance.

    ``scores``: what-if predictions, columns ``patient_id, regimen, response_probability``
    and optionally ``supported`` (bool; the model may only choose supported regimens, and
    keeps the assigned one when none is). ``truth``: ``patient_id, regimen,
    true_response_probability``. ``assigned``: the regimen each patient was given, indexed by
    patient id. Regimens are matched by their drugs
    (:func:`predictor.data.regimens.regimen_key`: lower case, any order, ``B+a`` is ``a+b``);
    a row or an assigned value without a drug name (missing) is no regimen. A patient's
    candidates are the regimens in both ``scores`` and ``truth``; patients are those with
    candidates and an assigned regimen. Ties go to the assigned
    regimen, then to the alphabetically first name, so row order never matters. Every value
    here is an exact expectation, no draw.
    """
    rows = _candidates(scores, truth, assigned)
    if rows.empty:
        raise ValueError("no patient has both what-if scores and a per-regimen truth")
    own = rows.groupby(PATIENT, sort=True)["observed"].any()
    if not own.all():
        missing = own.index[~own][0]
        raise ValueError(f"the assigned regimen of patient {missing} has no score or truth row")

    by_patient = rows.groupby(PATIENT, sort=True)
    practice = rows.loc[rows["observed"]].set_index(PATIENT)[TRUE].sort_index()
    oracle = by_patient[TRUE].max()
    random = by_patient[TRUE].mean()
    model = _model_choice(rows).reindex(practice.index).fillna(practice)

    gap = float(oracle.mean() - practice.mean())
    return {
        "policy_value_oracle": float(oracle.mean()),
        "policy_value_model": float(model.mean()),
        "policy_value_practice": float(practice.mean()),
        "policy_value_random": float(random.mean()),
        "policy_gap_closed": float((model.mean() - practice.mean()) / gap) if gap > 0
        else float("nan"),
        "regimen_rank_spearman": _mean_spearman(rows),
        "n_patients": float(len(practice)),
        "mean_candidates": float(by_patient.size().mean()),
    }


def _candidates(scores: pd.DataFrame, truth: pd.DataFrame, assigned: pd.Series) -> pd.DataFrame:
    """One row per patient x candidate: score, supported, true value, observed flag."""
    for name, frame, cols in (("scores", scores, (PATIENT, REGIMEN, SCORE)),
                              ("truth", truth, (PATIENT, REGIMEN, TRUE))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {', '.join(missing)}")
    s = pd.DataFrame({
        PATIENT: scores[PATIENT].astype(str).to_numpy(),
        REGIMEN: regimen_keys(scores[REGIMEN]),
        SCORE: scores[SCORE].astype(float).to_numpy(),
        SUPPORTED: (scores[SUPPORTED].fillna(False).astype(bool).to_numpy()
                    if SUPPORTED in scores.columns else True),
    })
    t = pd.DataFrame({PATIENT: truth[PATIENT].astype(str).to_numpy(),
                      REGIMEN: regimen_keys(truth[REGIMEN]),
                      TRUE: truth[TRUE].astype(float).to_numpy()})
    s, t = s[s[REGIMEN] != ""], t[t[REGIMEN] != ""]  # no regimen: not a candidate
    for name, frame in (("scores", s), ("truth", t)):
        if frame.duplicated([PATIENT, REGIMEN]).any():
            raise ValueError(f"{name} has a duplicated patient x regimen row")
    given = pd.Series(regimen_keys(assigned), index=assigned.index.astype(str))
    given = given[given != ""]  # a patient given no regimen has no practice value
    rows = s.merge(t, on=[PATIENT, REGIMEN], how="inner")
    rows = rows[rows[PATIENT].isin(given.index)].copy()
    rows["observed"] = rows[REGIMEN].to_numpy() == given.reindex(rows[PATIENT]).to_numpy()
    return rows.reset_index(drop=True)


def _model_choice(rows: pd.DataFrame) -> pd.Series:
    """True value of the highest-scored supported candidate per patient (ties: see above)."""
    ok = rows[rows[SUPPORTED]]
    order = ok.sort_values([PATIENT, SCORE, "observed", REGIMEN],
                           ascending=[True, False, False, True], kind="mergesort")
    return order.drop_duplicates(PATIENT, keep="first").set_index(PATIENT)[TRUE]


def _mean_spearman(rows: pd.DataFrame) -> float:
    """Mean per-patient Spearman rho of scores vs truth (>= 3 candidates, neither constant)."""
    size = rows.groupby(PATIENT)[REGIMEN].transform("size")
    r = rows[size >= MIN_RANKED]
    if r.empty:
        return float("nan")
    g = r.groupby(PATIENT)
    a = g[SCORE].rank(method="average")
    b = g[TRUE].rank(method="average")
    a = a - a.groupby(r[PATIENT]).transform("mean")
    b = b - b.groupby(r[PATIENT]).transform("mean")
    parts = pd.DataFrame({PATIENT: r[PATIENT], "ab": a * b, "aa": a * a, "bb": b * b})
    sums = parts.groupby(PATIENT)[["ab", "aa", "bb"]].sum()
    denom = np.sqrt(sums["aa"] * sums["bb"])
    rho = (sums["ab"] / denom)[denom > 0]
    return float(rho.mean()) if len(rho) else float("nan")
