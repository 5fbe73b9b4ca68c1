"""Clinical basics: cancer type (integer codes learned in fit), age, sex, line, prior therapy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.codes import text_codes
from predictor.data.cohort import Cohort
from predictor.features.base import FeatureFamily, by_distinct, safe_name

NUMERIC = {
    "clin_age": "age",
    "clin_line_of_therapy": "line_of_therapy",
    "clin_prior_systemic_therapy": "prior_systemic_therapy",
}
SEX_CODES = {"male": 1.0, "m": 1.0, "1": 1.0, "female": 0.0, "f": 0.0, "0": 0.0}


def encode_categories(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Integer codes of ``values`` (as text) in the learned ``categories``; unseen or missing ->
    NaN. Each distinct value is looked up once (a coded column has a handful of them)."""
    codes, uniques = text_codes(values)
    lookup = pd.Index(categories, dtype=object).get_indexer(uniques).astype("float64")
    lookup[lookup < 0] = np.nan
    return np.append(lookup, np.nan)[codes]  # code -1 (missing) takes the appended NaN


def onehot_names(cancer_types: list[str]) -> list[str]:
    """``clin_cancer_type_<safe_name>`` of each category (a clash after cleaning gets a suffix)."""
    names: list[str] = []
    for cancer_type in cancer_types:
        name = f"clin_cancer_type_{safe_name(cancer_type)}"
        names.append(name if name not in names else f"{name}_{len(names)}")
    return names


class ClinicalFeatures(FeatureFamily):
    """``clin_cancer_type`` (categorical), ``clin_sex`` (Male = 1), ``clin_age``,
    ``clin_line_of_therapy``, ``clin_prior_systemic_therapy``.

    Numeric columns become features only when the training cohort has a value for them; the
    cancer-type codes are the sorted training categories (an unseen type gives NaN).

    With ``cancer_type_onehot``, also one indicator ``clin_cancer_type_<name>`` per training
    category (``safe_name`` of the type, e.g. ``Head & Neck`` -> ``clin_cancer_type_head_neck``):
    1/0, all 0 for an unseen type, NaN when the cancer type is missing. Models that need the type
    by name (the published LORIS formula, ``predictor.models.published``) read these.
    """

    requires = ("clinical",)

    def __init__(self, cancer_type: bool = True, min_category_count: int = 1,
                 cancer_type_onehot: bool = False) -> None:
        self.cancer_type = cancer_type
        self.min_category_count = min_category_count
        self.cancer_type_onehot = cancer_type_onehot

    def _fit(self, cohort: Cohort) -> None:
        clinical = cohort.clinical
        names: list[str] = []
        self.cancer_types_: list[str] = []
        if self.cancer_type and "cancer_type" in clinical.columns:
            counts = clinical["cancer_type"].astype("string").value_counts()
            keep = counts[counts >= int(self.min_category_count)].index
            self.cancer_types_ = sorted(str(c) for c in keep)
            names.append("clin_cancer_type")
            if self.cancer_type_onehot:
                names.extend(onehot_names(self.cancer_types_))
        if "sex" in clinical.columns and clinical["sex"].notna().any():
            names.append("clin_sex")
        for name, column in NUMERIC.items():
            if column in clinical.columns and clinical[column].notna().any():
                names.append(name)
        self.feature_names_ = names
        self.categorical_features_ = ["clin_cancer_type"] if "clin_cancer_type" in names else []

    def _compute(self, cohort: Cohort) -> pd.DataFrame:
        clinical = cohort.clinical
        out: dict[str, np.ndarray] = {}
        if "cancer_type" in clinical.columns:
            codes = encode_categories(clinical["cancer_type"], self.cancer_types_)
            out["clin_cancer_type"] = codes
            if self.cancer_type_onehot:
                missing = clinical["cancer_type"].isna().to_numpy()
                for code, name in enumerate(onehot_names(self.cancer_types_)):
                    out[name] = np.where(missing, np.nan, (codes == code).astype("float64"))
        if "sex" in clinical.columns:
            out["clin_sex"] = by_distinct(clinical["sex"], lambda sex: sex.astype("string")
                                          .str.strip().str.lower().map(SEX_CODES)
                                          .astype("float64"))
        for name, column in NUMERIC.items():
            if column in clinical.columns:
                out[name] = pd.to_numeric(clinical[column], errors="coerce").to_numpy(
                    dtype="float64", na_value=np.nan)
        return pd.DataFrame(out, index=clinical.index)
