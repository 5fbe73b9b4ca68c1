"""Policy values on hand-made frames whose answers are computed by hand in the comments."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from predictor.evaluation.policy import policy_report


def _frames():
    # P1: truth a .2 b .5 c .8, scores rank the same way -> model c (.8), assigned a (.2).
    # P2: truth a .6 b .4 c .2, scores rank the other way -> model c (.2), assigned b (.4).
    # P3: two candidates, scores tied -> the tie goes to the assigned b (.7).
    truth = pd.DataFrame({
        "patient_id": ["P1"] * 3 + ["P2"] * 3 + ["P3"] * 2,
        "regimen": ["a", "b", "c", "a", "b", "c", "a", "b"],
        "true_response_probability": [0.2, 0.5, 0.8, 0.6, 0.4, 0.2, 0.3, 0.7],
    })
    scores = truth.rename(columns={"true_response_probability": "response_probability"})
    scores["response_probability"] = [0.1, 0.3, 0.9, 0.2, 0.5, 0.9, 0.5, 0.5]
    assigned = pd.Series({"P1": "a", "P2": "b", "P3": "b"})
    return scores, truth, assigned


def test_policy_values_match_the_hand_computation() -> None:
    scores, truth, assigned = _frames()
    r = policy_report(scores, truth, assigned)
    assert r["policy_value_oracle"] == pytest.approx((0.8 + 0.6 + 0.7) / 3)
    assert r["policy_value_model"] == pytest.approx((0.8 + 0.2 + 0.7) / 3)
    assert r["policy_value_practice"] == pytest.approx((0.2 + 0.4 + 0.7) / 3)
    assert r["policy_value_random"] == pytest.approx((0.5 + 0.4 + 0.5) / 3)
    # (0.5667 - 0.4333) / (0.7 - 0.4333) = 0.1333 / 0.2667
    assert r["policy_gap_closed"] == pytest.approx(0.5)
    # P1 rho +1, P2 rho -1, P3 has < 3 candidates.
    assert r["regimen_rank_spearman"] == pytest.approx(0.0)
    assert r["n_patients"] == 3 and r["mean_candidates"] == pytest.approx(8 / 3)


def test_row_order_does_not_change_the_report() -> None:
    scores, truth, assigned = _frames()
    a = policy_report(scores, truth, assigned)
    b = policy_report(scores.iloc[::-1], truth.sample(frac=1.0, random_state=3),
                      assigned.iloc[::-1])
    assert a == b


def test_supported_column_limits_the_model_choice() -> None:
    scores, truth, assigned = _frames()
    scores["supported"] = True
    scores.loc[(scores["patient_id"] == "P1") & (scores["regimen"] == "c"), "supported"] = False
    scores.loc[scores["patient_id"] == "P2", "supported"] = False  # none: keeps assigned b
    r = policy_report(scores, truth, assigned)
    # P1 -> b (.5), P2 -> assigned b (.4), P3 -> b (.7)
    assert r["policy_value_model"] == pytest.approx((0.5 + 0.4 + 0.7) / 3)
    assert r["policy_gap_closed"] == pytest.approx(((0.5 + 0.4 + 0.7) / 3 - 1.3 / 3)
                                                   / (2.1 / 3 - 1.3 / 3))


def test_ties_go_to_the_assigned_regimen_then_alphabetically() -> None:
    truth = pd.DataFrame({"patient_id": ["Q"] * 3, "regimen": ["z", "y", "x"],
                          "true_response_probability": [0.1, 0.4, 0.9]})
    scores = truth.rename(columns={"true_response_probability": "response_probability"})
    scores["response_probability"] = [0.2, 0.6, 0.6]  # x and y tie, assigned z lower
    r = policy_report(scores, truth, pd.Series({"Q": "z"}))
    assert r["policy_value_model"] == pytest.approx(0.9)  # x before y
    r = policy_report(scores, truth, pd.Series({"Q": "y"}))
    assert r["policy_value_model"] == pytest.approx(0.4)  # the assigned y wins the tie
    assert r["policy_gap_closed"] == pytest.approx(0.0)


def test_spearman_uses_average_ranks_and_skips_constant_patients() -> None:
    truth = pd.DataFrame({"patient_id": ["A"] * 3 + ["B"] * 3, "regimen": list("abcabc"),
                          "true_response_probability": [0.1, 0.1, 0.5, 0.3, 0.3, 0.3]})
    scores = truth.rename(columns={"true_response_probability": "response_probability"})
    scores["response_probability"] = [0.1, 0.2, 0.3, 0.1, 0.2, 0.3]
    r = policy_report(scores, truth, pd.Series({"A": "a", "B": "a"}))
    # A: truth ranks (1.5, 1.5, 3), predicted (1, 2, 3): 1.5 / sqrt(1.5 * 2) = 0.866;
    # B: constant truth, no correlation defined, skipped.
    assert r["regimen_rank_spearman"] == pytest.approx(1.5 / math.sqrt(3.0))


def test_candidates_are_the_regimens_in_both_scores_and_truth() -> None:
    scores, truth, assigned = _frames()
    extra = pd.DataFrame({"patient_id": ["P1"], "regimen": ["d"],
                          "response_probability": [0.99]})  # no truth row: not a candidate
    r = policy_report(pd.concat([scores, extra]), truth, assigned)
    assert r == policy_report(scores, truth, assigned)
    no_gap = policy_report(scores, truth, pd.Series({"P1": "c", "P2": "a", "P3": "b"}))
    assert math.isnan(no_gap["policy_gap_closed"])  # practice already the oracle


def test_bad_inputs_are_refused() -> None:
    scores, truth, assigned = _frames()
    with pytest.raises(ValueError, match="response_probability"):
        policy_report(scores.drop(columns="response_probability"), truth, assigned)
    with pytest.raises(ValueError, match="duplicated"):
        policy_report(pd.concat([scores, scores.head(1)]), truth, assigned)
    with pytest.raises(ValueError, match="assigned regimen of patient P1"):
        policy_report(scores, truth, pd.Series({"P1": "nope", "P2": "b", "P3": "b"}))
    with pytest.raises(ValueError, match="no patient"):
        policy_report(scores, truth, pd.Series({"X": "a"}))


def test_regimens_match_by_their_drugs_in_any_order_and_case() -> None:
    truth = pd.DataFrame({"patient_id": ["Q"] * 3,
                          "regimen": ["osimertinib+carboplatin", "osimertinib", "docetaxel"],
                          "true_response_probability": [0.7, 0.5, 0.1]})
    scores = pd.DataFrame({"patient_id": ["Q"] * 3,
                           "regimen": ["Carboplatin + Osimertinib", "osimertinib", "docetaxel"],
                           "response_probability": [0.6, 0.4, 0.2]})
    r = policy_report(scores, truth, pd.Series({"Q": "docetaxel"}))
    assert r["policy_value_model"] == pytest.approx(0.7) and r["mean_candidates"] == 3
    assert r["regimen_rank_spearman"] == pytest.approx(1.0)


def test_regimen_names_match_by_the_shared_key() -> None:
    """``a++b``, ``B + a`` and ``a+b`` are one regimen (predictor.data.regimens.regimen_key);
    rows without a regimen are no candidate and a patient given none is left out."""
    scores, truth, assigned = _frames()
    want = policy_report(scores, truth, assigned)
    truth = truth.copy()
    truth["regimen"] = truth["regimen"].map({"a": "a++x", "b": "B + y", "c": "c"})
    scores = scores.copy()
    scores["regimen"] = scores["regimen"].map({"a": "x+a", "b": "y+b", "c": " C "})
    assigned = assigned.map({"a": "a+x", "b": "b+y"})
    assert policy_report(scores, truth, assigned) == want
    # a fourth patient without an assigned regimen, and rows without a regimen name
    extra = pd.DataFrame({"patient_id": ["P4", "P4", "P1"], "regimen": ["a+x", pd.NA, None]})
    scores = pd.concat([scores, extra.assign(response_probability=[0.9, 0.1, 0.5])])
    truth = pd.concat([truth, extra.assign(true_response_probability=[0.9, 0.1, 0.5])])
    assigned = pd.concat([assigned, pd.Series({"P4": pd.NA})])
    assert policy_report(scores, truth, assigned) == want
