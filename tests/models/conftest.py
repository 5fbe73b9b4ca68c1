"""Tiny simulated cohorts with known signal for the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def simulate_response(n: int, seed: int, strength: float = 1.5) -> tuple[pd.DataFrame, np.ndarray]:
    """Binary response driven by f0 (+), f2 (-) and category 1 of ``cat``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["f0", "f1", "f2", "f3"])
    X["cat"] = rng.integers(0, 3, n).astype(float)
    X.loc[X.index[::9], "f1"] = np.nan
    logit = strength * (X["f0"] - X["f2"]) + 0.8 * (X["cat"] == 1) - 0.5
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit.to_numpy()))).astype(float)
    return X, y


def simulate_survival(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Proportional hazards: log hazard = f0 - 0.8 f2; exponential times, uniform censoring."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["f0", "f1", "f2", "f3"])
    log_hazard = (X["f0"] - 0.8 * X["f2"]).to_numpy()
    event_time = rng.exponential(12.0 / np.exp(log_hazard))
    censor_time = rng.uniform(6.0, 40.0, n)
    time = np.maximum(np.round(np.minimum(event_time, censor_time), 1), 0.1)  # creates ties
    event = (event_time <= censor_time).astype(float)
    return X, time, event, log_hazard


@pytest.fixture(scope="session")
def response_data():
    return simulate_response(800, seed=1)


@pytest.fixture(scope="session")
def survival_data():
    return simulate_survival(600, seed=2)


@pytest.fixture(scope="session")
def make_response():
    """The response simulator itself, for tests that need a differently shaped cohort."""
    return simulate_response
