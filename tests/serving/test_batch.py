"""Batch prediction CLI: streaming, formats, backends, and exit code 2 on bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from predictor.cli import app
from predictor.errors import InputError
from predictor.serving.batch import run_batch_prediction
from predictor.serving.bundle import load_bundle

runner = CliRunner()


def _predict(*args: str):
    return runner.invoke(app, ["predict", *args])


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    return frame.select_dtypes("number").to_numpy(dtype=np.float64)


def test_cli_compiled_equals_lightgbm(bundle_dir, flat_csv, tmp_path):
    outputs = {}
    for backend in ("compiled", "lightgbm"):
        out = tmp_path / f"{backend}.csv"
        result = _predict("--model", str(bundle_dir), "--input", str(flat_csv), "--output",
                          str(out), "--backend", backend, "--explain", "2")
        assert result.exit_code == 0, result.output
        assert f"{backend} backend" in result.stdout
        outputs[backend] = pd.read_csv(out)
    a, b = outputs["compiled"], outputs["lightgbm"]
    assert len(a) == 300 and a["patient_id"].is_unique
    assert list(a.columns) == list(b.columns)
    np.testing.assert_allclose(_numeric(a), _numeric(b), rtol=0, atol=1e-9)
    assert (a["top1_feature"] == b["top1_feature"]).all()


def test_streaming_chunks_equal_one_batch(bundle_dir, flat_csv, tmp_path, sim_cohort):
    whole = tmp_path / "whole.parquet"
    chunked = tmp_path / "chunked.csv"
    run_batch_prediction(str(bundle_dir), flat_csv, whole, batch_size=1_000_000)
    run_batch_prediction(str(bundle_dir), flat_csv, chunked, batch_size=64)
    a, b = pd.read_parquet(whole), pd.read_csv(chunked)
    assert a["patient_id"].tolist() == b["patient_id"].tolist()
    np.testing.assert_allclose(_numeric(a), _numeric(b), rtol=0, atol=1e-12)
    # The flat file has only clinical columns: same as predicting the clinical-only cohort.
    from dataclasses import replace

    clinical_only = replace(sim_cohort.without_outcomes(), mutations=None, cna=None,
                            clones=None, tme=None, ctdna=None, segments=None)
    direct = load_bundle(bundle_dir).predict(clinical_only)
    np.testing.assert_allclose(_numeric(a), _numeric(direct), rtol=0, atol=1e-9)


def test_cbioportal_folder_is_read_whole(bundle_dir, sim_cohort, tmp_path):
    from predictor.data.cbioportal import write_cbioportal
    from predictor.data.readers import read_cohort

    study = tmp_path / "study"
    write_cbioportal(sim_cohort, study)
    out = tmp_path / "pred.csv"
    summary = run_batch_prediction(str(bundle_dir), study, out, fmt="csv")
    assert "300 predictions" in summary
    got = pd.read_csv(out)
    want = load_bundle(bundle_dir).predict(read_cohort(study))
    np.testing.assert_allclose(_numeric(got), _numeric(want), rtol=0, atol=1e-9)


def test_missing_column_predicts_with_one_warning(bundle_dir, flat_csv, tmp_path, caplog):
    table = pd.read_csv(flat_csv).drop(columns=["albumin"])
    path = tmp_path / "no_albumin.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "pred.csv"
    with caplog.at_level(logging.WARNING):
        run_batch_prediction(str(bundle_dir), path, out, batch_size=50)  # 6 chunks
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and r.name.startswith("predictor.serving")]
    assert len(warnings) == 1 and "'albumin'" in warnings[0]
    got = pd.read_csv(out)
    assert len(got) == 300 and got["response_probability"].notna().all()


def _bad_cases(tmp: Path, flat_csv: Path) -> dict[str, tuple[list[str], Path]]:
    empty = tmp / "empty.csv"
    empty.write_text("")
    header_only = tmp / "header.csv"
    header_only.write_text(flat_csv.read_text().splitlines()[0] + "\n")
    wrong = tmp / "wrong.csv"
    table = pd.read_csv(flat_csv)
    table["age"] = table["age"].astype(object)
    table.loc[5, "age"] = "sixty"
    table.to_csv(wrong, index=False)
    copy = tmp / "input.csv"
    copy.write_bytes(flat_csv.read_bytes())
    out = tmp / "out" / "pred.csv"
    return {
        "missing file": (["--input", str(tmp / "nope.csv"), "--output", str(out)], out),
        "empty file": (["--input", str(empty), "--output", str(out)], out),
        "header only": (["--input", str(header_only), "--output", str(out)], out),
        "wrong types": (["--input", str(wrong), "--output", str(out)], out),
        "unknown model": (["--input", str(copy), "--output", str(out), "--model",
                           "models:/no_such_model/3"], out),
        "missing model dir": (["--input", str(copy), "--output", str(out), "--model",
                               str(tmp / "no_model")], out),
        "output is input": (["--input", str(copy), "--output", str(copy)], copy),
        "bad format": (["--input", str(copy), "--output", str(tmp / "pred.xlsx")],
                       tmp / "pred.xlsx"),
        "bad backend": (["--input", str(copy), "--output", str(out), "--backend", "gpu"], out),
    }


@pytest.mark.parametrize("case", ["missing file", "empty file", "header only", "wrong types",
                                  "unknown model", "missing model dir", "output is input",
                                  "bad format", "bad backend"])
def test_bad_input_exits_2_without_output(case, bundle_dir, flat_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns.db'}")
    args, out = _bad_cases(tmp_path, flat_csv)[case]
    if "--model" not in args:
        args = [*args, "--model", str(bundle_dir)]
    before = out.read_bytes() if out.exists() else None
    result = _predict(*args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    if before is None:
        assert not out.exists()
    else:
        assert out.read_bytes() == before  # the input is untouched
    leftovers = [p for p in tmp_path.rglob("*.tmp")]
    assert leftovers == []


def test_existing_output_is_not_overwritten(bundle_dir, flat_csv, tmp_path):
    out = tmp_path / "pred.csv"
    out.write_text("keep me\n")
    result = _predict("--model", str(bundle_dir), "--input", str(flat_csv), "--output",
                      str(out))
    assert result.exit_code == 2 and "exists" in result.stderr
    assert out.read_text() == "keep me\n"


def test_output_inside_input_folder_is_refused(bundle_dir, sim_cohort, tmp_path):
    from predictor.data.cbioportal import write_cbioportal

    study = tmp_path / "study"
    write_cbioportal(sim_cohort.subset(sim_cohort.patient_ids[:5]), study)
    result = _predict("--model", str(bundle_dir), "--input", str(study), "--output",
                      str(study / "pred.csv"))
    assert result.exit_code == 2 and "inside the input folder" in result.stderr
    assert not (study / "pred.csv").exists()


def test_bundle_input_mapping_reads_renamed_columns(fitted, flat_csv, bundle_dir, tmp_path,
                                                     monkeypatch):
    from predictor.serving.bundle import save_bundle

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rename = {"patient_id": "ID", "cancer_type": "Tumor", "regimen": "Drugs", "age": "Age",
              "sex": "Gender", "nlr": "NLR", "albumin": "Alb",
              "line_of_therapy": "Line", "prior_systemic_therapy": "Prior"}
    mapping = {"id_column": "ID", "columns": {k: v for k, v in rename.items()
                                              if k != "patient_id"},
               "value_maps": {"sex": {"M": "Male", "F": "Female"}}}
    mapped_bundle = save_bundle(
        tmp_path / "mapped", feature_pipeline=fitted["pipeline"],
        heads={"response": fitted["response"], "relapse": fitted["relapse"]},
        input_mapping=mapping, label_rule=None, horizons=None)
    table = pd.read_csv(flat_csv).rename(columns=rename)
    table["Gender"] = table["Gender"].map({"Male": "M", "Female": "F"})
    source = tmp_path / "site.tsv"
    table.to_csv(source, sep="\t", index=False)
    got_path, want_path = tmp_path / "mapped.csv", tmp_path / "plain.csv"
    run_batch_prediction(str(mapped_bundle), source, got_path)
    run_batch_prediction(str(bundle_dir), flat_csv, want_path)
    got, want = pd.read_csv(got_path), pd.read_csv(want_path)
    assert got["patient_id"].tolist() == want["patient_id"].tolist()
    np.testing.assert_allclose(_numeric(got), _numeric(want), rtol=0, atol=1e-9)


def test_overwrite_replaces_only_after_success(bundle_dir, flat_csv, tmp_path):
    out = tmp_path / "pred.csv"
    out.write_text("old\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,cancer_type,age\nP1,NSCLC,sixty\n")
    with pytest.raises(InputError):
        run_batch_prediction(str(bundle_dir), bad, out, overwrite=True)
    assert out.read_text() == "old\n"  # a failed run keeps the previous file
    run_batch_prediction(str(bundle_dir), flat_csv, out, overwrite=True)
    assert len(pd.read_csv(out)) == 300


def test_file_without_id_column_gets_unique_row_numbers(fitted, flat_csv, tmp_path,
                                                        monkeypatch):
    from predictor.serving.bundle import save_bundle

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    mapping = {"id_column": "ID", "columns": {"cancer_type": "cancer_type", "age": "age"}}
    bundle = save_bundle(tmp_path / "b", feature_pipeline=fitted["pipeline"],
                         heads={"response": fitted["response"]},
                         input_mapping=mapping, label_rule=None, horizons=None)
    source = tmp_path / "no_ids.csv"
    pd.read_csv(flat_csv)[["cancer_type", "age"]].to_csv(source, index=False)
    out = tmp_path / "pred.csv"
    run_batch_prediction(str(bundle), source, out, batch_size=50)  # would restart per chunk
    got = pd.read_csv(out)
    assert len(got) == 300 and got["patient_id"].is_unique


def test_a_landmark_bundle_says_what_its_horizons_count_from(bundle_dir, flat_csv, tmp_path):
    import shutil

    import yaml

    from predictor.serving.trust import sign_bundle

    landmark = tmp_path / "landmark_model"
    shutil.copytree(bundle_dir, landmark)
    manifest = yaml.safe_load((landmark / "bundle.yaml").read_text())
    manifest["label_rule"]["landmark_day"] = 42.0  # as predictor-train writes for demo_landmark
    (landmark / "bundle.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    sign_bundle(landmark)  # written on this machine, as training does
    plain = _predict("--model", str(bundle_dir), "--input", str(flat_csv), "--output",
                     str(tmp_path / "a.csv"))
    marked = _predict("--model", str(landmark), "--input", str(flat_csv), "--output",
                      str(tmp_path / "b.csv"))
    assert plain.exit_code == 0 and marked.exit_code == 0, marked.output
    assert "landmark model" not in plain.stdout
    assert "landmark model: relapse-free probabilities are for the months after day 42" in \
        marked.stdout


def test_progress_off_a_terminal_is_one_line_per_chunk_after_the_first(
        bundle_dir, flat_csv, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("PREDICTOR_PROGRESS", "plain")
    with caplog.at_level(logging.INFO, logger="predictor.progress"):
        run_batch_prediction(str(bundle_dir), flat_csv, tmp_path / "one.csv",
                             batch_size=1_000_000)
        assert not [r for r in caplog.records if r.name == "predictor.progress"]
        run_batch_prediction(str(bundle_dir), flat_csv, tmp_path / "chunks.csv", batch_size=100)
    lines = [r.getMessage() for r in caplog.records if r.name == "predictor.progress"]
    assert lines == ["patients predicted 200 done", "patients predicted 300 done"]
