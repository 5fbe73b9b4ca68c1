"""Targets from outcomes: the response rule and the relapse target, landmark included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictor.data.labels import DAYS_PER_MONTH, ResponseRule, relapse_target, response_labels
from predictor.errors import InputError

OUTCOMES = pd.DataFrame(
    {"best_response": ["CR", "SD", "PD", "NE", "SD"],
     "pfs_months": [20.0, 7.0, 1.0, 1.2, 3.0],
     "pfs_event": [0.0, 1.0, 1.0, 0.0, 1.0],
     "os_months": [30.0, 12.0, 5.0, np.nan, 9.0],
     "os_event": [0.0, 1.0, 1.0, np.nan, 0.0]},
    index=pd.Index(["P1", "P2", "P3", "P4", "P5"], name="patient_id"))


def test_response_rule_with_durable_stable_disease() -> None:
    plain = response_labels(OUTCOMES, ResponseRule())
    assert plain.tolist()[:3] == [1.0, 0.0, 0.0] and np.isnan(plain["P4"])
    benefit = response_labels(OUTCOMES, ResponseRule(sd_min_months=6.0))
    assert benefit.tolist()[:3] == [1.0, 1.0, 0.0] and benefit["P5"] == 0.0


def test_relapse_target_is_the_endpoint_as_given() -> None:
    target = relapse_target(OUTCOMES, "os")
    assert target["time"].tolist()[:3] == [30.0, 12.0, 5.0]
    assert np.isnan(target.loc["P4", "time"])


def test_landmark_target_keeps_patients_at_risk_and_counts_time_from_the_landmark() -> None:
    day = 42.0
    landmark = day / DAYS_PER_MONTH                  # 1.38 months
    target = relapse_target(OUTCOMES, "pfs", landmark_day=day)
    # P3 progressed (1.0 mo) and P4 was censored (1.2 mo) before day 42: not at risk there.
    assert target["time"].isna().tolist() == [False, False, True, True, False]
    assert target["event"].isna().tolist() == [False, False, True, True, False]
    np.testing.assert_allclose(target["time"].dropna(), [20.0 - landmark, 7.0 - landmark,
                                                         3.0 - landmark])
    assert target["event"].dropna().tolist() == [0.0, 1.0, 1.0]
    assert relapse_target(OUTCOMES, "pfs", landmark_day=0.0).equals(
        relapse_target(OUTCOMES, "pfs"))


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_a_bad_landmark_is_an_input_error(bad: float) -> None:
    with pytest.raises(InputError, match="landmark_day"):
        relapse_target(OUTCOMES, "pfs", landmark_day=bad)


def test_a_missing_endpoint_points_to_the_one_the_outcomes_have() -> None:
    with pytest.raises(InputError, match=r"'pfs_months' column; the outcomes have the 'os' "
                                         r"endpoint \(data.relapse_endpoint=os\)"):
        relapse_target(OUTCOMES.drop(columns=["pfs_months", "pfs_event"]), "pfs")
    with pytest.raises(InputError) as error:
        relapse_target(OUTCOMES.drop(columns=["os_months", "os_event", "pfs_event"]), "os")
    assert "endpoint" in str(error.value) and "data.relapse_endpoint" not in str(error.value)
