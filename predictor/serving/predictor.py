"""``Predictor``: features -> raw scores (compiled or LightGBM) -> probabilities and survival.

Why one class: the raw score is the only step that differs between backends; calibration,
thresholding and the Breslow survival transform are the heads' own (shared) code, so
``--backend compiled`` and ``--backend lightgbm`` agree to floating-point noise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictor.errors import InputError
from predictor.models.heads import HEADS, RELAPSE, RESPONSE
from predictor.serving.compiled import RawScorer, prepare_matrix
from predictor.serving.inputs import absent_inputs, absent_message
from predictor.serving.shift import ShiftMonitor

log = logging.getLogger(__name__)

PATIENT_ID = "patient_id"


@dataclass
class Head:
    """One fitted model head with the scorer that computes its raw scores."""

    name: str
    model: Any  # a HEADS model class (duck-typed: see HeadKind.predict_columns)
    scorer: RawScorer
    feature_names: list[str]


@dataclass
class Predictor:
    """Scores cohorts with a loaded bundle; build it with :func:`~.bundle.load_bundle`."""

    pipeline: Any  # FeaturePipeline: transform(cohort) -> float64 DataFrame by patient_id
    heads: dict[str, Head]  # by name, in HEADS order (the order of the output columns)
    threshold: float | None  # a binary head's yes/no call
    horizons: list[float]    # a survival head's horizons (months)
    manifest: dict = field(default_factory=dict)
    bundle_dir: Path | None = None
    n_jobs: int | None = None
    shift: ShiftMonitor | None = None  # the training profile's input check (None: no profile)
    regimens: dict | None = None  # regimens.json (what-if candidates); None: an older bundle
    _warned_missing: set[str] = field(default_factory=set, repr=False)
    _propensity: Any = field(default=None, repr=False)  # regimens.json's, built on first use

    @property
    def response(self) -> Head | None:
        return self.heads.get(RESPONSE)

    @property
    def relapse(self) -> Head | None:
        return self.heads.get(RELAPSE)

    @property
    def backend(self) -> str:
        backends = {h.scorer.backend for h in self.heads.values()}
        return backends.pop() if len(backends) == 1 else "mixed"

    @property
    def output_columns(self) -> list[str]:
        """Prediction columns (without ``explain`` columns), in output order."""
        cols = [PATIENT_ID]
        for name in self.heads:
            cols += HEADS[name].output_columns(self.horizons)
        return cols

    # ------------------------------------------------------------------ predict
    def predict(self, cohort, explain: int = 0) -> pd.DataFrame:
        """One row per patient of ``cohort`` (outcomes, if any, are never looked at)."""
        self._warn_missing_inputs(cohort)
        features = self.pipeline.transform(cohort.without_outcomes())
        return self.predict_frame(features, explain=explain)

    def predict_regimens(self, cohort, regimens: str | Sequence[str] = "all",
                         explain: int = 0) -> pd.DataFrame:
        """What-if predictions: one row per patient x candidate regimen.

        Columns ``patient_id, regimen, observed, <predict's columns>, rank, supported`` (then
        the ``explain`` columns). ``regimens``: ``"all"`` (the regimens training saw for the
        patient's cancer type, plus the patient's own) or a list of ``+``-joined regimen names
        (plus the patient's own). ``rank`` 1 = highest response probability of the patient.
        See :mod:`predictor.serving.regimens`.
        """
        from predictor.serving.regimens import predict_regimens

        frame, _ = predict_regimens(self, cohort, regimens, explain=explain)
        return frame

    def predict_frame(self, X: pd.DataFrame, explain: int = 0,
                      check_inputs: bool = True) -> pd.DataFrame:
        """Predictions from an already-built feature frame indexed by ``patient_id``.

        ``check_inputs=False`` skips the missing-feature and input-shift warnings (what-if
        rows: the same patients, already checked, under another regimen)."""
        if explain < 0:
            raise InputError(f"--explain must be 0 or more, got {explain}")
        ids = pd.Index(X.index, name=PATIENT_ID).astype("string")
        out: dict[str, Any] = {PATIENT_ID: ids.to_numpy()}
        if check_inputs:
            self._warn_missing(X)
        if check_inputs and self.shift is not None:
            message = self.shift.check(X)
            if message:
                log.warning("%s", message)
        matrices: dict[tuple[str, ...], np.ndarray] = {}  # heads usually share their features
        heads = list(self.heads.values())
        snap = any(getattr(h.scorer, "snap", False) for h in heads)

        def matrix_for(head: Head) -> np.ndarray:
            key = tuple(head.feature_names)
            if key not in matrices:
                matrices[key] = prepare_matrix(model_matrix(X, key), snap=snap)
            return matrices[key]

        for head in heads:
            matrix = matrix_for(head)
            raw = head.scorer.raw_score(matrix, n_jobs=self.n_jobs, prepared=True)
            out.update(HEADS[head.name].predict_columns(
                head.model, raw, matrix, threshold=self.threshold, horizons=self.horizons))
        frame = pd.DataFrame(out)
        if explain:
            explained = [self.explain_frame(X, explain, matrix_for(head), head=head.name)
                         for head in heads]
            frame = pd.concat([frame, *explained], axis=1)
        return frame

    def explain_frame(self, X: pd.DataFrame, k: int, matrix: np.ndarray | None = None,
                      head: str = "response") -> pd.DataFrame:
        """Top-``k`` features by |contribution| to a head's raw score: the response log-odds
        (columns ``top<j>_feature``/``top<j>_contribution``) or the relapse log relative hazard
        (``relapse_top<j>_...``; positive = earlier relapse). Contributions and bias sum to the
        raw score."""
        chosen = self.heads.get(head)
        if chosen is None:
            raise InputError(f"--explain: this bundle has no {head} head")
        names = chosen.feature_names
        if matrix is None:
            matrix = model_matrix(X, names)
        contrib = np.asarray(chosen.model.contribution_matrix(matrix))
        contrib = contrib[:, : len(names)]  # the last column is the expected value (bias)
        k = min(k, len(names))
        order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :k]
        rows = np.arange(len(matrix))[:, None]
        top_values = contrib[rows, order]
        name_arr = np.asarray(names, dtype=object)
        prefix = "" if head == RESPONSE else f"{head}_"  # response: the columns' first name
        cols: dict[str, Any] = {}
        for j in range(k):
            cols[f"{prefix}top{j + 1}_feature"] = name_arr[order[:, j]]
            cols[f"{prefix}top{j + 1}_contribution"] = top_values[:, j]
        return pd.DataFrame(cols)

    def input_findings(self, cohort) -> list[str]:
        """What predicting ``cohort`` would warn about (absent inputs, input shift), computed
        without predicting and without touching this predictor's run state
        (``predictor validate --model``)."""
        findings = []
        described, features = absent_inputs(cohort, self.manifest.get("expected_inputs") or {})
        if described:
            findings.append(absent_message(described))
        if self.shift is not None:
            monitor = ShiftMonitor(self.shift.profile, skip=features)
            message = monitor.check(self.pipeline.transform(cohort.without_outcomes()))
            if message:
                findings.append(message)
        return findings

    # ------------------------------------------------------------------ helpers
    def _warn_missing_inputs(self, cohort) -> None:
        """One warning per run for input tables/columns the model's features depend on; their
        features are left out of the shift check (this warning covers them)."""
        expected = self.manifest.get("expected_inputs")
        if not expected:
            return
        described, features = absent_inputs(cohort, expected)
        if self.shift is not None:
            self.shift.skip.update(features)
        missing = [m for m in described if m not in self._warned_missing]
        if missing:
            self._warned_missing.update(missing)
            log.warning("%s", absent_message(missing))

    def _warn_missing(self, X: pd.DataFrame) -> None:
        """One warning per run for the model features absent from the input (set to NaN)."""
        needed = list(dict.fromkeys(n for h in self.heads.values() for n in h.feature_names))
        present = set(map(str, X.columns))
        missing = [n for n in needed if n not in present and n not in self._warned_missing]
        if missing:
            self._warned_missing.update(missing)
            log.warning("%d model feature(s) missing from the input, predicted as missing "
                        "(NaN): %s", len(missing), ", ".join(missing))


def model_matrix(X: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """The model's columns of ``X`` (absent ones NaN) as a C-ordered float64 matrix."""
    names = list(names)
    frame = X
    if [str(c) for c in X.columns] != names:
        frame = X.set_axis([str(c) for c in X.columns], axis=1).reindex(columns=names)
    try:
        if all(dtype == np.float64 for dtype in frame.dtypes):
            values = frame.to_numpy()  # one float block: a view, no copy
        else:
            values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise InputError(f"features are not numeric ({error})") from None
    return np.ascontiguousarray(values, dtype=np.float64)
