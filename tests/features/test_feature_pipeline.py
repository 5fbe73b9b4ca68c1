"""The pipeline contract: names, dtypes, order, missing tables, no leakage, JSON state."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import clinical_table, make_cohort

from predictor.errors import InputError
from predictor.features.pipeline import FeaturePipeline, build_feature_pipeline


@pytest.fixture
def fitted(cohort, default_config) -> FeaturePipeline:
    return build_feature_pipeline(**default_config).fit(cohort)


def test_output_contract(fitted, cohort):
    X = fitted.transform(cohort)
    assert list(X.index) == ["p1", "p2", "p3"]
    assert (X.dtypes == np.float64).all()
    assert list(X.columns) == list(fitted.get_feature_names_out())
    assert len(set(X.columns)) == len(X.columns)
    assert "tmb" in X.columns and fitted.categorical_features_ == ["clin_cancer_type"]
    prefixes = {c.split("_")[0] for c in X.columns}
    assert prefixes <= {"tmb", "mut", "drv", "path", "clonal", "tme", "sys", "rx", "ctdna",
                        "clin", "pt"}
    # Patient order follows the cohort.
    reordered = fitted.transform(cohort.subset(["p3", "p1"]))
    pd.testing.assert_frame_equal(reordered, X.loc[["p3", "p1"]])


def test_state_round_trip_through_json(fitted, cohort):
    text = json.dumps(fitted.to_state())
    restored = FeaturePipeline.from_state(json.loads(text))
    pd.testing.assert_frame_equal(restored.transform(cohort), fitted.transform(cohort))
    other = make_cohort(tme=None, mutations=None)
    pd.testing.assert_frame_equal(restored.transform(other), fitted.transform(other))
    assert restored.categorical_features_ == fitted.categorical_features_
    assert "osimertinib" in text  # the knowledge base travels with the state


def test_state_refuses_foreign_classes(fitted):
    state = json.loads(json.dumps(fitted.to_state()))
    state["steps"][0]["class"] = "os.system"
    with pytest.raises(ValueError, match="non-feature class"):
        FeaturePipeline.from_state(state)


def test_tables_missing_at_transform_give_nan_columns_with_the_same_names(fitted):
    bare = make_cohort(mutations=None, cna=None, tme=None, ctdna=None)
    X = fitted.transform(bare)
    assert list(X.columns) == list(fitted.get_feature_names_out())
    for prefix in ("tmb", "mut_", "drv_", "path_", "clonal_", "tme_", "ctdna_", "rx_target"):
        cols = [c for c in X.columns if c.startswith(prefix)]
        assert cols and X[cols].isna().all().all(), prefix
    assert X["clin_age"].notna().all()
    assert X["rx_class_anti_pd1"].notna().all()


def test_family_without_its_table_at_fit_is_skipped(default_config, caplog):
    with caplog.at_level(logging.INFO):
        pipeline = build_feature_pipeline(**default_config).fit(
            make_cohort(tme=None, ctdna=None))
    assert "tme" not in pipeline.active_steps_ and "monitoring" not in pipeline.active_steps_
    assert "'tme' skipped" in caplog.text
    assert not any(n.startswith(("tme_", "ctdna_")) for n in pipeline.feature_names_)


def test_outcomes_never_change_features(default_config):
    train = make_cohort()
    outcomes = pd.DataFrame({"patient_id": ["p1", "p2", "p3"], "best_response": ["PD"] * 3,
                             "pfs_months": [1.0, 1.0, 1.0], "pfs_event": [0, 0, 0]})
    flipped = make_cohort(outcomes=outcomes)
    a = build_feature_pipeline(**default_config).fit(train)
    b = build_feature_pipeline(**default_config).fit(flipped)
    assert json.dumps(a.to_state()) == json.dumps(b.to_state())
    test = make_cohort().subset(["p2", "p3"])
    X = a.transform(test)
    pd.testing.assert_frame_equal(X, a.transform(test.without_outcomes()))
    pd.testing.assert_frame_equal(X, a.transform(flipped.subset(["p2", "p3"])))


def test_computed_tmb_wins_and_passthrough_fills_its_gaps(default_config):
    clinical = clinical_table()
    clinical["TMB"] = [99.0, 99.0, 7.0]
    config = {**default_config}
    config["families"] = {**default_config["families"],
                          "passthrough": {"columns": ["TMB"], "rename": {"TMB": "tmb"}}}
    X = build_feature_pipeline(**config).fit_transform(make_cohort(clinical=clinical))
    assert list(X.columns).count("tmb") == 1
    assert X.loc["p1", "tmb"] == pytest.approx(5 / 30.0)  # from the MAF
    assert X.loc["p3", "tmb"] == 7.0  # not sequenced: the precomputed value


def test_config_errors_are_input_errors(default_config):
    with pytest.raises(InputError, match="unknown feature families"):
        build_feature_pipeline(families={"astrology": {}})
    with pytest.raises(InputError, match="unknown option"):
        build_feature_pipeline(families={"tme": {"epsilonn": 1}})
    with pytest.raises(InputError, match="unknown feature options"):
        build_feature_pipeline(**default_config, colour="blue")
    with pytest.raises(InputError, match="not found"):
        build_feature_pipeline(families={"mechanism": {"knowledge_base": "nope/drugs.yaml"}})


def test_empty_maf_means_zero_burden_for_sequenced_patients(default_config):
    empty = pd.DataFrame({"Tumor_Sample_Barcode": pd.Series([], dtype="string"),
                          "Hugo_Symbol": pd.Series([], dtype="string"),
                          "Variant_Classification": pd.Series([], dtype="string")})
    X = build_feature_pipeline(**default_config).fit_transform(make_cohort(mutations=empty))
    assert X.loc["p1", "tmb"] == 0.0 and X.loc["p2", "tmb"] == 0.0
    assert np.isnan(X.loc["p3", "tmb"])
    assert X.loc["p1", "clonal_tmb"] == 0.0
    assert X.loc["p1", "rx_target_altered"] == 0.0


def test_clinical_only_cohort(default_config):
    cohort = make_cohort(samples=None, mutations=None, cna=None, tme=None, ctdna=None)
    pipeline = build_feature_pipeline(**default_config).fit(cohort)
    assert set(pipeline.active_steps_) == {"systemic", "mechanism", "clinical", "passthrough"}
    X = pipeline.transform(cohort)
    assert X.shape[0] == 3 and (X.dtypes == np.float64).all()


def test_row_order_of_every_long_table_does_not_matter(fitted, cohort):
    shuffled = make_cohort(**{
        name: getattr(cohort, name).sample(frac=1.0, random_state=1).reset_index(drop=True)
        for name in ("mutations", "cna", "tme", "ctdna")})
    pd.testing.assert_frame_equal(fitted.transform(shuffled), fitted.transform(cohort))
