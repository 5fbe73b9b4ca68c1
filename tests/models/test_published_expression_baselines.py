"""Published expression baselines: they rank by their column as published, nothing learned."""

import numpy as np
import pandas as pd
import pytest

from predictor.errors import InputError
from predictor.evaluation.metrics import roc_auc
from predictor.models.baselines import RESPONSE_BASELINES
from predictor.models.published_expression import Impres, TMBScore


def test_registered_as_response_baselines():
    for name in ("cyt", "gep", "cd8_teff", "impres", "tmb_score"):
        assert name in RESPONSE_BASELINES


def test_ranking_is_the_published_score_even_when_training_labels_disagree():
    X = pd.DataFrame({"pub_impres": [1.0, 2.0, 3.0, 4.0]})
    y_train = [1, 1, 0, 0]                   # higher IMPRES with non-response in training
    model = Impres().fit(X, y_train)
    p = model.predict_proba(X)
    assert np.all(np.diff(p) > 0)            # still increasing: the direction is not learned
    assert ((p > 0) & (p < 1)).all()
    assert model.median_ == 2.5 and model.scale_ == pytest.approx(1.5 / 1.349)
    assert roc_auc([0, 0, 1, 1], p) == roc_auc([0, 0, 1, 1], X["pub_impres"])


def test_missing_score_gives_nan_and_missing_column_raises():
    X = pd.DataFrame({"tmb": [np.nan, 5.0, 10.0, np.nan]})
    model = TMBScore().fit(X, [0, 1, 0, 1])
    p = model.predict_proba(X)
    assert np.isnan(p[0]) and np.isnan(p[3]) and p[2] > p[1]
    with pytest.raises(InputError, match="no IMPRES column"):
        Impres().fit(pd.DataFrame({"x": [1.0, 2.0]}), [0, 1])
    with pytest.raises(InputError, match="no training patient has a TMB"):
        TMBScore().fit(pd.DataFrame({"tmb": [np.nan, np.nan]}), [0, 1])
