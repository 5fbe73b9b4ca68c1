"""Tiny hand-made cohorts for the feature tests (values chosen so results can be hand-computed)."""

from __future__ import annotations

import pandas as pd
import yaml

from predictor.data.cohort import Cohort
from predictor.features.knowledge import REPO_ROOT

FEATURE_CONF = REPO_ROOT / "conf" / "features"


def clinical_table() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ["p1", "p2", "p3"],
        "cancer_type": ["NSCLC", "NSCLC", "Melanoma"],
        "regimen": ["osimertinib", "pembrolizumab", "dabrafenib+trametinib"],
        "line_of_therapy": [1, 2, 1],
        "prior_systemic_therapy": [0, 1, 0],
        "age": [60.0, 70.0, 50.0],
        "sex": ["Male", "Female", "Male"],
        "nlr": [2.0, 5.0, None],
        "albumin": [4.0, 3.0, 3.0],
    })


def samples_table() -> pd.DataFrame:
    # p3 has no panel and no mutation: not sequenced.
    return pd.DataFrame({
        "sample_id": ["s1", "s2", "s3"],
        "patient_id": ["p1", "p2", "p3"],
        "panel": ["SIM_WES", "IMPACT468", None],
        "purity": [0.5, None, None],
    })


def mutations_table() -> pd.DataFrame:
    # s1 (purity 0.5): CCF = min(1, 2 VAF / 0.5) = 1.0, 0.4, 1.0, 0.8, 0.4, 0.2
    return pd.DataFrame({
        "Tumor_Sample_Barcode": ["s1"] * 6 + ["s2"] * 2,
        "Hugo_Symbol": ["EGFR", "EGFR", "TP53", "TTN", "TTN", "MUC16", "TP53", "B2M"],
        "Variant_Classification": [
            "Missense_Mutation", "Missense_Mutation", "Missense_Mutation", "Silent",
            "Frame_Shift_Del", "Missense_Mutation", "Nonsense_Mutation", "Frame_Shift_Del"],
        "HGVSp_Short": ["p.L858R", "p.C797S", "p.R175H", "p.A1A", "p.K5fs", "p.G3V", "p.R196*",
                        "p.L15fs"],
        "t_ref_count": [75, 90, 75, 80, 90, 95, 50, 60],
        "t_alt_count": [25, 10, 25, 20, 10, 5, 50, 40],
    })


def make_cohort(**overrides) -> Cohort:
    """The tiny cohort, with tables replaced (or dropped with ``None``) by keyword."""
    tables = {
        "clinical": clinical_table(),
        "samples": samples_table(),
        "mutations": mutations_table(),
        "cna": pd.DataFrame({"sample_id": ["s1", "s2"], "Hugo_Symbol": ["MET", "MET"],
                             "cna": [2, 0]}),
        "tme": pd.DataFrame({"patient_id": ["p1", "p2"], "cd8": [0.1, 0.2],
                             "treg": [0.01, 0.02], "ph": [7.0, 7.2]}),
        "ctdna": pd.DataFrame({"patient_id": ["p1", "p1", "p1", "p2"],
                               "day": [-3.0, 21.0, 60.0, 0.0],
                               "tumor_fraction": [0.1, 0.01, 0.5, 0.2]}),
        "outcomes": pd.DataFrame({"patient_id": ["p1", "p2", "p3"],
                                  "best_response": ["PR", "PD", "SD"],
                                  "pfs_months": [10.0, 2.0, 5.0], "pfs_event": [1, 1, 0]}),
    }
    tables.update(overrides)
    return Cohort.from_tables(**{k: v for k, v in tables.items() if v is not None})


def load_config(name: str) -> dict:
    with open(FEATURE_CONF / f"{name}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)

