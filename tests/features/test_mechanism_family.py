"""Drug knowledge base and mechanism features (targets, resistance, bypass, combinations)."""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import clinical_table, make_cohort

from predictor.data.expression import Expression
from predictor.errors import InputError
from predictor.features.knowledge import load_drugs
from predictor.features.mechanism import MechanismFeatures

SIMULATOR_DRUGS = (
    "osimertinib", "erlotinib", "gefitinib", "dabrafenib", "trametinib", "vemurafenib",
    "sotorasib", "alpelisib", "pembrolizumab", "nivolumab", "atezolizumab", "durvalumab",
    "ipilimumab", "tremelimumab", "carboplatin", "cisplatin", "pemetrexed", "paclitaxel",
    "docetaxel", "gemcitabine", "fluorouracil", "oxaliplatin",
)


@pytest.fixture(scope="module")
def kb() -> dict:
    return load_drugs()


def _hgvsp_hits(spec_list: list[dict], gene: str, change: str) -> bool:
    return any(s["gene"] == gene and any(re.search(p, change) for p in s.get("hgvsp", []))
               for s in spec_list)


def test_knowledge_base_has_every_drug_with_class_and_mechanism(kb):
    missing = [d for d in SIMULATOR_DRUGS if d not in kb]
    assert not missing
    assert kb["pembrolizumab"]["class"] == "anti_pd1"
    assert kb["atezolizumab"]["class"] == "anti_pdl1"
    assert kb["ipilimumab"]["mechanism"] == "immunotherapy"
    assert kb["cisplatin"]["class"] == kb["carboplatin"]["class"] == "platinum"
    assert {kb[d]["mechanism"] for d in SIMULATOR_DRUGS} == {
        "targeted", "immunotherapy", "chemotherapy"}


def test_knowledge_base_targets_and_resistance(kb):
    assert _hgvsp_hits(kb["erlotinib"]["targets"], "EGFR", "L858R")
    assert _hgvsp_hits(kb["gefitinib"]["targets"], "EGFR", "E746_A750del")  # exon 19 deletion
    assert _hgvsp_hits(kb["gefitinib"]["targets"], "EGFR", "L747_P753delinsS")
    assert not _hgvsp_hits(kb["gefitinib"]["targets"], "EGFR", "T790M")
    assert _hgvsp_hits(kb["erlotinib"]["resistance"], "EGFR", "T790M")
    assert _hgvsp_hits(kb["osimertinib"]["targets"], "EGFR", "T790M")
    assert _hgvsp_hits(kb["osimertinib"]["resistance"], "EGFR", "C797S")
    assert _hgvsp_hits(kb["sotorasib"]["resistance"], "KRAS", "Y96D")
    assert _hgvsp_hits(kb["dabrafenib"]["bypass"], "NRAS", "Q61K")
    assert any(s["gene"] == "MET" and s.get("cna") == [2] for s in kb["osimertinib"]["bypass"])


def test_bad_knowledge_base_is_an_input_error(tmp_path):
    path = tmp_path / "drugs.yaml"
    path.write_text("drugs:\n  foo:\n    class: x\n    mechanism: magic\n")
    with pytest.raises(InputError, match="mechanism"):
        load_drugs(path)
    with pytest.raises(InputError, match="not found"):
        load_drugs(tmp_path / "absent.yaml")


def test_target_resistance_bypass_with_clonality(cohort, kb):
    X = MechanismFeatures(drugs=kb).fit_transform(cohort)
    p1 = X.loc["p1"]  # osimertinib; EGFR L858R at CCF 1.0, C797S at CCF 0.4, MET amplified
    assert p1["rx_class_egfr_tki_3g"] == 1 and p1["rx_mech_targeted"] == 1
    assert (p1["rx_target_altered"], p1["rx_target_clonal"], p1["rx_target_subclonal"]) == (
        1, 1, 0)
    assert (p1["rx_resistance_clonal"], p1["rx_resistance_subclonal"]) == (0, 1)
    assert p1["rx_resistance_max_ccf"] == pytest.approx(0.4)
    assert p1["rx_bypass_altered"] == 1
    p2 = X.loc["p2"]  # pembrolizumab; B2M frameshift of unknown CCF
    assert p2["rx_resistance_altered"] == 1 and np.isnan(p2["rx_resistance_clonal"])
    assert p2["rx_target_altered"] == 0
    p3 = X.loc["p3"]  # dabrafenib+trametinib, not sequenced
    assert (p3["rx_n_drugs"], p3["rx_n_classes"], p3["rx_n_mechanisms"]) == (2, 2, 1)
    assert np.isnan(p3["rx_target_altered"]) and np.isnan(p3["rx_bypass_altered"])


def test_unknown_drug_gives_nan_and_one_warning(kb, caplog):
    clinical = clinical_table()
    clinical.loc[1, "regimen"] = "pembrolizumab+wonderdrug"
    clinical.loc[2, "regimen"] = "wonderdrug+otherdrug"
    cohort = make_cohort(clinical=clinical)
    with caplog.at_level(logging.WARNING):
        X = MechanismFeatures(drugs=kb).fit_transform(cohort)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "otherdrug, wonderdrug" in warnings[0].getMessage()
    assert X.loc[["p2", "p3"]].isna().all().all()
    assert X.loc["p1", "rx_class_egfr_tki_3g"] == 1


def test_without_genomic_tables_only_regimen_features(kb):
    X = MechanismFeatures(drugs=kb).fit_transform(make_cohort(mutations=None, cna=None))
    assert "rx_target_altered" not in X.columns
    assert X.loc["p3", "rx_class_braf_inhibitor"] == 1
    assert X.loc["p3", "rx_class_mek_inhibitor"] == 1


def test_a_hit_counts_even_where_a_table_is_missing_for_the_patient(kb):
    cna = pd.DataFrame({"sample_id": ["s1"], "Hugo_Symbol": ["MET"], "cna": [2]})
    X = MechanismFeatures(drugs=kb).fit_transform(make_cohort(cna=cna))
    # p2 has no CNA row: its B2M frameshift still counts; "no bypass" cannot be claimed.
    assert X.loc["p2", "rx_resistance_altered"] == 1
    assert np.isnan(X.loc["p2", "rx_bypass_altered"])
    assert X.loc["p1", "rx_bypass_altered"] == 1


# ---------------------------------------------------------------- RNA expression markers
def _marker_expression() -> Expression:
    # s1 (osimertinib, no marker), s2 (pembrolizumab: CD274, PDCD1), s3 (no marker drug).
    genes = ["CD274", "PDCD1", "G1", "G2", "G3"]
    values = np.array([[1.0, 40.0, 2.0], [2.0, 10.0, 2.0], [3.0, 0.0, 2.0],
                       [4.0, 20.0, 2.0], [5.0, 30.0, 2.0]])
    return Expression(values, genes, ["s1", "s2", "s3"], "tpm")


def test_marker_expression_is_the_within_sample_percentile():
    cohort = make_cohort(expression=_marker_expression())
    family = MechanismFeatures(drugs=load_drugs(expression_markers=True)).fit(cohort)
    assert family.feature_names_[-1] == "rx_marker_expression"
    assert family.marker_genes_ == ["CD274", "PDCD1"]  # drugs of the training regimens only
    full = family.transform(cohort)
    out = full["rx_marker_expression"]
    # s2: CD274 = 40 is the top of 5 genes (percentile 1), PDCD1 = 10 is rank 2 -> 0.25.
    assert out["p2"] == pytest.approx((1.0 + 0.25) / 2)
    assert np.isnan(out["p1"]) and np.isnan(out["p3"])  # regimens without marker genes
    # Expression absent at transform: NaN, other features unchanged.
    plain = family.transform(make_cohort())
    assert plain["rx_marker_expression"].isna().all()
    pd.testing.assert_frame_equal(plain.drop(columns="rx_marker_expression"),
                                  full.drop(columns="rx_marker_expression"))


def test_without_expression_or_markers_mechanism_state_is_unchanged():
    from predictor.features.base import estimator_to_state

    assert not any("expression_markers" in d for d in load_drugs().values())
    base = estimator_to_state(MechanismFeatures(drugs=load_drugs()).fit(make_cohort()))
    with_kb = estimator_to_state(
        MechanismFeatures(drugs=load_drugs()).fit(make_cohort(expression=_marker_expression())))
    assert with_kb == base  # markers not loaded: RNA-seq changes nothing
    marked = MechanismFeatures(drugs=load_drugs(expression_markers=True)).fit(make_cohort())
    assert "marker_genes_" not in estimator_to_state(marked)["attributes"]
    assert "rx_marker_expression" not in marked.feature_names_


def test_every_regimen_of_the_icb_rnaseq_cohorts_is_in_the_knowledge_base(shared_data, caplog):
    """Class-level names (anti-pd-1, anti-pd-(l)1) and the combination partners (leucovorin,
    sotigalimab) of the 7 shared ICB RNA-seq cohorts: no patient with NaN mechanism features."""
    from predictor.data.readers import read_cohort
    from predictor.data.regimens import regimen_drugs

    root = shared_data / "icb_rnaseq"
    if not root.is_dir():
        pytest.skip("../shared/data/icb_rnaseq is not here")
    cohort = read_cohort(sorted(p for p in root.iterdir() if p.is_dir()))
    kb = load_drugs(expression_markers=True)
    drugs = {d for r in cohort.clinical["regimen"].dropna() for d in regimen_drugs(r)}
    assert {"anti-pd-1", "anti-pd-(l)1", "leucovorin", "sotigalimab"} <= drugs
    assert sorted(drugs - set(kb)) == []
    assert kb["anti-pd-1"]["class"] == kb["nivolumab"]["class"] == "anti_pd1"
    assert kb["anti-pd-(l)1"]["mechanism"] == kb["sotigalimab"]["mechanism"] == "immunotherapy"
    with caplog.at_level(logging.WARNING, logger="predictor.features.mechanism"):
        out = MechanismFeatures(drugs=kb).fit(cohort).transform(cohort)
    assert not [r for r in caplog.records if "not in the knowledge base" in r.getMessage()]
    assert cohort.clinical["regimen"].notna().all()
    assert out["rx_mech_immunotherapy"].notna().all() and (out["rx_mech_immunotherapy"] == 1).all()
    sotigalimab = cohort.clinical["regimen"].str.contains("sotigalimab").to_numpy()
    assert sotigalimab.sum() == 20 and (out.loc[sotigalimab, "rx_class_cd40_agonist"] == 1).all()
