"""Fixtures of the feature tests (helpers live in ``feature_fixtures.py``)."""

from __future__ import annotations

import pytest
from feature_fixtures import load_config, make_cohort

from predictor.data.cohort import Cohort


@pytest.fixture
def cohort() -> Cohort:
    return make_cohort()


@pytest.fixture
def default_config() -> dict:
    return load_config("default")
