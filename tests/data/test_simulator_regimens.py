"""Confounded regimen assignment and the per-regimen (counterfactual) truth of the simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictor.data.simulator import catalogue as K
from predictor.data.simulator import generate, simulate_cohort, simulate_regimen_truth
from predictor.data.simulator import regimens as RG
from predictor.data.simulator.generate import draw_state

N = 1500
SEED = 20261127


@pytest.fixture(scope="module")
def state():
    return draw_state(N, SEED)


def test_fitter_patients_get_combinations_more_often(state) -> None:
    fit = RG.fitness(state.patients)
    combo = RG.COMBINATION[state.regimen]
    low, high = fit < np.quantile(fit, 1 / 3), fit > np.quantile(fit, 2 / 3)
    assert combo[high].mean() > combo[low].mean() + 0.15
    # Age alone: the oldest quarter gets fewer combinations than the youngest quarter.
    age = state.patients.age
    assert combo[age > np.quantile(age, 0.75)].mean() < combo[age < np.quantile(age, 0.25)].mean()
    # The assignment probabilities move the same way for every patient (log-linear tilt).
    w = RG.assignment_weights(state.patients, state.genomics, state.clones.msi)
    p_combo = (w * RG.COMBINATION).sum(axis=1)
    assert np.corrcoef(fit, p_combo)[0, 1] > 0.3


def test_targeted_drugs_follow_the_indication_with_a_documented_discordant_share(state) -> None:
    gen, pat = state.genomics, state.patients
    names = np.array(K.REGIMENS)[state.regimen]
    nsclc = pat.cancer == K.CANCER_TYPES.index("NSCLC")
    egfr = (gen.has("EGFR_L858R") | gen.has("EGFR_EX19DEL")) & nsclc
    tki = pd.Series(names).str.contains("osimertinib|erlotinib|gefitinib").to_numpy()
    assert tki[egfr].mean() > 0.6 and tki[nsclc & ~egfr].mean() < 0.1
    share = RG.discordant_share(pat, gen, state.clones.msi, state.regimen)
    assert 0.02 < share < 0.08


def test_assignment_weights_are_a_distribution_over_the_cancer_types_candidates(state) -> None:
    w = RG.assignment_weights(state.patients, state.genomics, state.clones.msi)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    allowed = RG.candidate_matrix()[state.patients.cancer]
    assert (w[~allowed] == 0).all()
    assert (w[allowed] >= RG.DISCORDANT_RATE / 17 - 1e-12).all()  # every candidate possible
    assert allowed[np.arange(N), state.regimen].all()  # the drawn regimen is a candidate


def test_only_the_regimen_stream_depends_on_the_assignment_rules(monkeypatch, state) -> None:
    def other_rule(pat, gen, msi, rng):
        rng.random(10_000)  # consume draws differently: no other stream may notice
        return np.full(len(pat), K.REGIMENS.index("docetaxel"))

    monkeypatch.setattr(generate, "assign_regimens", other_rule)
    other = draw_state(N, SEED)
    for name in ("cancer", "age", "line", "nlr", "albumin", "site"):
        np.testing.assert_array_equal(getattr(other.patients, name),
                                      getattr(state.patients, name))
    np.testing.assert_array_equal(other.genomics.variant_clone, state.genomics.variant_clone)
    np.testing.assert_array_equal(other.clones.ccf, state.clones.ccf)
    pd.testing.assert_frame_equal(other.maf.mutations, state.maf.mutations)
    for key, values in state.tme.items():
        np.testing.assert_array_equal(other.tme[key], values)
    for stream in ("outcomes", "ctdna"):
        assert other.rng[stream].random() == state.rng[stream].random()


def test_regimen_truth_has_every_candidate_and_the_assigned_row_equals_the_truth() -> None:
    cohort, truth = simulate_cohort(400, 7, expression="none")
    rt = simulate_regimen_truth(400, 7)
    assert list(rt.columns) == ["patient_id", "regimen", "true_response_probability",
                                "true_pfs_12m"]
    assert not rt.duplicated(["patient_id", "regimen"]).any()
    cancer = cohort.clinical["cancer_type"].astype(str)
    got = rt.groupby("patient_id")["regimen"].agg(tuple)
    want = cancer.map(lambda c: RG.CANDIDATES[c])
    assert got.reindex(want.index).tolist() == want.tolist()
    assigned = cohort.clinical["regimen"].astype(str)
    own = rt.merge(assigned.rename("regimen").reset_index(), on=["patient_id", "regimen"])
    assert len(own) == 400
    expected = truth[["patient_id", "true_response_probability", "true_pfs_12m"]]
    pd.testing.assert_frame_equal(own.drop(columns="regimen").reset_index(drop=True),
                                  expected.reset_index(drop=True), check_exact=True)
    # The candidates really differ: regimen choice matters for most patients.
    spread = rt.groupby("patient_id")["true_response_probability"].agg(np.ptp)
    assert (spread > 0.1).mean() > 0.8


def test_regimen_truth_is_counterfactual_biology() -> None:
    rt = simulate_regimen_truth(600, 11).set_index(["patient_id", "regimen"])
    p = rt["true_response_probability"]
    combo = p.xs("carboplatin+pemetrexed+pembrolizumab", level="regimen")
    pembro = p.xs("pembrolizumab", level="regimen").reindex(combo.index)
    assert (combo >= pembro - 1e-6).all()  # independent drug action: adding a drug never hurts
    with pytest.raises(ValueError):
        simulate_regimen_truth(0, 1)
