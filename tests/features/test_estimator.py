"""The feature steps keep scikit-learn's estimator contract without importing scikit-learn."""

from __future__ import annotations

import pytest
from sklearn.base import clone

from predictor.features.clinical import ClinicalFeatures
from predictor.features.estimator import NotFittedError
from predictor.features.pipeline import FeaturePipeline


def test_params_round_trip_through_sklearn_clone():
    step = ClinicalFeatures()
    params = step.get_params()
    assert params and set(params) == set(ClinicalFeatures._get_param_names())
    copy = clone(step)
    assert copy is not step and copy.get_params() == params
    pipeline = FeaturePipeline(steps=[("clinical", step)])
    assert clone(pipeline).get_params(deep=False)["steps"][0][0] == "clinical"


def test_set_params_refuses_unknown_names_and_unfitted_use_is_an_error():
    step = ClinicalFeatures()
    name = ClinicalFeatures._get_param_names()[0]
    assert step.set_params(**{name: step.get_params()[name]}) is step
    with pytest.raises(ValueError, match="invalid parameter"):
        step.set_params(no_such_option=1)
    with pytest.raises(NotFittedError):
        step.get_feature_names_out()
    assert issubclass(NotFittedError, AttributeError)  # hasattr-style checks keep working
