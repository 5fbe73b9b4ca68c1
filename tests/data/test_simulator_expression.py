"""Simulated tumour RNA-seq: shape and unit, reproducible, independent of every other table,
and its marker programmes follow the true micro-environment."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr

from predictor.data.cbioportal import read_cbioportal
from predictor.data.simulator import simulate_cohort, simulate_study
from predictor.data.simulator.expression import (
    N_FULL_GENES,
    N_SMALL_BACKGROUND,
    PROGRAMMES,
    marker_genes,
)
from predictor.data.simulator.generate import simulate_with_tme_truth
from predictor.errors import InputError

N = 800
SEED = 20261127


@pytest.fixture(scope="module")
def sim():
    return simulate_with_tme_truth(N, SEED)


def _programme_scores(cohort) -> pd.DataFrame:
    """Per patient, the mean within-sample rank (0-1) of each programme's marker genes."""
    expr = cohort.expression.by_patient(cohort.samples, cohort.clinical.index)
    ranks = rankdata(expr.values, axis=0) / expr.shape[0]
    return pd.DataFrame({name: ranks[expr.gene_rows(genes)].mean(axis=0)
                         for name, genes in PROGRAMMES.items()}, index=expr.samples)


def test_expression_has_samples_genes_and_unit(sim) -> None:
    cohort, _, truth_tme = sim
    expr = cohort.expression
    assert expr.unit == "tpm"
    assert expr.shape == (len(marker_genes()) + N_SMALL_BACKGROUND, N)
    assert list(expr.samples) == list(cohort.samples["sample_id"])
    assert {"CD8A", "FOXP3", "CD163", "FAP", "PECAM1", "CA9", "NQO1", "MKI67", "B2M"} <= set(
        expr.genes)
    assert expr.genes.str.match(r"^GENE\d{5}$").sum() == N_SMALL_BACKGROUND
    v = expr.values
    assert np.isfinite(v).all() and (v >= 0).all()
    assert 0.01 < (v == 0).mean() < 0.3  # low genes read 0, as in real RNA-seq
    assert list(truth_tme["patient_id"]) == list(cohort.clinical.index)
    fractions = truth_tme.filter(like="_fraction")
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, atol=1e-4)


def test_same_seed_identical_and_other_tables_unchanged_by_expression() -> None:
    a, truth_a = simulate_cohort(200, 7)
    b, _ = simulate_cohort(200, 7)
    off, truth_off = simulate_cohort(200, 7, expression="none")
    assert off.expression is None
    np.testing.assert_array_equal(a.expression.values, b.expression.values)
    assert a.fingerprint() == b.fingerprint()
    for name, table in off.tables().items():  # every table but expression: bit-identical
        pd.testing.assert_frame_equal(a.tables()[name], table, check_exact=True)
    pd.testing.assert_frame_equal(truth_a, truth_off, check_exact=True)
    other, _ = simulate_cohort(200, 8)
    assert not np.array_equal(other.expression.values, a.expression.values)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_study_files_identical_with_and_without_expression(tmp_path: Path) -> None:
    simulate_study(150, 3, tmp_path / "on")
    simulate_study(150, 3, tmp_path / "again")
    simulate_study(150, 3, tmp_path / "off", expression="none")
    on, again, off = (_digests(tmp_path / k) for k in ("on", "again", "off"))
    assert on == again
    added = set(on) - set(off)
    assert added == {"data_mrna_seq_tpm.txt", "meta_mrna_seq_tpm.txt", "ground_truth_tme.tsv"}
    assert {k: on[k] for k in off} == off
    back = read_cbioportal(tmp_path / "on")
    assert back.expression is not None and back.expression.unit == "tpm"
    assert back.expression.shape == (len(marker_genes()) + N_SMALL_BACKGROUND, 150)


def test_bad_expression_mode_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--expression-genes"):
        simulate_study(10, 1, tmp_path / "x", expression="medium")
    assert not (tmp_path / "x").exists()


def test_marker_programmes_track_the_true_tme(sim) -> None:
    cohort, _, truth_tme = sim
    scores = _programme_scores(cohort)
    tme = cohort.tme.set_index("patient_id").reindex(scores.index)
    truth = truth_tme.set_index("patient_id").reindex(scores.index)
    rho = {name: spearmanr(scores[name], tme[name])[0]
           for name in ("cd8", "caf", "hypoxia", "m2_macrophage", "oxidative_stress",
                        "microvessel_density")}
    rho["proliferation"] = spearmanr(scores["proliferation"], truth["true_proliferation"])[0]
    for name in ("cd8", "caf", "hypoxia", "proliferation"):
        assert rho[name] > 0.6, (name, rho)
    for name in ("m2_macrophage", "oxidative_stress", "microvessel_density"):
        assert rho[name] > 0.4, (name, rho)
    # ... but not trivially: noise, shared genes and purity dilution keep it below a copy.
    assert max(rho.values()) < 0.99, rho
    # A programme does not follow an unrelated latent value.
    assert abs(spearmanr(scores["cd8"], tme["hypoxia"])[0]) < 0.3


def test_purity_dilutes_the_microenvironment(sim) -> None:
    cohort, _, _ = sim
    scores = _programme_scores(cohort)
    purity = cohort.samples.set_index("patient_id")["purity"].reindex(scores.index)
    assert spearmanr(scores["stroma"], purity)[0] < -0.2


def test_full_width_has_twenty_thousand_genes() -> None:
    cohort, _ = simulate_cohort(20, 1, expression="full")
    small, _ = simulate_cohort(20, 1)
    assert cohort.expression.shape == (N_FULL_GENES, 20)
    assert set(small.expression.genes) <= set(cohort.expression.genes)


def test_cli_expression_genes_option(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from predictor.cli import app

    runner = CliRunner()
    off = runner.invoke(app, ["simulate", "--patients", "20", "--seed", "4", "--out",
                              str(tmp_path / "off"), "--expression-genes", "none"])
    assert off.exit_code == 0, off.output
    assert not (tmp_path / "off" / "data_mrna_seq_tpm.txt").exists()
    small = runner.invoke(app, ["simulate", "--patients", "20", "--seed", "4", "--out",
                                str(tmp_path / "small")])
    assert small.exit_code == 0 and "genes (TPM)" in small.output, small.output
    header = (tmp_path / "small" / "data_mrna_seq_tpm.txt").read_text().splitlines()[0]
    assert header.split("\t")[0] == "Hugo_Symbol" and len(header.split("\t")) == 21
    bad = runner.invoke(app, ["simulate", "--patients", "20", "--out", str(tmp_path / "bad"),
                              "--expression-genes", "wide"])
    assert bad.exit_code == 2 and "--expression-genes" in bad.output
    assert not (tmp_path / "bad").exists()
