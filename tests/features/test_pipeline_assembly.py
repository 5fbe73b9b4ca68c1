"""``FeaturePipeline.transform`` builds its output in one block (no per-family concat/fillna).

The output must be what merging the families' own ``transform`` frames gives (the previous
implementation, kept here as the reference), follow the contract (fitted names in order,
float64, indexed by ``patient_id`` in the cohort's order) and not depend on how the cohort is
chunked, which is how the batch CLI calls it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import load_config

from predictor.data.simulator import simulate_cohort
from predictor.features.pipeline import FeaturePipeline, build_feature_pipeline


def _with_tmb_column(cohort, seed: int):
    """A precomputed ``TMB`` for half the patients, so that ``tmb`` (computed) and the
    pass-through ``TMB -> tmb`` are merged."""
    rng = np.random.default_rng(seed)
    tmb = rng.gamma(2.0, 3.0, len(cohort))
    tmb[rng.random(len(cohort)) < 0.5] = np.nan
    return replace(cohort, clinical=cohort.clinical.assign(TMB=tmb))


@pytest.fixture(scope="module")
def fitted_and_cohort():
    train, _ = simulate_cohort(300, 0)
    test, _ = simulate_cohort(240, 1)
    pipeline = build_feature_pipeline(load_config("default")).fit(_with_tmb_column(train, 0))
    test = _with_tmb_column(test.without_outcomes(), 1)
    # Unsequenced patients: their computed tmb is NaN and the pass-through value fills it.
    unsequenced = test.samples["patient_id"].isin(test.patient_ids[::4])
    samples = test.samples.assign(panel=test.samples["panel"].mask(unsequenced))
    mutations = test.mutations[~test.mutations["Tumor_Sample_Barcode"].isin(
        test.samples.loc[unsequenced, "sample_id"])]
    return pipeline, replace(test, samples=samples, mutations=mutations)


def reference_transform(pipeline: FeaturePipeline, cohort) -> pd.DataFrame:
    """The previous implementation: concatenate family frames, fill duplicate names."""
    merged = None
    for _, step in pipeline._active():
        frame = step.transform(cohort)
        if merged is None:
            merged = frame
            continue
        dup = [c for c in frame.columns if c in merged.columns]
        for c in dup:
            merged[c] = merged[c].fillna(frame[c])
        new = frame.drop(columns=dup)
        merged = pd.concat([merged, new], axis=1) if len(new.columns) else merged
    out = merged.reindex(index=cohort.patient_ids, columns=list(pipeline.feature_names_))
    out = out.astype("float64")
    out.index.name = "patient_id"
    return out


def _check_contract(X: pd.DataFrame, pipeline: FeaturePipeline, cohort) -> None:
    assert list(X.columns) == list(pipeline.feature_names_)
    assert (X.dtypes == np.float64).all()
    assert X.index.name == "patient_id"
    pd.testing.assert_index_equal(X.index, cohort.patient_ids.rename("patient_id"))


def test_transform_equals_the_merged_family_frames(fitted_and_cohort):
    pipeline, cohort = fitted_and_cohort
    X = pipeline.transform(cohort)
    _check_contract(X, pipeline, cohort)
    pd.testing.assert_frame_equal(X, reference_transform(pipeline, cohort), check_exact=True)
    merged = X["tmb"].notna() & X["mut_n_total"].isna()
    assert merged.sum() > 0  # the duplicate-name fill was exercised
    # Families whose input is absent at transform time give NaN under their fitted names.
    bare = replace(cohort, mutations=None, clones=None, ctdna=None)
    X_bare = pipeline.transform(bare)
    _check_contract(X_bare, pipeline, bare)
    pd.testing.assert_frame_equal(X_bare, reference_transform(pipeline, bare),
                                  check_exact=True)
    assert X_bare["clonal_shannon"].isna().all()


def test_transform_does_not_depend_on_chunking(fitted_and_cohort):
    pipeline, cohort = fitted_and_cohort
    X = pipeline.transform(cohort)
    ids = list(cohort.patient_ids)
    parts = [pipeline.transform(cohort.subset(ids[i:i + 70])) for i in range(0, len(ids), 70)]
    for part in parts:
        assert (part.dtypes == np.float64).all()
        assert list(part.columns) == list(X.columns)
    pd.testing.assert_frame_equal(pd.concat(parts), X, check_exact=True)
    reordered = ids[::-1]
    pd.testing.assert_frame_equal(pipeline.transform(cohort.subset(reordered)),
                                  X.loc[reordered], check_exact=True)


def test_output_is_one_owned_float_block(fitted_and_cohort):
    pipeline, cohort = fitted_and_cohort
    X = pipeline.transform(cohort)
    values = X.to_numpy()
    assert values.dtype == np.float64 and values.shape == (len(cohort), len(X.columns))
    X.iloc[0, 0] = -1.0  # writing into the output leaves the cohort and the next call alone
    assert pipeline.transform(cohort).iloc[0, 0] != -1.0


def test_a_family_writing_its_rows_in_place_gives_the_same_output(fitted_and_cohort,
                                                                  monkeypatch):
    """The mechanism family fills its block rows directly (``transform_into``); with that
    path turned off every family goes through its own array and the merge: same output."""
    from predictor.features import pipeline as pipeline_module
    from predictor.features.mechanism import MechanismFeatures

    pipeline, cohort = fitted_and_cohort
    written = []
    fill = MechanismFeatures._fill
    monkeypatch.setattr(MechanismFeatures, "_fill",
                        lambda self, c, out: written.append(out.base is not None)
                        or fill(self, c, out))
    X = pipeline.transform(cohort)
    assert written == [True]  # into rows of the pipeline's block, not an array of its own
    monkeypatch.setattr(pipeline_module, "_direct_rows", lambda *args: None)
    pd.testing.assert_frame_equal(X, pipeline.transform(cohort), check_exact=True)
    every_third = np.arange(len(cohort)) % 3 == 0  # no regimen: NaN rx_* features
    no_regimen = replace(cohort, clinical=cohort.clinical.assign(
        regimen=cohort.clinical["regimen"].mask(every_third)))
    pd.testing.assert_frame_equal(pipeline.transform(no_regimen),
                                  reference_transform(pipeline, no_regimen), check_exact=True)
