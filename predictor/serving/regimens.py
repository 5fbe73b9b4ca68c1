"""What-if regimens: every patient scored under each candidate regimen, ranked.

Why this shape: only the mechanism feature family reads the regimen, so the patients' other
features are computed once (the plain ``predict`` pass, which also gives each patient's own,
*observed* regimen row exactly) and, per distinct candidate regimen, only the mechanism
family is computed again (:meth:`predictor.features.pipeline.FeaturePipeline.what_if`, the
same what-if rows as training's regimen CV): a what-if row is the plain row of the input
with that one patient's regimen replaced, within-cohort ranks included.

Candidates: ``"all"`` = the regimens the bundle saw given to the patient's cancer type in
training (``regimens.json``) plus the patient's own; a list = those regimens plus the patient's
own. A patient whose cancer type has no regimens in the bundle gets, under ``"all"``, their own
regimen only (one warning counts them). Names are checked against the bundle's drug knowledge
base: every drug of a ``+``-joined regimen must be known.

``supported``: the model has seen the regimen used for patients of this kind. Without a
propensity model in the bundle it means "given to the patient's cancer type in training, or
the patient's own regimen"; with one (``regimens.json`` ``propensity``) it is the propensity
model's rule (:mod:`predictor.models.propensity`), and a ``propensity`` column is added.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictor.data.regimens import (
    CANCER_TYPE,
    REGIMEN,
    regimen_drugs,
    regimen_key,
    regimen_keys,
)
from predictor.errors import InputError
from predictor.features.mechanism import describe_mechanisms

log = logging.getLogger(__name__)

ALL = "all"
MECHANISM = "mechanism"
PATIENT_ID = "patient_id"
OBSERVED = "observed"
RANK = "rank"
SUPPORTED = "supported"
PROPENSITY = "propensity"
EXPLANATION = "mechanism_explanation"


# ---------------------------------------------------------------------------- names
def parse_regimens_option(value: str) -> str | list[str]:
    """``--regimens``: ``all``, ``"a;b;c"``, or a file with one regimen per line (``#``
    comments and blank lines skipped). A value that names an existing file is read as one."""
    text = value.strip()
    if text.lower() == ALL:
        return ALL
    path = Path(text).expanduser()
    if path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read the regimen file ({type(error).__name__})",
                             file=path) from None
        names = []
        for number, line in enumerate(lines, start=1):
            name = line.split("#", 1)[0].strip()
            if name:
                names.append((name, number))
        if not names:
            raise InputError("the regimen file lists no regimen", file=path)
        return _FileNames(names, path)
    names = [n.strip() for n in text.split(";")]
    if not text or any(not n for n in names):
        raise InputError(f"--regimens: an empty regimen name in {value!r} (use 'all', "
                         "'a;b;c' or a file with one regimen per line)")
    return names


class _FileNames(list):
    """Regimen names read from a file, remembering their line numbers for error messages."""

    def __init__(self, names: list[tuple[str, int]], path: Path) -> None:
        super().__init__(n for n, _ in names)
        self.lines = [line for _, line in names]
        self.path = path


def check_regimen_names(names: Sequence[str], drugs: dict) -> list[str]:
    """``names`` without duplicates (by :func:`regimen_key`); an :class:`InputError` naming
    the first regimen with a drug the knowledge base does not know."""
    out: list[str] = []
    seen: set[str] = set()
    lines = getattr(names, "lines", None)
    for i, name in enumerate(names):
        name = str(name).strip()
        parsed = regimen_drugs(name)
        unknown = [d for d in parsed if d not in drugs]
        if not parsed or unknown:
            what = (f"drug {unknown[0]!r} is not in the model's drug knowledge base "
                    "(conf/knowledge/drugs.yaml)" if unknown else "no drug named")
            raise InputError(f"unknown regimen {name!r}: {what}",
                             file=getattr(names, "path", None),
                             line=lines[i] if lines else None)
        key = regimen_key(name)
        if key not in seen:
            seen.add(key)
            out.append(name)
    return out


# ---------------------------------------------------------------------------- candidates
def mechanism_family(predictor: Any) -> Any:
    """The bundle's fitted mechanism family; exit 2 when the model does not use it."""
    step = predictor.pipeline.family(MECHANISM) if hasattr(predictor.pipeline, "family") else None
    used = {n for h in predictor.heads.values() for n in h.feature_names}
    if step is None or not used & set(getattr(step, "feature_names_", [])):
        raise InputError("this model was trained without drug-mechanism features "
                         "(features.families.mechanism), so its predictions do not depend on "
                         "the regimen: what-if regimens need a model trained with them")
    return step


def regimen_list(predictor: Any) -> dict:
    """The bundle's ``regimens.json`` content; exit 2 for a bundle written before it existed."""
    if predictor.regimens is None:
        raise InputError("this model bundle has no regimen list (regimens.json; it was written "
                         "before what-if regimens existed): retrain it to use --regimens")
    return predictor.regimens


def check_bundle(predictor: Any) -> Any:
    """Exit 2 unless the bundle can score what-if regimens; its mechanism family."""
    regimen_list(predictor)
    return mechanism_family(predictor)


def candidate_pairs(clinical: pd.DataFrame, regimens: str | Sequence[str],
                    by_cancer_type: dict[str, list[str]], drugs: dict
                    ) -> tuple[pd.DataFrame, int]:
    """One row per patient x candidate regimen: ``position`` (the patient's row in
    ``clinical``), ``regimen``, ``observed``, ``in_training`` (given to the patient's cancer
    type in training); and the number of patients whose cancer type has no known regimen."""
    n = len(clinical)
    own = (clinical[REGIMEN].astype("string") if REGIMEN in clinical.columns
           else pd.Series(pd.NA, index=clinical.index, dtype="string"))
    ctype = (clinical[CANCER_TYPE].astype("string") if CANCER_TYPE in clinical.columns
             else pd.Series(pd.NA, index=clinical.index, dtype="string"))
    options_of = {ct: [r for r in regs if _known(r, drugs)] for ct, regs in by_cancer_type.items()}
    keys_of = {ct: {regimen_key(r) for r in regs} for ct, regs in by_cancer_type.items()}
    listed = None if isinstance(regimens, str) else list(regimens)
    positions, names, observed, in_training = [], [], [], []
    no_known = 0
    own_values = own.to_numpy(dtype=object, na_value=None)
    type_values = ctype.to_numpy(dtype=object, na_value=None)
    key_cache: dict[str, str] = {}

    def key(name: str) -> str:
        if name not in key_cache:
            key_cache[name] = regimen_key(name)
        return key_cache[name]

    for i in range(n):
        mine, ct = own_values[i], type_values[i]
        trained = keys_of.get(ct, set()) if ct is not None else set()
        if listed is None:
            options = options_of.get(ct, []) if ct is not None else []
            if not options:
                no_known += 1
        else:
            options = listed
        seen: set[str] = set()
        mine_key = key(mine) if mine is not None else None
        if mine is not None and mine_key:
            seen.add(mine_key)
            positions.append(i)
            names.append(mine)
            observed.append(True)
            in_training.append(mine_key in trained)
        for name in options:
            k = key(name)
            if k in seen:
                continue
            seen.add(k)
            positions.append(i)
            names.append(name)
            observed.append(False)
            in_training.append(k in trained)
    pairs = pd.DataFrame({"position": np.asarray(positions, dtype=np.int64),
                          REGIMEN: pd.array(names, dtype=object),
                          OBSERVED: np.asarray(observed, dtype=bool),
                          "in_training": np.asarray(in_training, dtype=bool)})
    return pairs, no_known


def _known(regimen: str, drugs: dict) -> bool:
    parsed = regimen_drugs(regimen)
    return bool(parsed) and all(d in drugs for d in parsed)


def resolve_regimens(regimens: str | Sequence[str], drugs: dict) -> str | list[str]:
    """``"all"`` or the checked list of names (a string other than ``all`` is read as the
    ``--regimens`` option: ``"a;b"`` or a file)."""
    if isinstance(regimens, str):
        regimens = parse_regimens_option(regimens)
        if isinstance(regimens, str):
            return ALL
    if not regimens:
        raise InputError("--regimens: no regimen given")
    return check_regimen_names(regimens, drugs)


# ---------------------------------------------------------------------------- scoring
def predict_regimens(predictor: Any, cohort: Any, regimens: str | Sequence[str] = ALL,
                     explain: int = 0, warn: bool = True) -> tuple[pd.DataFrame, int]:
    """What-if predictions (see the module docstring) and the number of patients whose cancer
    type has no known regimen (``warn``: log it here; a streaming caller sums and logs once)."""
    if explain < 0:
        raise InputError(f"--explain must be 0 or more, got {explain}")
    step = check_bundle(predictor)
    document = predictor.regimens
    drugs = step.drugs or {}
    regimens = resolve_regimens(regimens, drugs)
    cohort = cohort.without_outcomes()
    predictor._warn_missing_inputs(cohort)
    features = predictor.pipeline.what_if(cohort)  # the plain pass, and what-if rows from it
    X = features.features
    base = predictor.predict_frame(X, explain=explain)  # the observed rows, as plain predict
    pairs, no_known = candidate_pairs(cohort.clinical, regimens,
                                      document.get("by_cancer_type") or {}, drugs)
    if warn and no_known:
        warn_no_known(no_known)
    frames = []
    observed = pairs[pairs[OBSERVED]]
    if len(observed):
        pos = observed["position"].to_numpy()
        frame = base.iloc[pos].reset_index(drop=True)
        if explain:
            frame[EXPLANATION] = describe_mechanisms(step, cohort)[pos]
        frames.append((observed, frame))
    whatif = pairs[~pairs[OBSERVED]]
    for name, group in whatif.groupby(REGIMEN, sort=True):
        pos = group["position"].to_numpy()
        Xr = features.under(name, pos)
        frame = predictor.predict_frame(Xr, explain=explain, check_inputs=False)
        if explain:
            frame[EXPLANATION] = describe_mechanisms(step, features.cohort_under(name, pos))[pos]
        frames.append((group, frame))
    out = assemble(predictor, frames)
    if document.get("propensity") and len(out):
        add_propensity(out, predictor, X, cohort, positions_of(out, cohort))
    return out, no_known


def warn_no_known(count: int) -> None:
    log.warning("%d patient(s) of a cancer type with no regimen in the model's training list "
                "(or no cancer type): scored for their own regimen only", count)


def positions_of(out: pd.DataFrame, cohort: Any) -> np.ndarray:
    """Each output row's patient position in ``cohort``."""
    index = pd.Index(cohort.patient_ids.astype(str))
    return index.get_indexer(out[PATIENT_ID].astype(str))


def add_propensity(out: pd.DataFrame, predictor: Any, X: pd.DataFrame, cohort: Any,
                   positions: np.ndarray) -> None:
    """``propensity`` and ``supported`` from the bundle's propensity model (in place): its
    probability of the row's regimen for the patient (NaN for a regimen training never saw)
    and its ``supported`` rule (seen for the cancer type and propensity >= its floor)."""
    model = propensity_model(predictor)
    proba = model.predict_proba(X)
    ctype = (cohort.clinical[CANCER_TYPE] if CANCER_TYPE in cohort.clinical.columns
             else pd.Series(pd.NA, index=cohort.clinical.index))
    supported = model.supported(proba, ctype).to_numpy()
    column = {regimen_key(c): j for j, c in enumerate(proba.columns)}
    j = np.array([column.get(k, -1) for k in regimen_keys(out[REGIMEN])], dtype=np.int64)
    known = j >= 0
    rows, cols = positions, np.maximum(j, 0)
    out[SUPPORTED] = known & supported[rows, cols]
    out.insert(out.columns.get_loc(SUPPORTED) + 1, PROPENSITY,
               np.where(known, proba.to_numpy()[rows, cols], np.nan))


def propensity_model(predictor: Any) -> Any:
    """The bundle's :class:`~predictor.models.propensity.RegimenPropensity` (built once per
    predictor from ``regimens.json``)."""
    from predictor.models.propensity import RegimenPropensity

    if predictor._propensity is None:
        try:
            predictor._propensity = RegimenPropensity.from_state(predictor.regimens["propensity"])
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"the bundle's regimen propensity cannot be read ({error})",
                             file="regimens.json") from None
    return predictor._propensity


def assemble(predictor: Any, frames: list[tuple[pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """The output frame: patients in input order, their regimens by rank."""
    head_cols = [c for c in predictor.output_columns if c != PATIENT_ID]
    if not frames:
        empty = pd.DataFrame({PATIENT_ID: pd.Series(dtype=object),
                              REGIMEN: pd.Series(dtype=object),
                              OBSERVED: pd.Series(dtype=bool)})
        for c in head_cols:
            empty[c] = pd.Series(dtype=float)
        empty[RANK] = pd.Series(dtype=np.int64)
        empty[SUPPORTED] = pd.Series(dtype=bool)
        return empty
    pairs = pd.concat([p for p, _ in frames], ignore_index=True)
    preds = pd.concat([f for _, f in frames], ignore_index=True)
    out = pd.DataFrame({PATIENT_ID: preds[PATIENT_ID].to_numpy(),
                        REGIMEN: pairs[REGIMEN].to_numpy(),
                        OBSERVED: pairs[OBSERVED].to_numpy()})
    for c in preds.columns:
        if c != PATIENT_ID:
            out[c] = preds[c].to_numpy()
    score, ascending = _rank_score(out)
    # Regimens with the same mechanism features get the same score: ties (to 1e-10, so that
    # floating-point noise of a backend or a batch size cannot reorder them) go by name.
    score = np.round(score, 10)
    order = np.lexsort((pairs[REGIMEN].astype(str).to_numpy(),
                        score if ascending else -score,
                        pairs["position"].to_numpy()))
    out = out.iloc[order].reset_index(drop=True)
    positions = pairs["position"].to_numpy()[order]
    rank = pd.Series(positions).groupby(positions).cumcount().to_numpy() + 1
    supported = pairs["in_training"].to_numpy()[order] | out[OBSERVED].to_numpy()
    out.insert(3 + len(head_cols), RANK, rank.astype(np.int64))
    out.insert(4 + len(head_cols), SUPPORTED, supported)
    return out


def _rank_score(out: pd.DataFrame) -> tuple[np.ndarray, bool]:
    """What ``rank`` orders by: response probability (highest first), else relapse risk
    (lowest first) for a relapse-only model."""
    if "response_probability" in out.columns:
        return out["response_probability"].to_numpy(dtype=float), False
    return out["relapse_risk"].to_numpy(dtype=float), True
