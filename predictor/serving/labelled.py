"""A labelled local cohort as a bundle sees it: its inputs, and its targets by the bundle's rules.

Why here: ``predictor evaluate`` and ``predictor recalibrate`` both read a hospital's own
patients with the bundle's column mapping and derive the response label and the relapse
endpoint by the rules the model was trained with (stored in ``bundle.yaml``), so the numbers
measure the same thing as the training run's. Unusable outcome values (an event without a
time, a negative time) leave that patient out of that endpoint only, and are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort, outcomes_set_aside
from predictor.data.labels import ResponseRule, relapse_target, response_labels
from predictor.errors import InputError


@dataclass
class LabelledCohort:
    """Inputs, targets (aligned to ``cohort.patient_ids``) and the outcome problems found."""

    cohort: Cohort
    label: pd.Series | None          # 1 / 0 / NaN; None when the model has no response head
    time: pd.Series | None           # relapse endpoint (months from start or landmark)
    event: pd.Series | None
    problems: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_labelled(self) -> int:
        return 0 if self.label is None else int(self.label.notna().sum())


def describe_label_rule(rule: dict) -> str:
    """A bundle's stored label rule in the one wording of :meth:`ResponseRule.describe`."""
    return ResponseRule.from_mapping(rule).describe()


def read_labelled(manifest: dict, input_path: str | Path, mapping=None,
                  need_label: bool = True) -> LabelledCohort:
    """Read ``input_path`` with ``mapping`` (default: the bundle's) and derive the targets.

    Raises :class:`InputError` when the response head's label column is absent (with
    ``need_label``), when no patient has a label, or when the labels are one class only. A
    relapse endpoint whose columns are absent is skipped with a note.
    """
    from predictor.data.readers import read_cohort

    chosen = mapping if mapping is not None else manifest.get("input_mapping")
    with outcomes_set_aside() as problems:
        cohort = read_cohort(Path(input_path), mapping=chosen)
    heads = list(manifest.get("heads") or [])
    rule = dict(manifest.get("label_rule") or {})
    endpoint = str(rule.get("relapse_endpoint") or "pfs")
    evaluated = {"response"} if "response" in heads else set()
    evaluated |= {endpoint} if "relapse" in heads else set()
    outcomes = (cohort.outcomes if cohort.outcomes is not None
                else pd.DataFrame(index=cohort.patient_ids)).reindex(cohort.patient_ids)
    out = LabelledCohort(cohort=cohort, label=None, time=None, event=None,
                         problems=[p for p in problems if p["endpoint"] in evaluated])
    if "response" in heads:
        try:
            out.label = response_labels(outcomes, ResponseRule.from_mapping(rule))
        except InputError as error:
            if need_label:
                raise InputError(f"no label column: the model's response label is "
                                 f"{describe_label_rule(rule)} and the input has no "
                                 f"{error.column!r} outcome column", file=input_path,
                                 column=error.column) from None
            out.notes.append(f"response not evaluated: {error.message}")
    if "relapse" in heads:
        try:
            target = relapse_target(outcomes, endpoint, rule.get("landmark_day"))
        except InputError as error:
            out.notes.append(f"relapse not evaluated: {error.message}")
        else:
            out.time, out.event = target["time"], target["event"]
            half = target["time"].isna() ^ target["event"].isna()
            for pid in target.index[half.to_numpy()]:
                missing = "event" if pd.isna(target.loc[pid, "event"]) else "time"
                out.problems.append({"patient_id": str(pid), "endpoint": endpoint,
                                     "reason": f"{endpoint} {missing} is missing",
                                     "file": str(input_path), "line": None})
            out.time = target["time"].where(~half)
            out.event = target["event"].where(~half)
    if out.label is None and out.time is None:
        raise InputError("the input has no outcome the model predicts (no response label, no "
                         "relapse time and event), so there is nothing to evaluate",
                         file=input_path)
    if out.label is not None and need_label:
        check_two_classes(out.label, input_path)
    return out


def check_two_classes(label: pd.Series, input_path: str | Path) -> None:
    values = label.dropna().to_numpy(dtype=np.float64)
    if not len(values):
        raise InputError("no patient has a response label", file=input_path)
    classes = np.unique(values)
    if len(classes) < 2:
        kind = "responders" if classes[0] == 1 else "non-responders"
        raise InputError(f"one class only: all {len(values)} labelled patients are {kind}; "
                         "ROC AUC and calibration need both", file=input_path)
