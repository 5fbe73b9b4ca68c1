"""Fraction of genome altered from the segment file (``copynumber`` family), hand-computed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import load_config, make_cohort

from predictor.features.copynumber import CopyNumberFeatures
from predictor.features.passthrough import PassthroughFeatures
from predictor.features.pipeline import FeaturePipeline, build_feature_pipeline


def segments() -> pd.DataFrame:
    # s1: 100 bp neutral, 50 bp gained (0.5), 50 bp lost (-0.3), 100 bp on X at 0.25 (gain).
    #     FGA = (50 + 50 + 100) / 300; gain = 150 / 300; loss = 50 / 300.
    # s2: 0.2 exactly is not above the threshold; a segment with missing seg_mean is ignored.
    return pd.DataFrame({
        "sample_id": ["s1", "s1", "s1", "s1", "s2", "s2", "s2"],
        "chrom": ["1", "1", "2", "X", "1", "2", "3"],
        "start": [0, 100, 0, 0, 0, 0, 0],
        "end": [100, 150, 50, 100, 400, 100, 1000],
        "num_mark": [10, 5, 5, 10, 40, 10, 10],
        "seg_mean": [0.05, 0.5, -0.3, 0.25, 0.2, -1.0, None],
    })


def test_fga_is_the_length_weighted_share_above_the_threshold() -> None:
    cohort = make_cohort(segments=segments())
    X = CopyNumberFeatures().fit(cohort).transform(cohort)
    assert list(X.columns) == ["cn_fga", "cn_fga_gain", "cn_fga_loss", "cn_n_segments"]
    assert X.loc["p1", "cn_fga"] == pytest.approx(200 / 300)
    assert X.loc["p1", "cn_fga_gain"] == pytest.approx(150 / 300)
    assert X.loc["p1", "cn_fga_loss"] == pytest.approx(50 / 300)
    assert X.loc["p1", "cn_n_segments"] == 4
    assert X.loc["p2", "cn_fga"] == pytest.approx(100 / 500)  # 0.2 is not above 0.2
    assert X.loc["p2", "cn_fga_loss"] == pytest.approx(100 / 500)
    assert X.loc["p2", "cn_n_segments"] == 2  # the NaN segment is ignored
    assert X.loc["p3"].isna().all()  # no segments: NaN, never 0


def test_threshold_and_excluded_chromosomes_are_options() -> None:
    cohort = make_cohort(segments=segments())
    X = CopyNumberFeatures(threshold=0.1, exclude_chromosomes=["chrX"]).fit(cohort)\
        .transform(cohort)
    assert X.loc["p1", "cn_fga"] == pytest.approx(100 / 200)
    assert X.loc["p2", "cn_fga"] == pytest.approx(1.0)


def test_most_altered_sample_of_a_patient_counts() -> None:
    samples = pd.DataFrame({"sample_id": ["s1", "s1b", "s2", "s3"],
                            "patient_id": ["p1", "p1", "p2", "p3"],
                            "panel": ["SIM_WES", "SIM_WES", "IMPACT468", None]})
    seg = pd.concat([segments(), pd.DataFrame({
        "sample_id": ["s1b"], "chrom": ["1"], "start": [0], "end": [10], "num_mark": [1],
        "seg_mean": [1.0]})], ignore_index=True)
    cohort = make_cohort(samples=samples, segments=seg)
    X = CopyNumberFeatures().fit(cohort).transform(cohort)
    assert X.loc["p1", "cn_fga"] == 1.0 and X.loc["p1", "cn_n_segments"] == 1


def test_family_is_registered_skipped_without_segments_and_round_trips() -> None:
    config = load_config("nsclc")
    with_seg = make_cohort(segments=segments())
    pipeline = build_feature_pipeline(config).fit(with_seg)
    assert "copynumber" in pipeline.active_steps_
    restored = FeaturePipeline.from_state(json.loads(json.dumps(pipeline.to_state())))
    pd.testing.assert_frame_equal(restored.transform(with_seg), pipeline.transform(with_seg))
    # Absent at transform time: NaN columns under the fitted names.
    assert restored.transform(make_cohort())["cn_fga"].isna().all()
    # Absent at fit: skipped.
    assert "copynumber" not in build_feature_pipeline(config).fit(make_cohort()).active_steps_


def test_passthrough_value_maps_give_numbers_not_category_codes() -> None:
    clinical = make_cohort().clinical.reset_index()
    clinical["smoker"] = ["Ever", " never ", "unknown"]
    cohort = make_cohort(clinical=clinical, segments=segments())
    step = PassthroughFeatures(columns=["SMOKER"], rename={"SMOKER": "clin_ever_smoker"},
                               value_maps={"SMOKER": {"Ever": 1, "Never": 0}}).fit(cohort)
    assert step.categorical_features == []
    out = step.transform(cohort)["clin_ever_smoker"].to_numpy()
    np.testing.assert_array_equal(out[:2], [1.0, 0.0])
    assert np.isnan(out[2])  # a value not in the map
