"""The base of every feature family and the JSON state helpers that replace pickling.

A family is a scikit-learn transformer whose ``X`` is a :class:`~predictor.data.cohort.Cohort`
and whose output is a float64 ``DataFrame`` indexed by ``patient_id`` in the cohort's order.
Its learned state is plain Python (lists, dicts, floats, strings) so it round-trips through
JSON: a saved model never depends on pickle nor on the ``conf/`` folder.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from predictor.data.codes import text_codes
from predictor.data.cohort import Cohort
from predictor.errors import InputError
from predictor.features.estimator import BaseEstimator, TransformerMixin, check_is_fitted

STATE_PREFIX = "predictor.features."


class FeatureFamily(TransformerMixin, BaseEstimator):
    """One family of features computed from one or more cohort tables.

    Subclasses set ``requires`` (tables that must be present) and implement ``_fit`` (learn
    vocabularies, set ``feature_names_``) and ``_compute`` (return a frame indexed by patient).
    The base class guarantees the output contract: same names and order as in ``fit``, the
    cohort's patient order, float64, NaN (never 0) for what is not observed.
    """

    requires: ClassVar[tuple[str, ...]] = ()
    prefix: ClassVar[str] = ""
    #: whether the output depends on the patient's ``regimen`` (what-if rows compute such
    #: families again per regimen: :class:`predictor.features.pipeline.RegimenFeatures`)
    reads_regimen: ClassVar[bool] = False

    def available(self, cohort: Cohort) -> bool:
        """Whether every table this family needs is present (and non-empty for clinical)."""
        return all(getattr(cohort, name, None) is not None for name in self.requires)

    def fit(self, cohort: Cohort, y: Any = None) -> FeatureFamily:
        if not self.available(cohort):
            needs = ", ".join(self.requires) or "its input"
            raise InputError(f"{type(self).__name__} cannot be fitted: the cohort lacks {needs}")
        self._fit(cohort)
        self.n_features_out_ = len(self.feature_names_)
        return self

    def transform(self, cohort: Cohort) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_")
        index = cohort.patient_ids
        names = list(self.feature_names_)
        if not self.available(cohort):
            return nan_frame(index, names)
        out = self._compute(cohort)
        return finalize(out, index, names)

    def transform_values(self, cohort: Cohort) -> np.ndarray | None:
        """:meth:`transform` as a ``(patients, features)`` float64 array (treat it as read-only),
        or ``None`` when the input is absent (all NaN). Lets :class:`FeaturePipeline` assemble
        its output without building (and copying) one frame per family."""
        check_is_fitted(self, "feature_names_")
        if not self.available(cohort):
            return None
        return aligned_values(self._compute(cohort), cohort.patient_ids,
                              list(self.feature_names_))

    def transform_into(self, cohort: Cohort, out: np.ndarray) -> bool:
        """Write :meth:`transform_values` transposed into ``out`` (features x patients, rows in
        ``feature_names_`` order) and return True; False, leaving ``out`` untouched, when the
        input is absent or the family has no direct path (``_fill``). Lets the pipeline fill
        its output block without a per-family array and a copy of it."""
        check_is_fitted(self, "feature_names_")
        return self.available(cohort) and self._fill(cohort, out)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    @property
    def categorical_features(self) -> list[str]:
        """Names of the outputs that are integer category codes (empty for most families)."""
        return list(getattr(self, "categorical_features_", []))

    # -- to implement
    def _fit(self, cohort: Cohort) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _compute(self, cohort: Cohort) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fill(self, cohort: Cohort, out: np.ndarray) -> bool:
        """Optional: :meth:`_compute`'s values for ``feature_names_``, written into ``out``
        (features x patients); False when not implemented."""
        return False


def nan_frame(index: pd.Index, names: list[str]) -> pd.DataFrame:
    """An all-NaN float64 frame: what a family yields when its input table is absent."""
    return pd.DataFrame(np.full((len(index), len(names)), np.nan), index=index, columns=names)


def _aligned(out: pd.DataFrame, index: pd.Index, names: list[str]) -> bool:
    """Whether ``out`` already has ``index`` (the same object) and ``names`` in order, so that
    reindexing would only copy (families build their frames on ``cohort.patient_ids``)."""
    return out.index is index and list(out.columns) == names


def finalize(out: pd.DataFrame, index: pd.Index, names: list[str]) -> pd.DataFrame:
    """Reindex to the fitted names and the cohort's patients, as float64."""
    if not _aligned(out, index, names):
        out = out.reindex(index=index, columns=names)
    out = out.astype("float64")  # a copy: the result never shares memory with ``out``
    out.index.name = "patient_id"
    return out


def aligned_values(out: pd.DataFrame, index: pd.Index, names: list[str]) -> np.ndarray:
    """``finalize(out, index, names).to_numpy()`` without copying what is already aligned
    float64 (the array may be a view of ``out``)."""
    if out.index is not index:
        out = out.reindex(index=index)
    if list(out.columns) != names:
        if not (out.columns.is_unique and all(d == np.float64 for d in out.dtypes)):
            out = out.reindex(columns=names)
        else:  # select float columns in numpy (pandas would take and re-interleave blocks)
            pos = out.columns.get_indexer(names)
            values = out.to_numpy(dtype=np.float64)
            result = np.empty((len(out), len(names)), order="F")
            result[:, pos >= 0] = values[:, pos[pos >= 0]]
            result[:, pos < 0] = np.nan
            return result
    if not all(dtype == np.float64 for dtype in out.dtypes):
        out = out.astype("float64")
    return out.to_numpy(dtype=np.float64)


# ---------------------------------------------------------------------------- JSON state
def to_jsonable(value: Any) -> Any:
    """Plain JSON types from numpy/pandas scalars, arrays and nested containers."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if np.isnan(value) else value
    if value is None or isinstance(value, (int, str)):
        return value
    if value is pd.NA:
        return None
    raise TypeError(f"cannot store a {type(value).__name__} in a feature state")


def estimator_to_state(estimator: BaseEstimator) -> dict:
    """Class path, constructor params and learned attributes (names ending in ``_``)."""
    cls = type(estimator)
    learned = {
        k: v for k, v in vars(estimator).items() if k.endswith("_") and not k.startswith("_")
    }
    return {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "params": to_jsonable(estimator.get_params(deep=False)),
        "attributes": to_jsonable(learned),
    }


def estimator_from_state(state: dict) -> BaseEstimator:
    """Rebuild an estimator saved by :func:`estimator_to_state` (feature classes only)."""
    path = state["class"]
    if not path.startswith(STATE_PREFIX):
        raise ValueError(f"refusing to load a non-feature class from a state: {path!r}")
    module_name, _, cls_name = path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), cls_name)
    estimator = cls(**state.get("params", {}))
    for key, value in state.get("attributes", {}).items():
        setattr(estimator, key, value)
    return estimator


# ---------------------------------------------------------------------------- shared helpers
def by_distinct(values: pd.Series, fn: Any) -> np.ndarray:
    """``fn`` (a row-wise Series -> Series map) applied once per distinct value of ``values``
    (missing included) and spread over the rows, as float64: a coded column has a handful of
    values, and per-row string work on 100k patients costs more than reading them."""
    if isinstance(values.dtype, pd.StringDtype):
        codes, uniques = text_codes(values)  # with -1 for missing: twice as fast as without
        if len(codes) and codes.min() < 0:  # missing is a value too: the last distinct one
            codes = np.where(codes < 0, len(uniques), codes)
            uniques = np.append(uniques, pd.NA)
        mapped = fn(pd.Series(uniques, dtype=values.dtype))
        return np.asarray(mapped.to_numpy(dtype="float64", na_value=np.nan))[codes]
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = fn(pd.Series(uniques, dtype=values.dtype))
    return np.asarray(mapped.to_numpy(dtype="float64", na_value=np.nan))[codes]


def per_patient(values: np.ndarray, sample_patient: np.ndarray, n_patients: int) -> np.ndarray:
    """Aggregate per-sample values (1-D or 2-D) to patients with a NaN-skipping ``max``.

    A patient with several tumour samples takes the most extreme sample (e.g. the most mutated
    one, or any sample carrying a flag); a patient without a sample gets NaN.
    """
    arr = np.asarray(values, dtype="float64")
    two_d = arr.ndim == 2
    arr2 = arr if two_d else arr[:, None]
    keep = sample_patient >= 0
    if len(np.unique(sample_patient[keep])) == int(keep.sum()):  # one sample per patient
        out = np.full((n_patients, arr2.shape[1]), np.nan)
        out[sample_patient[keep]] = arr2[keep]
    else:
        agg = pd.DataFrame(arr2[keep]).groupby(sample_patient[keep], sort=False).max()
        out = np.full((n_patients, arr2.shape[1]), np.nan)
        out[agg.index.to_numpy()] = agg.to_numpy(dtype="float64")
    return out if two_d else out[:, 0]


def best_sample(score: np.ndarray, sample_patient: np.ndarray, n_patients: int) -> np.ndarray:
    """Per patient, the position of its sample with the highest ``score`` (first on ties;
    -1 for a patient without a scored sample)."""
    cand = np.flatnonzero((sample_patient >= 0) & ~np.isnan(score))
    cand = cand[np.lexsort((-score[cand], sample_patient[cand]))]
    pats = sample_patient[cand]
    first = np.ones(len(cand), dtype=bool)
    first[1:] = pats[1:] != pats[:-1]
    out = np.full(n_patients, -1, dtype=np.int64)
    out[pats[first]] = cand[first]
    return out


def take_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` with NaN where ``rows`` is -1."""
    out = np.asarray(values, dtype="float64")[np.maximum(rows, 0)]
    out[rows < 0] = np.nan
    return out


def safe_name(text: str) -> str:
    """snake_case feature-name fragment from a gene, class or drug name."""
    out = []
    for ch in str(text).lower():
        out.append(ch if ch.isalnum() else "_")
    name = "".join(out).strip("_")
    while "__" in name:
        name = name.replace("__", "_")
    return name
