"""The PD-L1-alone response baseline: monotone in the score, NaN (not imputed) when missing."""

import numpy as np
import pandas as pd
import pytest

from predictor.errors import InputError
from predictor.evaluation.harness import response_summary
from predictor.models.baselines import RESPONSE_BASELINES, PDL1Only


def test_scores_where_pdl1_is_known_and_nan_elsewhere() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(float)
    pdl1 = np.clip(40 * y + rng.normal(10, 20, 200), 0, 100)
    pdl1[::3] = np.nan
    y[::7] = np.nan  # unlabelled patients are ignored in fit
    X = pd.DataFrame({"pdl1": pdl1, "tmb": rng.gamma(2, 3, 200)})
    model = RESPONSE_BASELINES["pdl1_only"]().fit(X, y)
    p = model.predict_proba(X)
    assert np.isnan(p[::3]).all() and not np.isnan(np.delete(p, np.s_[::3])).any()
    grid = model.predict_proba(pd.DataFrame({"pdl1": [0.0, 1.0, 50.0, 100.0]}))
    assert (np.diff(grid) > 0).all()
    # The harness scores it on the labelled patients with a PD-L1 score only.
    summary = response_summary(y, p.reshape(-1, 1), n_boot=20, seed=0)
    assert summary["n"] == int((~np.isnan(y) & ~np.isnan(pdl1)).sum())
    assert summary["roc_auc"] > 0.8


def test_finds_the_flat_and_cbioportal_pdl1_columns_and_explains_a_missing_one() -> None:
    y = np.array([0, 1, 0, 1.0])
    for column in ("pt_pdl1_tps", "pt_pdl1_score"):
        model = PDL1Only().fit(pd.DataFrame({column: [0, 50, 1, 80.0]}), y)
        assert model.column_ == column
    with pytest.raises(InputError, match="PD-L1"):
        PDL1Only().fit(pd.DataFrame({"tmb": [1, 2, 3, 4.0]}), y)
    with pytest.raises(InputError, match="too few"):
        PDL1Only().fit(pd.DataFrame({"pdl1": [np.nan, 50, np.nan, 80.0]}), y)
