"""The simulator: reproducible, schema-valid, biologically sane, and its truth is learnable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from predictor.data import schema as S
from predictor.data.cohort import Cohort
from predictor.data.simulator import catalogue as K
from predictor.data.simulator import simulate_cohort, simulate_study
from predictor.data.simulator.generate import draw_state
from predictor.data.simulator.maf import expected_vaf
from predictor.errors import InputError

N = 1200
SEED = 20261127


@pytest.fixture(scope="module")
def sim() -> tuple[Cohort, pd.DataFrame]:
    return simulate_cohort(N, SEED)


@pytest.fixture(scope="module")
def state():
    return draw_state(N, SEED)


def _tables(cohort: Cohort) -> dict[str, pd.DataFrame]:
    return {k: v.reset_index(drop=False) for k, v in cohort.tables().items()}


def test_same_seed_gives_identical_tables_and_truth() -> None:
    a, truth_a = simulate_cohort(300, 5)
    b, truth_b = simulate_cohort(300, 5)
    for name, table in _tables(a).items():
        pd.testing.assert_frame_equal(table, _tables(b)[name], check_exact=True)
    pd.testing.assert_frame_equal(truth_a, truth_b, check_exact=True)
    assert a.fingerprint() == b.fingerprint()


def test_different_seed_gives_different_tables() -> None:
    a, truth_a = simulate_cohort(300, 5)
    b, truth_b = simulate_cohort(300, 6)
    assert a.fingerprint() != b.fingerprint()
    assert not np.allclose(truth_a["true_response_probability"],
                           truth_b["true_response_probability"])


def test_every_table_is_schema_valid_and_linked(sim) -> None:
    cohort, _ = sim
    cohort.validate()  # raises on any schema or link violation
    for name in ("mutations", "cna", "clones", "tme", "ctdna", "outcomes", "samples"):
        assert getattr(cohort, name) is not None and len(getattr(cohort, name)) > 0, name
    assert set(cohort.clinical["cancer_type"]) == set(K.CANCER_TYPES)
    drugs = {d for r in cohort.clinical["regimen"] for d in r.split("+")}
    assert drugs <= set(K.DRUG_CLASS)
    assert (cohort.samples["panel"] == K.PANEL_ID).all()
    assert set(cohort.outcomes["best_response"]) == set(S.RECIST_CATEGORIES)
    out = cohort.outcomes
    assert (out["os_months"] >= out["pfs_months"]).all()
    ne = out["best_response"] == "NE"
    assert out.loc[ne, "responder"].isna().all() and out.loc[~ne, "responder"].notna().all()
    assert 0.005 < ne.mean() < 0.05
    classes = cohort.mutations["Variant_Classification"].value_counts(normalize=True)
    assert 0.5 < classes["Missense_Mutation"] < 0.7 and 0.18 < classes["Silent"] < 0.32
    assert cohort.mutations["HGVSp_Short"].str.match(r"^p\.[A-Z*]").all()


def test_tmb_and_regimens_follow_cancer_type_and_drivers(sim) -> None:
    cohort, _ = sim
    mut = cohort.mutations_by_patient()
    per_patient = mut.groupby("patient_id").size().reindex(cohort.clinical.index, fill_value=0)
    by_type = per_patient.groupby(cohort.clinical["cancer_type"]).median()
    assert by_type["Melanoma"] > by_type["NSCLC"] > by_type["Colorectal"] > by_type["Breast"]
    egfr = mut[(mut["Hugo_Symbol"] == "EGFR")
               & mut["HGVSp_Short"].isin(["p.L858R", "p.E746_A750del"])]["patient_id"].unique()
    clin = cohort.clinical
    nsclc_egfr = clin.index.isin(egfr) & (clin["cancer_type"] == "NSCLC").to_numpy()
    on_tki = clin["regimen"].str.contains("osimertinib|erlotinib|gefitinib")
    assert on_tki[nsclc_egfr].mean() > 0.6 > 0.1 > on_tki[~nsclc_egfr].mean()
    braf_mel = clin.index.isin(mut[mut["HGVSp_Short"] == "p.V600E"]["patient_id"]) & (
        clin["cancer_type"] == "Melanoma").to_numpy()
    assert clin["regimen"][braf_mel].str.contains("dabrafenib|vemurafenib").mean() > 0.4


def test_ground_truth_is_in_no_cohort_table(sim) -> None:
    cohort, truth = sim
    truth_cols = set(truth.columns) - {"patient_id"}
    assert {"true_response_probability", "true_relapse_hazard"} <= truth_cols
    assert truth["true_relapse_hazard"].gt(0).all()
    p = truth.set_index("patient_id")["true_response_probability"]
    for name, table in _tables(cohort).items():
        assert not truth_cols & set(table.columns), name
        if "patient_id" not in table.columns or table["patient_id"].duplicated().any():
            continue
        aligned = p.reindex(table["patient_id"].astype(str)).to_numpy()
        for col in table.select_dtypes("number").columns:
            values = table[col].astype("float64").to_numpy()
            assert not np.allclose(values, aligned, equal_nan=True), (name, col)


def test_expected_vaf_formula() -> None:
    vaf = expected_vaf(np.array([1.0, 0.5, 0.5, 0.6]), np.array([1.0, 1.0, 0.5, 1.0]),
                       np.array([1, 1, 1, 2]), np.array([2, 2, 2, 2]))
    np.testing.assert_allclose(vaf, [0.5, 0.25, 0.125, 0.6])


def test_read_counts_are_binomial_around_the_expected_vaf(monkeypatch) -> None:
    from predictor.data.simulator import maf

    # Fix copy number at 2 and multiplicity at 1 so each row's expected VAF is purity*CCF/2.
    monkeypatch.setattr(maf, "_CN_PROBS", np.array([[0.0, 1.0, 0.0, 0.0]] * 2))
    monkeypatch.setattr(maf, "_ALL_COPIES_RATE", 0.0)
    st = draw_state(300, 9)
    mut = st.maf.mutations
    pat = pd.Series(np.arange(300), index=st.sample_ids)[mut["Tumor_Sample_Barcode"]]
    depth = (mut["t_alt_count"] + mut["t_ref_count"]).to_numpy(float)
    alt = mut["t_alt_count"].to_numpy(float)
    vaf0 = st.genomics.purity[pat.to_numpy()] * mut["ccf"].to_numpy() / 2
    keep = depth * vaf0 > 30  # far from the caller's detection cut-off
    z = (alt - depth * vaf0)[keep] / np.sqrt((depth * vaf0 * (1 - vaf0))[keep])
    assert keep.sum() > 5000
    assert abs(np.median(z)) < 0.1
    robust_sd = 1.4826 * np.median(np.abs(z - np.median(z)))
    assert 0.85 < robust_sd < 1.15  # binomial: noisy, but not over-dispersed
    observed = alt / depth
    assert np.std(observed[keep] - vaf0[keep]) > 0.01
    assert 250 < np.median(depth) < 550 and (mut["t_alt_count"] >= 3).all()


def test_clone_tree_is_nested(sim) -> None:
    cohort, _ = sim
    clones = cohort.clones.copy()
    trunk = clones[clones["parent_clone_id"].isna()]
    assert trunk["sample_id"].is_unique and len(trunk) == len(cohort.samples)
    assert (trunk["ccf"] == 1.0).all()
    sizes = clones.groupby("sample_id").size()
    assert sizes.min() >= 1 and sizes.max() <= 8 and sizes.nunique() > 3
    parents = clones.merge(clones, left_on=["sample_id", "parent_clone_id"],
                           right_on=["sample_id", "clone_id"], suffixes=("", "_parent"))
    assert len(parents) == len(clones) - len(trunk)
    assert (parents["ccf"] <= parents["ccf_parent"]).all()
    children = parents.groupby(["sample_id", "parent_clone_id"])["ccf"].sum()
    parent_ccf = parents.groupby(["sample_id", "parent_clone_id"])["ccf_parent"].first()
    assert (children <= parent_ccf + 0.005).all()  # sum rule, up to rounding
    per_clone = cohort.mutations.groupby(["Tumor_Sample_Barcode", "ccf"]).size()
    assert per_clone.sum() == clones["n_mutations"].sum()


def test_tme_markers_correlate_like_tissue(sim) -> None:
    cohort, _ = sim
    tme = cohort.tme.astype({c: float for c in cohort.tme.columns if c != "patient_id"})
    assert tme["hypoxia"].corr(tme["ph"]) < -0.6
    assert tme["hypoxia"].corr(tme["oxidative_stress"]) > 0.5
    assert tme["microvessel_density"].corr(tme["hypoxia"], method="spearman") < -0.5
    assert (tme["stroma"] >= tme["caf"]).all()


def test_ctdna_falls_on_response_and_rises_before_progression(sim) -> None:
    cohort, _ = sim
    ct = cohort.ctdna.astype({"day": float, "tumor_fraction": float})
    wide = ct.pivot(index="patient_id", columns="day", values="tumor_fraction")
    bor = cohort.outcomes["best_response"].reindex(wide.index)
    ok = wide[0.0] > 0.005
    ratio = wide.loc[ok, 42.0] / wide.loc[ok, 0.0]
    resp = ratio[bor[ok].isin(["CR", "PR"])].dropna()
    prog = ratio[bor[ok] == "PD"].dropna()
    assert len(resp) > 50
    assert resp.median() < 0.4 < 1.0 < ct.groupby("patient_id").size().max()
    assert resp.median() < prog.median()
    # Responders who later progress: the last ctDNA before progression is above the nadir.
    out = cohort.outcomes
    relapsed = out.index[out["best_response"].isin(["CR", "PR"]) & (out["pfs_event"] == 1)]
    series = ct[ct["patient_id"].isin(relapsed)].groupby("patient_id")["tumor_fraction"]
    long = series.size() >= 4
    rising = (series.last() > series.min())[long]
    assert len(rising) > 20 and rising.mean() > 0.6


def test_targeted_drugs_need_their_target(state) -> None:
    osi = np.full(N, K.REGIMENS.index("osimertinib"))
    p = state.truth(osi)["true_response_probability"]
    gen = state.genomics
    egfr = gen.has("EGFR_L858R") | gen.has("EGFR_EX19DEL")
    assert egfr.sum() > 20
    assert p[egfr].mean() > p[~egfr].mean() + 0.4

    erl = state.truth(np.full(N, K.REGIMENS.index("erlotinib")))
    t790 = egfr & gen.has("EGFR_T790M")
    assert t790.sum() > 3
    assert erl["true_relapse_hazard"][t790].mean() > erl["true_relapse_hazard"][
        egfr & ~t790].mean()


def test_immune_and_chemo_mechanisms(state) -> None:
    pembro = state.truth(np.full(N, K.REGIMENS.index("pembrolizumab")))
    p = pd.Series(pembro["true_response_probability"])
    assert p.corr(pd.Series(np.log1p(state.maf.clonal_nonsyn)), method="spearman") > 0.3
    assert p.corr(pd.Series(state.tme["cd8"]), method="spearman") > 0.2
    loss = state.genomics.has("B2M_L15FS") | state.genomics.has("JAK1_Q503X")
    assert p[loss].mean() < p[~loss].mean()

    chemo = state.truth(np.full(N, K.REGIMENS.index("carboplatin+pemetrexed")))
    q = pd.Series(chemo["true_response_probability"])
    assert q.corr(pd.Series(state.tme["hypoxia"]), method="spearman") < -0.3

    combo = state.truth(np.full(N, K.REGIMENS.index("carboplatin+pemetrexed+pembrolizumab")))
    both = combo["true_response_probability"]
    assert (both >= np.maximum(p, q) - 1e-12).all()
    assert combo["true_relapse_hazard"].mean() < chemo["true_relapse_hazard"].mean()


def test_oracle_separates_sampled_labels(sim) -> None:
    cohort, truth = sim
    y = cohort.outcomes["responder"].astype("Float64")
    p = truth.set_index("patient_id")["true_response_probability"].reindex(y.index)
    ok = y.notna().to_numpy()
    auc = roc_auc_score(y[ok].astype(int), p[ok])
    assert 0.75 < auc < 0.95


def _hand_features(cohort: Cohort) -> pd.DataFrame:
    """Simple per-patient features a user could compute from the tables."""
    clin = cohort.clinical
    mut = cohort.mutations_by_patient()
    nonsyn = mut["Variant_Classification"].isin(S.NONSYNONYMOUS_CLASSES)
    clonal = mut[nonsyn & (mut["ccf"] >= 0.9)].groupby("patient_id").size()
    change = mut["Hugo_Symbol"].astype(str) + ":" + mut["HGVSp_Short"].astype(str)
    has = change.groupby(mut["patient_id"]).agg(set).reindex(clin.index)
    has = has.apply(lambda s: s if isinstance(s, set) else set())

    def any_of(*keys: str) -> pd.Series:
        return has.apply(lambda s: float(any(k in s for k in keys)))

    reg = clin["regimen"].astype(str)
    on = {cls: reg.apply(lambda r, c=cls: float(any(K.DRUG_CLASS[d] == c
                                                    for d in r.split("+"))))
          for cls in set(K.DRUG_CLASS.values())}
    egfr = any_of("EGFR:p.L858R", "EGFR:p.E746_A750del")
    match = (np.maximum(on["egfr_tki_1g"], on["egfr_tki_3g"]) * egfr
             + on["braf_i"] * any_of("BRAF:p.V600E")
             + on["kras_g12c_i"] * any_of("KRAS:p.G12C")
             + on["pi3k_i"] * any_of("PIK3CA:p.H1047R", "PIK3CA:p.E545K"))
    targeted = np.clip(sum(on[c] for c in K.TARGETED_CLASSES if c != "mek_i"), 0, 1)
    ici = np.clip(on["anti_pd1"] + on["anti_pdl1"] + on["anti_ctla4"], 0, 1)
    chemo = np.clip(on["platinum"] + on["antimetabolite"] + on["taxane"], 0, 1)
    tme = cohort.tme.set_index("patient_id").reindex(clin.index).astype(float)
    log_ctmb = np.log1p(clonal.reindex(clin.index).fillna(0))
    loss = any_of("B2M:p.L15fs", "JAK1:p.Q503*", "JAK2:p.I682fs")
    return pd.DataFrame({
        "match": match, "mismatch": targeted * (1 - np.clip(match, 0, 1)),
        "ici": ici, "ici_tmb": ici * log_ctmb, "ici_cd8": ici * np.log(tme["cd8"] + 1e-3),
        "ici_loss": ici * loss, "chemo": chemo, "chemo_hypoxia": chemo * tme["hypoxia"],
        "melanoma": (clin["cancer_type"] == "Melanoma").astype(float),
        "log_nlr": np.log(clin["nlr"].astype(float)), "albumin": clin["albumin"].astype(float),
        "line": clin["line_of_therapy"].astype(float),
    }, index=clin.index)


def test_truth_is_learnable_by_a_plain_model(sim) -> None:
    cohort, _ = sim
    X = _hand_features(cohort)
    y = cohort.outcomes["responder"].astype("Float64").reindex(X.index)
    ok = y.notna().to_numpy()
    X, y = X[ok], y[ok].astype(int)
    cut = int(0.7 * len(X))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(X.iloc[:cut], y.iloc[:cut])
    auc = roc_auc_score(y.iloc[cut:], model.predict_proba(X.iloc[cut:])[:, 1])
    assert auc > 0.7


def test_true_relapse_risk_orders_observed_progression(sim) -> None:
    from predictor.evaluation.metrics import harrell_c

    cohort, truth = sim
    out = cohort.outcomes
    pfs12 = truth.set_index("patient_id")["true_pfs_12m"].reindex(out.index)
    c = harrell_c(out["pfs_months"].to_numpy(float), out["pfs_event"].to_numpy(float),
                  1.0 - pfs12.to_numpy(float))
    assert c > 0.7


def test_simulate_study_writes_a_readable_study(tmp_path) -> None:
    from predictor.data.readers import read_cohort

    out = tmp_path / "study"
    summary = simulate_study(150, 3, out)
    assert str(out) in summary and "150 patients" in summary
    assert (out / "ground_truth.tsv").exists() and (out / "meta_study.txt").exists()
    cohort = read_cohort(out)
    direct, truth = simulate_cohort(150, 3)
    assert len(cohort) == 150 and len(cohort.mutations) == len(direct.mutations)
    assert "true_response_probability" not in cohort.clinical.columns
    written = pd.read_csv(out / "ground_truth.tsv", sep="\t")
    pd.testing.assert_frame_equal(written, truth, check_dtype=False, atol=1e-9)
    with pytest.raises(InputError):
        simulate_study(10, 3, out)  # never overwrites an existing study
    with pytest.raises(InputError):
        simulate_study(0, 3, tmp_path / "empty")
    with pytest.raises(InputError):
        simulate_study(10, -1, tmp_path / "negative")
    assert not (tmp_path / "empty").exists() and not (tmp_path / "negative").exists()


def test_cli_simulate_writes_then_refuses_to_overwrite(tmp_path) -> None:
    from click.testing import CliRunner

    from predictor.cli import app

    out = tmp_path / "cli_study"
    runner = CliRunner()
    first = runner.invoke(app, ["simulate", "--patients", "30", "--seed", "2", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert "30 patients" in first.output and (out / "data_mutations.txt").exists()
    before = (out / "data_mutations.txt").read_bytes()
    again = runner.invoke(app, ["simulate", "--patients", "30", "--seed", "3", "--out", str(out)])
    assert again.exit_code == 2 and "not empty" in again.output
    assert (out / "data_mutations.txt").read_bytes() == before


def test_bench_simulate_prints_a_table(capsys) -> None:
    from predictor.bench.simulate import run

    run([40])
    printed = capsys.readouterr().out
    assert "simulate+write" in printed and "read back" in printed and "peak RSS MB" in printed
