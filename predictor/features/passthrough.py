"""Pass-through of precomputed per-patient columns (e.g. Chowell's TMB, FCNA, HED).

Flat cohorts arrive with features already computed; they keep their source names in
``cohort.clinical`` and come out as ``pt_<lower-case name>``, or under a name given in
``rename`` (``{TMB: tmb}`` lets the TMB baseline work on a flat cohort without a MAF).
Column names are matched exactly, else case-insensitively (the cBioPortal reader lower-cases
extra attributes). Text columns become integer category codes learned in fit, unless
``value_maps`` maps their values to numbers (``{SMOKER: {Ever: 1, Never: 0}}``; matched
case-insensitively after trimming; a value not in the map gives NaN).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.errors import InputError
from predictor.features.base import FeatureFamily, safe_name
from predictor.features.clinical import encode_categories

logger = logging.getLogger(__name__)


def find_column(columns: pd.Index, name: str, lowered: dict[str, str] | None = None
                ) -> str | None:
    """``name`` in ``columns``, exactly or else case-insensitively (``lowered``: the
    lower-cased names of ``columns``, built once by a caller that looks up many names)."""
    if name in columns:
        return name
    if lowered is None:
        lowered = lowered_names(columns)
    return lowered.get(str(name).lower())


def lowered_names(columns: pd.Index) -> dict[str, str]:
    """Lower-cased column name -> column name (the last of names equal but for case)."""
    return {str(c).lower(): str(c) for c in columns}


class PassthroughFeatures(FeatureFamily):
    """Configured clinical columns, numeric (or category codes), NaN when absent."""

    requires = ("clinical",)

    def __init__(self, columns: list | None = None, rename: dict | None = None,
                 categorical: list | None = None, value_maps: dict | None = None) -> None:
        self.columns = columns
        self.rename = rename
        self.categorical = categorical
        self.value_maps = value_maps

    @property
    def reads_regimen(self) -> bool:  # type: ignore[override]
        """True when the clinical ``regimen`` column is passed through."""
        return any(str(c).lower() == "regimen" for c in getattr(self, "columns_", []))

    def _fit(self, cohort: Cohort) -> None:
        clinical = cohort.clinical
        rename = dict(self.rename or {})
        forced = {str(c).lower() for c in (self.categorical or [])}
        self.columns_: list[str] = []
        self.categories_: dict[str, list[str]] = {}
        names: list[str] = []
        missing = []
        lowered = lowered_names(clinical.columns)
        for name in self.columns or []:
            found = find_column(clinical.columns, name, lowered)
            if found is None:
                missing.append(str(name))
                continue
            values = clinical[found]
            numeric = pd.to_numeric(values, errors="coerce")
            text = (numeric.isna() & values.notna()).to_numpy()
            is_text = _value_map(self.value_maps, name) is None and (
                str(name).lower() in forced or bool(text.any()))
            if is_text and str(name).lower() not in forced and numeric.notna().sum() > text.sum():
                _not_a_number(clinical, found, text)  # a typo, not a text column
            if is_text:
                self.categories_[str(name)] = sorted(
                    str(v) for v in values.dropna().astype("string").unique())
            self.columns_.append(str(name))
            names.append(str(rename.get(name, f"pt_{safe_name(name)}")))
        if missing:
            logger.info("pass-through columns not in the cohort, skipped: %s",
                        ", ".join(missing))
        self.feature_names_ = names
        self.categorical_features_ = [n for c, n in zip(self.columns_, names, strict=True)
                                      if c in self.categories_]

    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        clinical = cohort.clinical
        out: dict[str, np.ndarray] = {}
        lowered = lowered_names(clinical.columns)  # once: per column it is quadratic
        for column, name in zip(self.columns_, self.feature_names_, strict=True):
            found = find_column(clinical.columns, column, lowered)
            if found is None:
                continue  # reindexed to NaN by the base class
            value_map = _value_map(self.value_maps, column)
            if value_map is not None:
                text = clinical[found].astype("string").str.strip().str.lower()
                out[name] = text.map(value_map).astype("float64").to_numpy(na_value=np.nan)
            elif column in self.categories_:
                out[name] = encode_categories(clinical[found], self.categories_[column])
            else:
                values = clinical[found]
                numbers = pd.to_numeric(values, errors="coerce")
                text = (numbers.isna() & values.notna()).to_numpy()
                if text.any():  # 'high' in a numeric column is an error, as in albumin
                    _not_a_number(clinical, found, text)
                out[name] = numbers.to_numpy(dtype="float64", na_value=np.nan)
        return pd.DataFrame(out, index=clinical.index)


def _not_a_number(clinical: pd.DataFrame, column: str, text: np.ndarray) -> None:
    """The one-line error for text in a numeric pass-through column (patient and column)."""
    positions = np.flatnonzero(text)
    value = clinical[column].iloc[positions[0]]
    more = f" ({len(positions) - 1} more rows like it)" if len(positions) > 1 else ""
    raise InputError(f"patient {str(clinical.index[positions[0]])!r}: expected a number, got "
                     f"{str(value)!r}; the column's other values are numbers (list it under "
                     f"'categorical' if it is a text column){more}",
                     file=clinical.attrs.get("source"), column=str(column))


def _value_map(value_maps: dict | None, column: str) -> dict[str, float] | None:
    """The configured value -> number map of ``column`` (keys lower-cased), or None."""
    for key, mapping in (value_maps or {}).items():
        if str(key).lower() == str(column).lower():
            return {str(k).strip().lower(): float(v) for k, v in (mapping or {}).items()}
    return None
