"""``FeaturePipeline.what_if``: the features of patients under another regimen, the one
definition shared by training's regimen CV and ``predict --regimens``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import load_config

from predictor.data.regimens import with_regimen
from predictor.errors import InputError
from predictor.features.knowledge import REPO_ROOT
from predictor.features.passthrough import PassthroughFeatures
from predictor.features.pipeline import FeaturePipeline, build_feature_pipeline

REGIMENS = ("osimertinib", "nivolumab+ipilimumab", "carboplatin+pemetrexed+pembrolizumab")


@pytest.fixture(scope="module")
def simulated():
    from predictor.data.simulator import simulate_cohort

    cohort, _ = simulate_cohort(160, 5)
    clinical = cohort.clinical.copy()
    n = len(clinical)
    # cohorts A and B, and C smaller than min_group_size (placed among the reference)
    clinical["cohort"] = np.where(np.arange(n) < n - 5,
                                  np.where(np.arange(n) % 2 == 0, "A", "B"), "C")
    # a patient without a regimen: the passthrough column below fills the gap of rx_n_drugs
    clinical.iloc[3, clinical.columns.get_loc("regimen")] = pd.NA
    clinical["drugs_given"] = 2.0
    return replace(cohort.without_outcomes(), clinical=clinical)


def pipeline_for(cohort, within: bool, merged: bool = False):
    cfg = load_config("default")
    cfg["families"]["mutation"]["gene_sets"] = str(REPO_ROOT / "conf/knowledge/gene_sets.yaml")
    cfg["families"]["mechanism"]["knowledge_base"] = str(REPO_ROOT / "conf/knowledge/drugs.yaml")
    if within:
        cfg["within_cohort"] = {"column": "cohort", "min_group_size": 10}
    if merged:  # a family that does not read the regimen gives a regimen column too
        cfg["families"]["passthrough"] = {"columns": ["drugs_given"],
                                          "rename": {"drugs_given": "rx_n_drugs"}}
    return build_feature_pipeline(cfg).fit(cohort)


def one_changed(cohort, position: int, regimen: str):
    clinical = cohort.clinical.copy()
    clinical.iloc[position, clinical.columns.get_loc("regimen")] = regimen
    return replace(cohort, clinical=clinical)


@pytest.mark.parametrize("within, merged", [(False, False), (True, False), (False, True),
                                            (True, True)])
def test_a_patient_under_a_regimen_is_the_plain_row_with_that_regimen(simulated, within,
                                                                       merged):
    pipeline = pipeline_for(simulated, within, merged)
    features = pipeline.what_if(simulated)
    plain = pipeline.transform(simulated)
    pd.testing.assert_frame_equal(features.features, plain)
    assert features.regimen_columns and all(c.startswith("rx_")
                                            for c in features.regimen_columns)
    n = len(simulated.patient_ids)
    positions = np.array([0, 3, 7, n - 2, 40, 41])  # n - 2: the small cohort C
    for regimen in REGIMENS:
        rows = features.under(regimen, positions)
        assert list(rows.index) == list(simulated.patient_ids[positions])
        for i, p in enumerate(positions):
            want = pipeline.transform(one_changed(simulated, p, regimen)).iloc[p]
            np.testing.assert_array_equal(rows.iloc[i].to_numpy(), want.to_numpy())


@pytest.mark.parametrize("within", [False, True])
def test_the_own_regimen_gives_the_plain_rows_exactly(simulated, within):
    pipeline = pipeline_for(simulated, within)
    features = pipeline.what_if(simulated)
    treated = np.flatnonzero(simulated.clinical["regimen"].notna().to_numpy())
    for regimen, group in pd.Series(treated).groupby(
            simulated.clinical["regimen"].iloc[treated].to_numpy()):
        rows = features.under(str(regimen), group.to_numpy())
        np.testing.assert_array_equal(rows.to_numpy(), features.features.iloc[group].to_numpy())


def test_without_ranks_a_patient_under_a_regimen_does_not_depend_on_the_others(simulated):
    """Without within-cohort ranks the rows equal a full pass over the cohort with everybody
    under the regimen (what training's regimen CV computed before the shared helper)."""
    pipeline = pipeline_for(simulated, within=False)
    features = pipeline.what_if(simulated)
    positions = np.arange(0, len(simulated.patient_ids), 3)
    for regimen in REGIMENS:
        everybody = pipeline.transform(with_regimen(simulated, regimen))
        pd.testing.assert_frame_equal(features.under(regimen, positions),
                                      everybody.iloc[positions])


def test_which_families_read_the_regimen(simulated):
    pipeline = pipeline_for(simulated, within=False)
    assert [n for n, s in pipeline.steps if s.reads_regimen] == ["mechanism"]
    passthrough = PassthroughFeatures(columns=["REGIMEN"], categorical=["REGIMEN"])
    assert passthrough.fit(simulated).reads_regimen


@pytest.mark.parametrize("column", ["regimen", " Regimen "])
def test_ranks_grouped_by_the_regimen_are_refused_at_fit(simulated, column):
    cfg = load_config("default")
    cfg["families"]["mutation"]["gene_sets"] = str(REPO_ROOT / "conf/knowledge/gene_sets.yaml")
    cfg["families"]["mechanism"]["knowledge_base"] = str(REPO_ROOT / "conf/knowledge/drugs.yaml")
    cfg["within_cohort"] = {"column": column}
    with pytest.raises(InputError, match="group column may not be the regimen column") as err:
        build_feature_pipeline(cfg).fit(simulated)
    assert "\n" not in str(err.value) and err.value.column == "features.within_cohort.column"


def test_ranks_grouped_by_the_regimen_are_refused_at_what_if(simulated):
    """A pipeline fitted (or loaded from a bundle) before the check was in fit."""
    pipeline = pipeline_for(simulated, within=True)
    pipeline.what_if(simulated)  # grouped by cohort: fine
    state = pipeline.to_state()
    state["within_cohort"]["params"]["column"] = "regimen"
    loaded = FeaturePipeline.from_state(state)
    loaded.transform(simulated)  # plain prediction is unaffected
    with pytest.raises(InputError, match="group column may not be the regimen column"):
        loaded.what_if(simulated)
