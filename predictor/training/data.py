"""The ``data`` config group as an object: read the cohort, split off the test part, targets.

:class:`CohortData` is built from ``cfg.data`` by ``_target_`` (like a Lightning data module):
its parameters are the group's keys. ``load`` gives the training part, the held-out test part
(``test_path`` or ``test_fraction``) and the simulated truth; ``targets`` derives the labels by
the explicit rule (``response_rule``) and the relapse endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictor import resources
from predictor.data.cohort import Cohort
from predictor.data.labels import ResponseRule, relapse_target, response_labels
from predictor.errors import InputError
from predictor.evaluation.harness import Targets

log = logging.getLogger(__name__)


@dataclass
class TrainingData:
    """The training part, the held-out test part (or None) and the simulated truth (or None)."""

    full: Cohort
    train: Cohort
    test: Cohort | None
    truth: pd.DataFrame | None
    mapping: Any
    test_from_file: bool = False
    # The simulator's per-regimen truth (``ground_truth_regimens.tsv`` beside the truth file, or
    # simulated in memory): rows patient x candidate regimen, for all patients; None otherwise.
    regimen_truth: pd.DataFrame | None = None

    def separate_test(self) -> bool:
        """Whether the test cohort was read from its own file (``data.test_path``)."""
        return self.test is not None and self.test_from_file

    def all_patient_ids(self) -> pd.Index:
        ids = self.full.patient_ids
        return ids.append(self.test.patient_ids) if self.separate_test() else ids

    def extra_tags(self) -> dict[str, str]:
        return {"test_data_fingerprint": self.test.fingerprint()} if self.separate_test() \
            else {}


def resolve_path(path: str | Path | None) -> Path | None:
    """A config path: absolute as given, else from the working directory when it exists there,
    else from the repository (or packaged resources); see :func:`resources.resolve_user_path`."""
    if path in (None, ""):
        return None
    return resources.resolve_user_path(str(path))


def cohort_path(path: str | Path | None) -> Path | None:
    """``data.path`` resolved; a missing demo cohort (not in the wheel) says how to write it."""
    resolved = resolve_path(path)
    if resolved is not None and not resolved.exists() and resources.is_demo_cohort(path):
        raise InputError("no such folder (an installed package does not ship the demo cohort): "
                         f"write it with `{resources.DEMO_COMMAND}` or set data.path=YOUR_COHORT",
                         file=resolved)
    return resolved


def cohort_paths(path: Any) -> Path | list[Path] | None:
    """``data.path`` resolved: one path, or a list of paths whose studies are pooled (each
    patient's study id in the ``cohort`` column; ``data.cohort_column: cohort`` then makes CV
    leave-one-cohort-out)."""
    if isinstance(path, str | Path) or path is None:
        return cohort_path(path)
    paths = [cohort_path(p) for p in path]
    if not paths or any(p is None for p in paths):
        raise InputError("data.path lists no study, or an empty entry")
    return paths  # type: ignore[return-value]


class CohortData:
    """Where the cohort comes from and how its targets are derived (the ``data`` group)."""

    def __init__(self, path: str | list[str] | None = None, mapping: str | Mapping | None = None,
                 response_rule: Mapping[str, Any] | None = None, relapse_endpoint: str = "pfs",
                 landmark_day: float | None = None, test_fraction: float = 0.0,
                 test_path: str | None = None, cohort_column: str | None = None,
                 truth_file: str | None = None, stratify_column: str = "cancer_type",
                 robustness_groups: Mapping[str, list[str]] | None = None,
                 simulate: Mapping[str, int] | None = None,
                 drop_incomplete_outcomes: bool = False) -> None:
        self.path = path
        self.drop_incomplete_outcomes = bool(drop_incomplete_outcomes)
        self.mapping = mapping
        self.response_rule = ResponseRule.from_mapping(response_rule or {})
        self.relapse_endpoint = str(relapse_endpoint)
        self.landmark_day = None if landmark_day is None else float(landmark_day)
        self.test_fraction = float(test_fraction or 0.0)
        self.test_path = test_path
        self.cohort_column = cohort_column
        self.truth_file = truth_file
        self.stratify_column = stratify_column or "cancer_type"
        self.robustness_groups = dict(robustness_groups or {})
        self.simulate = simulate

    # ------------------------------------------------------------------ reading
    def mapping_arg(self) -> Path | dict | None:
        """The column mapping as the readers take it: a resolved YAML path or a plain dict."""
        if isinstance(self.mapping, str):
            return resolve_path(self.mapping)
        return None if self.mapping is None else dict(self.mapping)

    def check_paths(self) -> None:
        """Fail in one line before anything is created (tracking store, experiment) when
        ``data.path`` or ``data.test_path`` is unset or does not exist."""
        if not (self.simulate and self.path in (None, "")):
            paths = cohort_paths(self.path)
            if paths is None:
                raise InputError("data.path is not set (a cBioPortal folder or a flat table, "
                                 "or a list of them to pool)")
            for path in [paths] if isinstance(paths, Path) else paths:
                if not path.exists():
                    raise InputError("no such file or folder (data.path)", file=path)
        test_path = resolve_path(self.test_path)
        if test_path is not None and not test_path.exists():
            raise InputError("no such file or folder (data.test_path)", file=test_path)

    def read(self, path: Path | list[Path], mapping: Any) -> Cohort:
        """One cohort; with ``drop_incomplete_outcomes`` unusable outcome values (an event
        without a time, a negative time, a response code outside the schema) are blanked for
        that endpoint and counted in one warning, instead of failing the run."""
        from predictor.data.cohort import outcomes_set_aside
        from predictor.data.readers import read_cohort

        if not self.drop_incomplete_outcomes:
            return read_cohort(path, mapping=mapping)
        with outcomes_set_aside() as found:
            cohort = read_cohort(path, mapping=mapping)
        if found:
            patients = len({r["patient_id"] for r in found})
            reasons = sorted({r["reason"] for r in found})
            log.warning("data.drop_incomplete_outcomes: %d outcome value(s) of %d patient(s) "
                        "set aside (%s)", len(found), patients, "; ".join(reasons[:3]))
        cohort.meta["outcomes_set_aside"] = len(found)
        return cohort

    def load(self, seed: int, heads: Mapping[str, bool] | None = None) -> TrainingData:
        """Read (or simulate) the cohort and split off the held-out test part."""
        from predictor.data.truth import indexed_truth, read_regimen_truth, read_truth

        mapping = self.mapping_arg()
        truth = regimen_truth = None
        if self.simulate and self.path in (None, ""):
            from predictor.data.simulator import simulate_cohort, simulate_regimen_truth

            n, sim_seed = int(self.simulate["n_patients"]), int(self.simulate["seed"])
            cohort, truth = simulate_cohort(n, seed=sim_seed)
            truth = indexed_truth(truth)
            regimen_truth = simulate_regimen_truth(n, sim_seed)
        else:
            path = cohort_paths(self.path)
            if path is None:
                raise InputError("data.path is not set (a cBioPortal folder or a flat table, or a "
                                 "list of them to pool)")
            cohort = self.read(path, mapping)
        truth_path = resolve_path(self.truth_file)
        if truth_path is not None:
            truth = read_truth(truth_path)
            from predictor.data.simulator.study import REGIMEN_TRUTH_FILE

            beside = truth_path.parent / REGIMEN_TRUTH_FILE
            if beside.is_file():
                regimen_truth = read_regimen_truth(beside)
        test_path = resolve_path(self.test_path)
        if test_path is not None:
            test = self.read(test_path, mapping)
            overlap = test.patient_ids.intersection(cohort.patient_ids)
            if len(overlap):  # row ids restart in each file of some studies (e.g. Chowell's)
                log.warning("%d patient id(s) appear in both the training and the test file; "
                            "if they are the same patients, the test set is not held out",
                            len(overlap))
            return TrainingData(cohort, cohort, test, truth, mapping, test_from_file=True,
                                regimen_truth=regimen_truth)
        if self.test_fraction <= 0:
            return TrainingData(cohort, cohort, None, truth, mapping,
                                regimen_truth=regimen_truth)
        from predictor.evaluation.splits import train_test_split_stratified

        targets = self.targets(cohort, heads)
        train_idx, test_idx = train_test_split_stratified(
            targets.response.to_numpy(), targets.groups.to_numpy(),
            test_fraction=self.test_fraction, seed=seed)
        ids = cohort.patient_ids
        return TrainingData(cohort, cohort.subset(ids[train_idx]), cohort.subset(ids[test_idx]),
                            truth, mapping, regimen_truth=regimen_truth)

    # ------------------------------------------------------------------ targets
    def targets(self, cohort: Cohort, heads: Mapping[str, bool] | None = None) -> Targets:
        """Response label, relapse time/event and strata group of every patient of ``cohort``.

        The target of a head switched off in ``heads`` is all NaN and its outcome columns are
        not needed, so a cohort with only a response label trains with ``heads.relapse=false``
        (and one with only PFS with ``heads.response=false``).
        """
        if cohort.outcomes is None:
            raise InputError("the training cohort has no outcomes (no response or relapse "
                             "columns)")
        heads = heads or {}
        outcomes = cohort.outcomes.reindex(cohort.patient_ids)
        nan = pd.Series(np.nan, index=outcomes.index)
        y = nan.rename("response")
        if heads.get("response", True):
            y = _needed(lambda: response_labels(outcomes, self.response_rule), "response",
                        outcomes)
        rt = pd.DataFrame({"time": nan, "event": nan})
        if heads.get("relapse", True):
            rt = _needed(lambda: relapse_target(outcomes, self.relapse_endpoint,
                                                self.landmark_day), "relapse", outcomes)
        column = self.stratify_column
        if column not in cohort.clinical.columns:
            raise InputError(f"stratify column {column!r} is not a clinical column",
                             column=column)
        groups = cohort.clinical[column].astype("string").fillna("<missing>").astype(str)
        clinical = cohort.clinical.reindex(cohort.patient_ids)
        inputs = {name: clinical[name].astype("string") if name in clinical.columns else None
                  for name in ("regimen", "cancer_type")}
        return Targets(response=y.astype(float), time=rt["time"], event=rt["event"],
                       groups=groups, **inputs)

    def cohort_groups(self, train: Cohort) -> pd.Series | None:
        """The source-cohort column for leave-one-cohort-out CV (``data.cohort_column``)."""
        column = self.cohort_column
        if not column:
            return None
        if column not in train.clinical.columns:
            raise InputError(f"data.cohort_column {column!r} is not a clinical column",
                             column=str(column))
        return train.clinical[column].astype("string")

    def label_rule(self) -> dict[str, Any]:
        """The label rule a bundle stores (response rule, endpoint, landmark)."""
        rule = self.response_rule
        return {"source": rule.source, "positive": list(rule.positive),
                "sd_min_months": rule.sd_min_months, "relapse_endpoint": self.relapse_endpoint,
                "landmark_day": self.landmark_day}


def _needed(make: Callable[[], Any], head: str, outcomes: pd.DataFrame) -> Any:
    """A head's target; an outcome column the cohort lacks says how to train without that
    head (other errors, e.g. an unknown endpoint, are raised as they are)."""
    try:
        return make()
    except InputError as error:
        if error.column is None or error.column in outcomes.columns:
            raise
        raise InputError(f"{error.message} (a cohort without it can train the other head "
                         f"alone: heads.{head}=false)", file=error.file, line=error.line,
                         column=error.column) from None
