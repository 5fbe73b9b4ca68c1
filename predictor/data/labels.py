"""Targets from outcomes, by explicit rules: a response label is never guessed.

``ResponseRule`` says where the binary label comes from:
- ``source="responder"``: the study's own binary column (e.g. durable clinical benefit);
- ``source="best_response"``: RECIST categories, ``positive`` ones count as response, and
  ``SD`` counts too when ``sd_min_months`` is set and progression-free time reaches it
  (the "clinical benefit" convention of Chowell et al. 2022). ``NE`` is never labelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from predictor.errors import InputError


@dataclass(frozen=True)
class ResponseRule:
    source: str = "best_response"  # "best_response" | "responder"
    positive: tuple[str, ...] = ("CR", "PR")
    sd_min_months: float | None = None

    @classmethod
    def from_mapping(cls, rule: Mapping[str, Any]) -> ResponseRule:
        """From a config node or a bundle manifest's ``label_rule`` (extra keys ignored)."""
        sd = rule.get("sd_min_months")
        return cls(source=str(rule.get("source", "best_response")),
                   positive=tuple(rule["positive"] or ()) if "positive" in rule
                   else cls.positive,
                   sd_min_months=None if sd is None else float(sd))

    def describe(self) -> str:
        """The rule in words, for reports and model cards (one wording everywhere)."""
        if self.source == "responder":
            return "the cohort's own responder column"
        text = f"best overall response in {{{', '.join(self.positive)}}}"
        if self.sd_min_months is not None:
            text += f", or stable disease lasting >= {self.sd_min_months:g} months"
        return text


@dataclass(frozen=True)
class RelapseEndpoint:
    """Which time-to-event pair is the relapse target: ``pfs`` or ``os``."""

    endpoint: str = "pfs"


def response_labels(outcomes: pd.DataFrame, rule: ResponseRule) -> pd.Series:
    """Binary response label per patient (float: 1, 0 or NaN when not evaluable)."""
    if rule.source == "responder":
        if "responder" not in outcomes.columns:
            raise InputError("response rule source 'responder' but outcomes have no "
                             "'responder' column", column="responder")
        return outcomes["responder"].astype("Float64").astype(float).rename("response")
    if rule.source != "best_response":
        raise InputError(f"unknown response label source {rule.source!r} "
                         "(use 'best_response' or 'responder')")
    if "best_response" not in outcomes.columns:
        raise InputError("response rule source 'best_response' but outcomes have no "
                         "'best_response' column", column="best_response")
    bor = outcomes["best_response"].astype("string")
    label = pd.Series(np.nan, index=outcomes.index, name="response")
    evaluable = bor.notna() & (bor != "NE")
    label[evaluable] = 0.0
    label[evaluable & bor.isin(list(rule.positive))] = 1.0
    if rule.sd_min_months is not None:
        if "pfs_months" not in outcomes.columns:
            raise InputError("sd_min_months needs a 'pfs_months' column", column="pfs_months")
        durable = (bor == "SD") & (outcomes["pfs_months"].astype(float) >= rule.sd_min_months)
        label[durable.fillna(False).to_numpy()] = 1.0
    return label


DAYS_PER_MONTH = 365.25 / 12  # outcome times are in months, ctDNA days in days


def relapse_target(outcomes: pd.DataFrame, endpoint: str = "pfs",
                   landmark_day: float | None = None) -> pd.DataFrame:
    """``time`` and ``event`` columns for the endpoint; rows with a missing time are NaN.

    With ``landmark_day`` (a landmark model: inputs observed up to that day of treatment), the
    target is the landmark one (van Houwelingen 2007): only patients still event-free and
    followed at the landmark count (the others are NaN, left out like unknown outcomes), and
    time runs from the landmark. A patient who relapsed before the day the model is scored at
    is no longer a question for it, and their on-treatment inputs would carry the relapse.
    """
    if endpoint not in ("pfs", "os"):
        raise InputError(f"unknown relapse endpoint {endpoint!r} (use 'pfs' or 'os')")
    time_col, event_col = f"{endpoint}_months", f"{endpoint}_event"
    other = "os" if endpoint == "pfs" else "pfs"
    for col in (time_col, event_col):
        if col not in outcomes.columns:
            hint = (f"; the outcomes have the {other!r} endpoint (data.relapse_endpoint={other})"
                    if {f"{other}_months", f"{other}_event"} <= set(outcomes.columns) else "")
            raise InputError(f"relapse endpoint {endpoint!r} needs a {col!r} column{hint}",
                             column=col)
    time = outcomes[time_col].astype(float)
    event = outcomes[event_col].astype(float)
    if landmark_day is not None:
        if not np.isfinite(landmark_day) or landmark_day < 0:
            raise InputError(f"landmark_day must be a day >= 0, got {landmark_day!r}")
        landmark = float(landmark_day) / DAYS_PER_MONTH
        at_risk = time > landmark
        time = (time - landmark).where(at_risk)
        event = event.where(at_risk)
    return pd.DataFrame({"time": time, "event": event}, index=outcomes.index)


def describe_landmark(day: float | None) -> str:
    """The landmark clause of a relapse-endpoint description ("" without a landmark)."""
    if day is None:
        return ""
    return (f", from the landmark day {day:g} (patients event-free and followed at that day "
            "only; relapse-free probabilities are for the months after it)")
