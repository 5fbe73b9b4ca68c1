"""What-if regimens: ``Predictor.predict_regimens`` and ``predictor predict --regimens``."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from predictor.cli import app
from predictor.data.regimens import regimen_key, regimens_by_cancer_type, with_regimen
from predictor.errors import InputError
from predictor.serving.bundle import load_bundle, save_bundle
from predictor.serving.regimens import parse_regimens_option

runner = CliRunner()
HORIZONS = (6.0, 12.0, 24.0)


def _save(out: Path, fitted, cohort, pipeline=None, regimens=True, propensity=None) -> Path:
    document = ({"by_cancer_type": regimens_by_cancer_type(cohort.clinical),
                 "propensity": propensity} if regimens else None)
    return save_bundle(out, feature_pipeline=pipeline or fitted["pipeline"],
                       heads={"response": fitted["response"], "relapse": fitted["relapse"]},
                       input_mapping=None,
                       label_rule={"source": "best_response", "positive": ["CR", "PR"]},
                       horizons=HORIZONS, metadata={"fingerprint": cohort.fingerprint()},
                       probe_cohort=cohort, training_features=fitted["X"], regimens=document)


@pytest.fixture(scope="module")
def regimen_bundle(tmp_path_factory, fitted, sim_cohort) -> Path:
    return _save(tmp_path_factory.mktemp("regimens") / "model", fitted, sim_cohort)


@pytest.fixture(scope="module")
def predictor(regimen_bundle):
    return load_bundle(regimen_bundle)


@pytest.fixture(scope="module")
def whatif(predictor, sim_cohort) -> pd.DataFrame:
    return predictor.predict_regimens(sim_cohort, "all")


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    return frame.select_dtypes("number").to_numpy(dtype=np.float64)


def test_bundle_stores_the_training_regimens(regimen_bundle, sim_cohort, predictor):
    stored = json.loads((regimen_bundle / "regimens.json").read_text())
    assert stored["by_cancer_type"] == regimens_by_cancer_type(sim_cohort.clinical)
    assert stored["propensity"] is None
    assert predictor.regimens["by_cancer_type"] == stored["by_cancer_type"]
    # the manifest's sha256 list (signed) covers the file: an edit is refused on load
    assert "regimens.json" in predictor.manifest["files"]


def test_edited_regimen_list_is_refused(regimen_bundle, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(regimen_bundle, copy)
    path = copy / "regimens.json"
    path.write_text(path.read_text().replace("]", ', "osimertinib"]', 1))
    with pytest.raises(InputError, match="sha256"):
        load_bundle(copy)


def test_candidates_observed_and_rank(whatif, sim_cohort, predictor):
    clinical = sim_cohort.clinical
    by_type = predictor.regimens["by_cancer_type"]
    assert list(whatif.columns[:3]) == ["patient_id", "regimen", "observed"]
    assert list(whatif.columns[3:-2]) == predictor.output_columns[1:]
    assert list(whatif.columns[-2:]) == ["rank", "supported"]
    for pid, rows in whatif.groupby("patient_id", sort=False):
        own, ctype = clinical.loc[pid, "regimen"], clinical.loc[pid, "cancer_type"]
        want = {regimen_key(r) for r in by_type[ctype]} | {regimen_key(own)}
        assert {regimen_key(r) for r in rows["regimen"]} == want
        assert rows["observed"].sum() == 1
        assert rows.loc[rows["observed"], "regimen"].item() == own
        assert rows["rank"].tolist() == list(range(1, len(rows) + 1))
        probs = rows["response_probability"].to_numpy()
        assert (np.diff(probs) <= 1e-10).all()  # rank 1 = highest response probability
    assert whatif["supported"].all()  # every candidate was given to the cancer type
    # patients keep the input order
    assert list(dict.fromkeys(whatif["patient_id"])) == list(clinical.index.astype(str))


def test_observed_row_equals_plain_predict(whatif, predictor, sim_cohort):
    plain = predictor.predict(sim_cohort).set_index("patient_id")
    observed = whatif[whatif["observed"]].set_index("patient_id")
    cols = predictor.output_columns[1:]
    np.testing.assert_allclose(observed.loc[plain.index, cols].to_numpy(dtype=float),
                               plain[cols].to_numpy(dtype=float), rtol=0, atol=1e-12)


def test_whatif_row_equals_predicting_the_changed_cohort(whatif, predictor, sim_cohort):
    """The fast path (only the mechanism family recomputed) equals a full feature pass over
    the cohort with every patient's regimen replaced."""
    regimen = whatif.loc[~whatif["observed"], "regimen"].value_counts().index[0]
    rows = whatif[whatif["regimen"] == regimen].set_index("patient_id")
    full = predictor.predict(with_regimen(sim_cohort, regimen)).set_index("patient_id")
    cols = predictor.output_columns[1:]
    np.testing.assert_allclose(rows[cols].to_numpy(dtype=float),
                               full.loc[rows.index, cols].to_numpy(dtype=float),
                               rtol=0, atol=1e-12)
    assert rows["response_probability"].nunique() > 1


def test_the_regimen_changes_the_prediction(whatif):
    spread = whatif.groupby("patient_id")["response_probability"].agg(lambda p: p.max() - p.min())
    assert (spread > 1e-6).mean() > 0.5


def test_listed_regimens_plus_own(predictor, sim_cohort):
    listed = ["nivolumab + ipilimumab", "Osimertinib", "ipilimumab+nivolumab"]
    out = predictor.predict_regimens(sim_cohort, listed)
    clinical = sim_cohort.clinical
    for pid, rows in out.groupby("patient_id"):
        keys = [regimen_key(r) for r in rows["regimen"]]
        assert len(keys) == len(set(keys))  # the duplicate (same drugs) is scored once
        own = regimen_key(clinical.loc[pid, "regimen"])
        assert set(keys) == {own, "ipilimumab+nivolumab", "osimertinib"}
        by_type = {regimen_key(r) for r in predictor.regimens["by_cancer_type"][
            clinical.loc[pid, "cancer_type"]]}
        want = [k in by_type or k == own for k in keys]
        assert rows["supported"].tolist() == want


@pytest.mark.parametrize("bad, message", [
    (["nivolumab+unobtainium"], "drug 'unobtainium' is not in the model's drug knowledge"),
    (["aspirin"], "unknown regimen 'aspirin'"),
])
def test_unknown_regimen_names(predictor, sim_cohort, bad, message):
    with pytest.raises(InputError, match=message):
        predictor.predict_regimens(sim_cohort, bad)


def test_empty_regimen_name():
    with pytest.raises(InputError, match="empty regimen name"):
        parse_regimens_option("nivolumab;;osimertinib")


def test_regimen_file(tmp_path):
    path = tmp_path / "regimens.txt"
    path.write_text("# candidates\nnivolumab\n\nnivolumab+ipilimumab  # combo\n")
    assert parse_regimens_option(str(path)) == ["nivolumab", "nivolumab+ipilimumab"]
    assert parse_regimens_option("ALL") == "all"
    assert parse_regimens_option("a; b") == ["a", "b"]


def test_unknown_name_in_a_file_names_its_line(predictor, sim_cohort, tmp_path):
    path = tmp_path / "regimens.txt"
    path.write_text("nivolumab\nnivolumab+foo\n")
    with pytest.raises(InputError) as info:
        predictor.predict_regimens(sim_cohort, parse_regimens_option(str(path)))
    assert str(info.value).startswith(f"{path}, line 2: unknown regimen 'nivolumab+foo'")


def test_cancer_type_without_known_regimens(predictor, sim_cohort, caplog):
    clinical = sim_cohort.clinical.copy()
    ids = clinical.index[:5]
    clinical.loc[ids, "cancer_type"] = "Unknown Primary"
    clinical.loc[ids[-1], "regimen"] = pd.NA  # untreated too: no row at all
    cohort = replace(sim_cohort, clinical=clinical)
    with caplog.at_level(logging.WARNING):
        out = predictor.predict_regimens(cohort, "all")
    warnings = [r.getMessage() for r in caplog.records if "no regimen in the model" in
                r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("5 patient(s)")
    for pid in ids[:-1]:
        rows = out[out["patient_id"] == pid]
        assert rows["regimen"].tolist() == [clinical.loc[pid, "regimen"]]
        assert rows["observed"].all() and rows["rank"].tolist() == [1]
    assert not (out["patient_id"] == ids[-1]).any()
    others = out[~out["patient_id"].isin(ids)]
    assert others.groupby("patient_id").size().min() > 1


def test_bundle_without_mechanism_features(tmp_path, sim_cohort):
    import yaml

    from predictor.data.labels import ResponseRule, response_labels
    from predictor.features.pipeline import build_feature_pipeline
    from predictor.models.response import ResponseModel

    repo = Path(__file__).resolve().parents[2]
    cfg = yaml.safe_load((repo / "conf/features/default.yaml").read_text())
    cfg["families"]["mutation"]["gene_sets"] = str(repo / "conf/knowledge/gene_sets.yaml")
    cfg["families"]["mechanism"]["enabled"] = False
    pipeline = build_feature_pipeline(cfg).fit(sim_cohort)
    X = pipeline.transform(sim_cohort)
    y = response_labels(sim_cohort.outcomes, ResponseRule())
    model = ResponseModel(n_estimators=10, inner_folds=2).fit(X, y, pipeline.categorical_features_)
    out = save_bundle(tmp_path / "model", feature_pipeline=pipeline, heads={"response": model},
                      input_mapping=None, label_rule=None, horizons=None, compile=False,
                      regimens={"by_cancer_type": regimens_by_cancer_type(sim_cohort.clinical)})
    with pytest.raises(InputError, match="without drug-mechanism features"):
        load_bundle(out, backend="lightgbm").predict_regimens(sim_cohort, "all")


def test_older_bundle_without_regimen_list(bundle_dir, sim_cohort):
    with pytest.raises(InputError, match=r"no regimen list.*retrain"):
        load_bundle(bundle_dir).predict_regimens(sim_cohort, "all")


# ---------------------------------------------------------------------------- CLI
def _predict(*args: str):
    return runner.invoke(app, ["predict", *args])


def test_cli_both_backends_agree_and_explain(regimen_bundle, flat_csv, tmp_path):
    outputs = {}
    for backend in ("compiled", "lightgbm"):
        out = tmp_path / f"{backend}.csv"
        result = _predict("--model", str(regimen_bundle), "--input", str(flat_csv), "--output",
                          str(out), "--backend", backend, "--regimens", "all", "--explain", "3",
                          "--batch-size", "64")
        assert result.exit_code == 0, result.output
        outputs[backend] = pd.read_csv(out)
    a, b = outputs["compiled"], outputs["lightgbm"]
    assert list(a.columns) == list(b.columns)
    assert (a[["patient_id", "regimen", "rank"]] == b[["patient_id", "regimen", "rank"]]).all(
        axis=None)
    np.testing.assert_allclose(_numeric(a), _numeric(b), rtol=0, atol=1e-9)
    assert "top1_feature" in a.columns and "relapse_top1_feature" in a.columns
    # the chunked stream equals one batch
    direct = load_bundle(regimen_bundle).predict_regimens(
        _flat_cohort(flat_csv), "all", explain=3)
    assert a["regimen"].tolist() == direct["regimen"].tolist()
    assert (direct["mechanism_explanation"] == "").all()  # no MAF or CNA in a flat file
    a = a.drop(columns="mechanism_explanation")  # empty text: read back as NaN
    np.testing.assert_allclose(_numeric(a), _numeric(direct), rtol=0, atol=1e-9)


def _flat_cohort(path: Path):
    from predictor.data.readers import read_cohort

    return read_cohort(path)


def test_cli_unknown_regimen_exits_2_without_output(regimen_bundle, flat_csv, tmp_path):
    out = tmp_path / "pred.csv"
    result = _predict("--model", str(regimen_bundle), "--input", str(flat_csv), "--output",
                      str(out), "--regimens", "nivolumab;unobtainium")
    assert result.exit_code == 2
    assert "unknown regimen 'unobtainium'" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_old_bundle_exits_2(bundle_dir, flat_csv, tmp_path):
    out = tmp_path / "pred.csv"
    result = _predict("--model", str(bundle_dir), "--input", str(flat_csv), "--output",
                      str(out), "--regimens", "all")
    assert result.exit_code == 2 and "no regimen list" in result.output
    assert not out.exists()


# ---------------------------------------------------------------------------- pyfunc
@pytest.fixture(scope="module")
def pyfunc_model(tmp_path_factory, regimen_bundle, sim_cohort):
    """The bundle saved as the models-from-code pyfunc with the logged signature."""
    import mlflow

    from predictor.data.mappings import unmap_cohort
    from predictor.serving.pyfunc_model import PYFUNC_CODE, rows_to_cohort
    from predictor.tracking.model_logging import signature_for

    rows = unmap_cohort(sim_cohort.without_outcomes())
    numeric = rows.select_dtypes("number").columns  # numbers are double in the signature
    rows[numeric] = rows[numeric].astype("float64")
    out_example = load_bundle(regimen_bundle).predict(rows_to_cohort(rows.head(3)))
    path = tmp_path_factory.mktemp("pyfunc") / "model"
    mlflow.pyfunc.save_model(str(path), python_model=str(PYFUNC_CODE),
                             artifacts={"bundle": str(regimen_bundle)},
                             signature=signature_for(rows.head(3), out_example),
                             input_example=rows.head(3))
    return mlflow.pyfunc.load_model(str(path)), rows


def test_pyfunc_regimens_param(pyfunc_model, predictor):
    from predictor.serving.pyfunc_model import rows_to_cohort

    model, rows = pyfunc_model
    params = model.metadata.get_params_schema()
    assert {p.name: p.default for p in params.params} == {"regimens": "", "explain": 0}
    plain = model.predict(rows)
    assert len(plain) == len(rows) and "regimen" not in plain.columns
    got = model.predict(rows, params={"regimens": "all", "explain": 2})
    want = predictor.predict_regimens(rows_to_cohort(rows), "all", explain=2)
    assert got["regimen"].tolist() == want["regimen"].tolist()
    np.testing.assert_allclose(_numeric(got), _numeric(want), rtol=0, atol=1e-9)
    listed = model.predict(rows, params={"regimens": "osimertinib;nivolumab+ipilimumab"})
    assert set(listed.groupby("patient_id").size()) <= {2, 3}
    with pytest.raises(Exception, match="unknown regimen 'foo'"):
        model.predict(rows, params={"regimens": "foo"})


def test_explain_names_the_mechanism(predictor, sim_cohort):
    """Each regimen row says which of its drugs' knowledge-base rules the tumour matches."""
    out = predictor.predict_regimens(sim_cohort, ["osimertinib", "dabrafenib+trametinib"],
                                     explain=3)
    assert "mechanism_explanation" in out.columns and "top3_feature" in out.columns
    maf = sim_cohort.mutations
    sample_patient = sim_cohort.samples.set_index("sample_id")["patient_id"]
    egfr = maf[(maf["Hugo_Symbol"] == "EGFR")
               & maf["HGVSp_Short"].astype(str).str.fullmatch(r"p\.(L858R|T790M)")]
    egfr_patients = set(sample_patient.reindex(egfr["Tumor_Sample_Barcode"]).dropna())
    assert egfr_patients
    osi = out[out["regimen"] == "osimertinib"].set_index("patient_id")
    for pid in egfr_patients:
        assert "EGFR mutated: target of osimertinib" in osi.loc[pid, "mechanism_explanation"]
    braf = out[out["regimen"] == "dabrafenib+trametinib"]
    assert not braf["mechanism_explanation"].str.contains("osimertinib").any()
    # the what-if rows' contributions can show the regimen's mechanism features (this small
    # model leans mostly on ctDNA and TME; the text column above names the biology)
    tops = out[[c for c in out.columns if c.startswith("top") and c.endswith("_feature")]]
    assert tops.apply(lambda col: col.str.startswith("rx_")).any(axis=None)


# ---------------------------------------------------------------------------- propensity
@pytest.fixture(scope="module")
def propensity_predictor(tmp_path_factory, fitted, sim_cohort):
    """A bundle whose regimens.json holds a propensity model fitted on the training rows."""
    from predictor.models.propensity import RegimenPropensity

    clinical = sim_cohort.clinical
    model = RegimenPropensity(min_patients=5).fit(
        fitted["X"], clinical["regimen"], clinical["cancer_type"],
        fitted["pipeline"].categorical_features_)
    out = _save(tmp_path_factory.mktemp("propensity") / "model", fitted, sim_cohort,
                propensity=model.to_state())
    return load_bundle(out), model


def test_propensity_gives_supported(propensity_predictor, sim_cohort):
    predictor, model = propensity_predictor
    out = predictor.predict_regimens(sim_cohort, ["osimertinib", "cemiplimab"])
    assert list(out.columns[-3:]) == ["rank", "supported", "propensity"]
    X = predictor.pipeline.transform(sim_cohort)
    proba = model.predict_proba(X)
    supported = model.supported(proba, sim_cohort.clinical["cancer_type"])
    for row in out.sample(60, random_state=0).itertuples():
        if row.regimen == "cemiplimab":  # never given in training: no propensity, unsupported
            assert np.isnan(row.propensity) and not row.supported
            continue
        assert row.propensity == pytest.approx(proba.loc[row.patient_id, row.regimen],
                                               abs=1e-12)
        assert row.supported == supported.loc[row.patient_id, row.regimen]
    osi = out[out["regimen"] == "osimertinib"]
    nsclc = sim_cohort.clinical.loc[osi["patient_id"], "cancer_type"].to_numpy() == "NSCLC"
    assert not osi.loc[~nsclc, "supported"].any()  # never given outside NSCLC
    assert osi.loc[nsclc, "supported"].any()


def test_dask_engine_is_refused(regimen_bundle, flat_csv, tmp_path):
    from predictor.serving.batch import run_batch_prediction

    with pytest.raises(InputError, match="local engine"):
        run_batch_prediction(str(regimen_bundle), flat_csv, tmp_path / "pred.csv",
                             engine="dask", regimens="all")
    assert list(tmp_path.iterdir()) == []


def test_explain_names_the_drug_that_targets_a_bypass(predictor, sim_cohort):
    """A MET-amplified tumour under osimertinib + savolitinib: MET is the bypass of one drug
    and the target of the other, and the text says both."""
    cna = sim_cohort.cna
    met = cna[(cna["Hugo_Symbol"] == "MET") & (cna["cna"] == 2)]
    sample_patient = sim_cohort.samples.set_index("sample_id")["patient_id"]
    met_patients = set(sample_patient.reindex(met["sample_id"]).dropna())
    assert met_patients
    out = predictor.predict_regimens(sim_cohort, ["osimertinib+savolitinib"], explain=1)
    combo = out[out["regimen"] == "osimertinib+savolitinib"].set_index("patient_id")
    for pid in met_patients:
        text = combo.loc[pid, "mechanism_explanation"]
        assert "MET amplified: bypass of osimertinib" in text
        assert "MET amplified: target of savolitinib" in text
    others = combo.drop(index=list(met_patients))["mechanism_explanation"]
    assert not others.str.contains("MET amplified").any()


# ---------------------------------------------------------------------------- within-cohort ranks
@pytest.fixture(scope="module")
def ranked_predictor(tmp_path_factory, sim_cohort):
    """A bundle whose pipeline ranks every feature, the mechanism (``rx_*``) ones included,
    within each cohort (``features.within_cohort``); one cohort is smaller than
    ``min_group_size``, so its patients are placed among the training reference quantiles."""
    import yaml

    from predictor.data.labels import ResponseRule, relapse_target, response_labels
    from predictor.features.pipeline import build_feature_pipeline
    from predictor.models.relapse import RelapseModel
    from predictor.models.response import ResponseModel

    repo = Path(__file__).resolve().parents[2]
    cfg = yaml.safe_load((repo / "conf/features/default.yaml").read_text())
    cfg["families"]["mutation"]["gene_sets"] = str(repo / "conf/knowledge/gene_sets.yaml")
    cfg["families"]["mechanism"]["knowledge_base"] = str(repo / "conf/knowledge/drugs.yaml")
    cfg["within_cohort"] = {"column": "cohort", "min_group_size": 10}
    clinical = sim_cohort.clinical.copy()
    n = len(clinical)
    clinical["cohort"] = np.where(np.arange(n) < n - 6,
                                  np.where(np.arange(n) % 2 == 0, "A", "B"), "C")
    cohort = replace(sim_cohort, clinical=clinical)
    pipeline = build_feature_pipeline(cfg).fit(cohort)
    assert any(f.startswith("rx_") for f in pipeline.within_cohort.features_)
    X = pipeline.transform(cohort)
    cats = pipeline.categorical_features_
    small = {"n_estimators": 30, "inner_folds": 2, "early_stopping_rounds": 10}
    response = ResponseModel(**small).fit(
        X, response_labels(cohort.outcomes, ResponseRule()), cats)
    target = relapse_target(cohort.outcomes, "pfs")
    relapse = RelapseModel(**small, horizons_months=HORIZONS).fit(
        X, target["time"], target["event"], cats)
    fitted = {"pipeline": pipeline, "response": response, "relapse": relapse, "X": X}
    out = _save(tmp_path_factory.mktemp("ranked") / "model", fitted, cohort)
    return load_bundle(out, backend="lightgbm"), cohort


def test_ranked_mechanism_whatif_equals_predicting_the_changed_patient(ranked_predictor):
    """With within-cohort ranks of the mechanism features, a what-if row is the plain
    prediction of the input with that one patient's regimen replaced (the other patients keep
    theirs, so the ranks are taken among the same neighbours as in plain prediction)."""
    predictor, cohort = ranked_predictor
    whatif = predictor.predict_regimens(cohort, "all")
    rng = np.random.default_rng(0)
    cols = predictor.output_columns[1:]
    rows = whatif[~whatif["observed"]]
    ids = cohort.patient_ids.astype(str)
    picks = [*rng.choice(len(rows), 6, replace=False),
             *np.flatnonzero(rows["patient_id"].isin(ids[-6:]))[:2]]  # the small cohort C
    for i in picks:
        row = rows.iloc[i]
        clinical = cohort.clinical.copy()
        clinical.loc[row["patient_id"], "regimen"] = row["regimen"]
        plain = predictor.predict(replace(cohort, clinical=clinical)).set_index("patient_id")
        np.testing.assert_allclose(row[cols].to_numpy(dtype=float),
                                   plain.loc[row["patient_id"], cols].to_numpy(dtype=float),
                                   rtol=0, atol=1e-12)
