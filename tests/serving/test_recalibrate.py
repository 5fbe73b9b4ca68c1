"""``predictor recalibrate``: a complete new bundle, the parent untouched, the rule enforced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from predictor.cli import app
from predictor.data.labels import ResponseRule, response_labels
from predictor.evaluation import metrics as M
from predictor.serving.bundle import load_bundle, load_bundle_dir
from predictor.serving.compiled import sha256_file

runner = CliRunner()


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """Other simulated patients than the bundle's training ones (another seed), as a study."""
    from predictor.data.cbioportal import write_cbioportal
    from predictor.data.simulator import simulate_cohort

    cohort, _ = simulate_cohort(260, 13)
    y = response_labels(cohort.outcomes, ResponseRule())
    out = tmp_path_factory.mktemp("local") / "study"
    write_cbioportal(cohort, out)
    return {"cohort": cohort, "study": out, "y": y}


def tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_file(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def recalibrate(*args: str):
    return runner.invoke(app, ["recalibrate", *args])


@pytest.fixture(scope="module")
def recalibrated(bundle_dir, local, tmp_path_factory) -> dict:
    before = tree_hashes(bundle_dir)
    out = tmp_path_factory.mktemp("recal") / "local_model"
    result = recalibrate("--model", str(bundle_dir), "--input", str(local["study"]),
                         "--output", str(out), "--n-boot", "30", "--relapse")
    assert result.exit_code == 0, result.output
    return {"out": out, "before": before, "stdout": result.stdout}


def test_parent_is_untouched_and_new_bundle_is_complete(bundle_dir, recalibrated):
    assert tree_hashes(bundle_dir) == recalibrated["before"]
    out = recalibrated["out"]
    load_bundle_dir(out)  # every file verified against its sha256
    manifest = yaml.safe_load((out / "bundle.yaml").read_text())
    parent = yaml.safe_load((bundle_dir / "bundle.yaml").read_text())
    assert set(manifest["files"]) == set(parent["files"])
    changed = {rel for rel, digest in manifest["files"].items() if parent["files"][rel] != digest}
    assert changed == {"response/calibration.json", "response/response.json",
                       "relapse/baseline_hazard.json", "MODEL_CARD.md"}


def test_manifest_and_card_record_the_recalibration(bundle_dir, recalibrated, local):
    out = recalibrated["out"]
    record = yaml.safe_load((out / "bundle.yaml").read_text())["recalibration"]
    assert record["parent"]["uri"] == str(bundle_dir)
    assert record["parent"]["manifest_sha256"] == sha256_file(bundle_dir / "bundle.yaml")
    assert record["method"] == "intercept"
    assert record["cohort"]["n_patients"] == len(local["cohort"])
    assert record["cohort"]["n_labelled"] == int(local["y"].notna().sum())
    assert record["cohort"]["fingerprint"] == local["cohort"].fingerprint()
    for when in ("metrics_before", "metrics_after"):
        assert {"ece", "ece_ci_low", "ece_ci_high", "calibration_intercept",
                "roc_auc"} <= set(record[when])
    assert abs(record["metrics_after"]["calibration_intercept"]) < 1e-6  # fitted in-sample
    assert record["relapse"]["refit"] and record["relapse"]["n_events"] > 20
    card = (out / "MODEL_CARD.md").read_text()
    assert "## Local recalibration" in card and str(bundle_dir) in card
    assert record["cohort"]["fingerprint"] in card


def test_ranking_and_calls_are_kept(bundle_dir, recalibrated, local):
    parent = load_bundle(bundle_dir).predict(local["cohort"])
    new = load_bundle(recalibrated["out"]).predict(local["cohort"])
    y = local["y"].reindex(parent["patient_id"]).to_numpy(float)
    assert M.roc_auc(y, new["response_probability"]) == pytest.approx(
        M.roc_auc(y, parent["response_probability"]), abs=1e-12)
    assert (new["response_predicted"] == parent["response_predicted"]).all()
    np.testing.assert_allclose(new["relapse_risk"], parent["relapse_risk"], atol=1e-12)
    assert not np.allclose(new["relapse_free_probability_12m"],
                           parent["relapse_free_probability_12m"])
    keep = ~np.isnan(y)
    observed = y[keep].mean()
    assert abs(new["response_probability"][keep].mean() - observed) < abs(
        parent["response_probability"][keep].mean() - observed) + 1e-9


def test_logistic_method_fits_a_slope(bundle_dir, local, tmp_path):
    out = tmp_path / "logistic"
    result = recalibrate("--model", str(bundle_dir), "--input", str(local["study"]),
                         "--output", str(out), "--method", "logistic", "--n-boot", "10")
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((out / "bundle.yaml").read_text())["recalibration"]
    assert record["method"] == "logistic"
    assert abs(record["metrics_after"]["calibration_slope"] - 1.0) < 1e-6


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "predictor.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_too_few_events_is_refused_with_the_rule(bundle_dir, local, tmp_path):
    from predictor.data.flat import write_flat

    small = tmp_path / "small.csv"  # 80 patients: fewer than 100 of either class
    write_flat(local["cohort"].subset(local["cohort"].patient_ids[:80]), small)
    out = tmp_path / "iso"
    result = _run_cli("recalibrate", "--model", str(bundle_dir), "--input", str(small),
                      "--output", str(out), "--method", "isotonic")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: too few events"), result.stderr
    assert "needs at least 100 responders and 100 non-responders" in lines[0]
    assert not out.exists()


def test_refuses_to_write_into_the_parent(bundle_dir, local):
    result = recalibrate("--model", str(bundle_dir), "--input", str(local["study"]),
                         "--output", str(bundle_dir / "inner"))
    assert result.exit_code == 2
    assert not (bundle_dir / "inner").exists()


def test_recalibrate_then_evaluate_on_other_patients(bundle_dir, local, tmp_path):
    """The documented workflow: fit on one half, evaluate on the other, through files."""
    from predictor.data.flat import write_flat

    cohort = local["cohort"]
    ids = cohort.patient_ids
    half_a, half_b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_flat(cohort.subset(ids[::2]), half_a)
    write_flat(cohort.subset(ids[1::2]), half_b)
    new = tmp_path / "model"
    assert recalibrate("--model", str(bundle_dir), "--input", str(half_a), "--output",
                       str(new), "--n-boot", "10").exit_code == 0
    result = runner.invoke(app, ["evaluate", "--model", str(new), "--input", str(half_b),
                                 "--output", str(tmp_path / "eval"), "--n-boot", "10"])
    assert result.exit_code == 0, result.output
    metrics = pd.read_json(tmp_path / "eval" / "metrics.json", typ="series")
    assert np.isfinite(metrics["ece"]) and np.isfinite(metrics["calibration_intercept"])


def test_new_bundle_is_signed_here_and_an_edited_parent_is_refused(bundle_dir, recalibrated,
                                                                    local, tmp_path):
    """Recalibration writes a bundle trusted on this machine (no extra step), and never
    starts from a parent whose bundle.yaml nobody vouches for."""
    import shutil

    from predictor.serving.trust import trust_source

    out = recalibrated["out"]
    assert trust_source(out, yaml.safe_load((out / "bundle.yaml").read_text())) == "signed here"
    parent = tmp_path / "parent"
    shutil.copytree(bundle_dir, parent)
    manifest = yaml.safe_load((parent / "bundle.yaml").read_text())
    manifest["threshold"] = 0.97
    (parent / "bundle.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    result = recalibrate("--model", str(parent), "--input", str(local["study"]), "--output",
                         str(tmp_path / "new"), "--n-boot", "30")
    assert result.exit_code == 2 and "predictor trust --model" in result.stderr
    assert not (tmp_path / "new").exists()
