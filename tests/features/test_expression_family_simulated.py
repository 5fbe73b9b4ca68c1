"""The expression TME family on simulated RNA-seq: every signature is scored, and the scores
follow the simulator's true micro-environment (the state the outcome mechanisms use)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from scipy.stats import spearmanr

from predictor.data.simulator.generate import simulate_with_tme_truth
from predictor.features.expression import ExpressionTMEFeatures
from predictor.features.knowledge import load_expression_signatures


@pytest.fixture(scope="module")
def scored():
    cohort, _, truth_tme = simulate_with_tme_truth(800, 20261127)
    family = ExpressionTMEFeatures().fit(cohort)
    scores = family.transform(cohort)
    tme = cohort.tme.set_index("patient_id").reindex(scores.index)
    truth = truth_tme.set_index("patient_id").reindex(scores.index)
    return family, scores, tme, truth


def test_every_signature_is_covered_by_the_simulated_panel(caplog) -> None:
    cohort, _, _ = simulate_with_tme_truth(60, 3)
    with caplog.at_level(logging.WARNING, logger="predictor.features.expression"):
        family = ExpressionTMEFeatures().fit(cohort)
    assert not [r for r in caplog.records if "dropped" in r.getMessage()]
    assert set(family.signatures_) == set(load_expression_signatures()["signatures"])


# (score, true value, column source, lower bound on Spearman's rho; negative = inverse)
TRACKS = [
    ("rna_cd8_t_cells", "cd8", "tme", 0.7),
    ("rna_t_cell_inflamed", "cd8", "tme", 0.7),
    ("rna_cytolytic_activity", "cd8", "tme", 0.6),
    ("rna_caf", "caf", "tme", 0.6),
    ("rna_tgfb_fibroblast", "stroma", "tme", 0.6),
    ("rna_m1_macrophages", "m1_macrophage", "tme", 0.6),
    ("rna_m2_macrophages", "m2_macrophage", "tme", 0.5),
    ("rna_treg", "treg", "tme", 0.35),
    ("rna_hypoxia", "hypoxia", "tme", 0.6),
    ("rna_glycolysis", "ph", "tme", -0.6),
    ("rna_nrf2_oxidative_stress", "oxidative_stress", "tme", 0.6),
    ("rna_b_cells", "true_b_cell_fraction", "truth", 0.6),
    ("rna_proliferation", "true_proliferation", "truth", 0.8),
    ("rna_mhc_i_antigen_presentation", "true_ifn_gamma", "truth", 0.6),
]


@pytest.mark.parametrize(("score", "true", "source", "bound"), TRACKS)
def test_family_scores_track_the_true_tme(scored, score, true, source, bound) -> None:
    _, scores, tme, truth = scored
    target = (tme if source == "tme" else truth)[true]
    rho = spearmanr(scores[score], target)[0]
    assert rho > bound if bound > 0 else rho < bound, (score, true, rho)


def test_scores_are_specific(scored) -> None:
    """A score follows its own latent value more than an unrelated one."""
    _, scores, tme, _ = scored
    own = spearmanr(scores["rna_cd8_t_cells"], tme["cd8"])[0]
    other = spearmanr(scores["rna_cd8_t_cells"], tme["hypoxia"])[0]
    assert own - abs(other) > 0.5
    assert abs(spearmanr(scores["rna_hypoxia"], tme["cd8"])[0]) < 0.3
    frame = pd.DataFrame({"caf": scores["rna_caf"], "cd8": scores["rna_cd8_t_cells"]})
    assert frame.corr(method="spearman").iloc[0, 1] < 0.3
