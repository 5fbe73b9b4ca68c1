"""Input shift check: the training profile, the monitor's thresholds, and the bundle/CLI wiring."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
from click.testing import CliRunner

from predictor.cli import app
from predictor.serving.bundle import load_bundle
from predictor.serving.shift import ShiftMonitor, training_profile


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "tmb": rng.lognormal(1.5, 0.8, n),          # mutations/Mb
        "albumin": rng.normal(3.8, 0.5, n),         # g/dL
        "age": rng.uniform(30, 85, n),
        "cancer_code": rng.integers(0, 4, n).astype(float),
    })


def _albumin_in_g_per_l(cohort):
    """A copy of ``cohort`` (no outcomes) with albumin in g/L; the fixture is left as it is."""
    from dataclasses import replace

    clinical = cohort.clinical.assign(albumin=cohort.clinical["albumin"] * 10.0)
    return replace(cohort.without_outcomes(), clinical=clinical)


def test_profile_holds_ranges_and_missing_shares() -> None:
    X = pd.DataFrame({"a": np.r_[np.arange(100.0), [np.nan] * 25],
                      "few": np.r_[np.arange(10.0), [np.nan] * 115],
                      "code": np.tile([0.0, 1.0, 2.0, np.nan, 1.0], 25)})
    profile = training_profile(X, ["a", "few", "code", "absent"], categorical=["code"])
    feats = json.loads(json.dumps(profile))["features"]  # JSON as stored in the bundle
    assert feats["a"] == {"missing": 0.2, "low": np.quantile(np.arange(100.0), 0.01),
                          "high": np.quantile(np.arange(100.0), 0.99)}
    assert feats["few"] == {"missing": 0.92}       # under 20 known values: no range
    assert feats["code"] == {"missing": 0.2}       # categorical: codes have no range
    assert feats["absent"] == {"missing": 1.0}
    assert profile["n_patients"] == 125


def test_the_same_distribution_gives_no_warning() -> None:
    monitor = ShiftMonitor(training_profile(_frame(1000, 0), list(_frame(1, 0).columns),
                                            ["cancer_code"]))
    new = _frame(20_000, 1)
    assert [monitor.check(new.iloc[i:i + 1000]) for i in range(0, 20_000, 1000)] == [None] * 20


def test_a_unit_change_is_named_once_with_its_direction() -> None:
    monitor = ShiftMonitor(training_profile(_frame(1000, 0), list(_frame(1, 0).columns)))
    new = _frame(3000, 2)
    new["tmb"] *= 30.0          # a mutation count instead of mutations/Mb
    new["albumin"] *= 10.0      # g/L instead of g/dL
    chunks = [new.iloc[i:i + 1000] for i in (0, 1000, 2000)]
    message = monitor.check(chunks[0])
    assert message is not None and message.startswith("input differs from the training cohort")
    assert "tmb: " in message and "albumin: " in message and "age" not in message
    assert "above the training 99th percentile" in message
    assert monitor.check(chunks[1]) is None and monitor.check(chunks[2]) is None  # once only
    decades = _frame(1000, 3).assign(age=lambda f: f["age"] / 10.0)  # age in decades
    message = ShiftMonitor(monitor.profile).check(decades)
    assert "age: 100% of 1000 below the training 1st percentile" in message


def test_new_missing_values_are_flagged_but_absent_columns_are_not() -> None:
    monitor = ShiftMonitor(training_profile(_frame(1000, 0), ["tmb", "albumin", "age",
                                                              "cancer_code"], ["cancer_code"]))
    new = _frame(400, 5)
    new.loc[new.index[::2], "albumin"] = np.nan    # half the patients: unreadable values
    new["cancer_code"] = np.nan                    # every type spelt differently
    message = monitor.check(new.drop(columns="tmb"))
    assert message is not None
    assert "albumin: missing for 50% of 400 (training 0%" in message
    assert "cancer_code: missing for 100% of 400" in message
    assert "age" not in message and "tmb" not in message


def test_a_few_odd_patients_are_not_a_shift() -> None:
    monitor = ShiftMonitor(training_profile(_frame(1000, 0), ["tmb", "albumin", "age"]))
    small = _frame(5, 6)
    small.loc[small.index[:2], "tmb"] = 500.0   # two hypermutated tumours in five patients
    assert monitor.check(small) is None
    many = _frame(200, 7)
    many.loc[many.index[:10], "tmb"] = 500.0    # 5% beyond the 99th percentile: plausible
    assert monitor.check(many) is None


def test_bundle_warns_for_shifted_inputs_only(bundle_dir, fitted, sim_cohort, caplog) -> None:
    predictor = load_bundle(bundle_dir)
    assert predictor.manifest["training_profile"] == "training_profile.json"
    X = fitted["X"]
    with caplog.at_level(logging.WARNING, logger="predictor.serving"):
        predictor.predict_frame(X)  # the training patients themselves
    assert "differs from the training cohort" not in caplog.text
    shifted = X.assign(clin_age=X["clin_age"] * 12.0)  # age in months
    with caplog.at_level(logging.WARNING, logger="predictor.serving"):
        load_bundle(bundle_dir).predict_frame(shifted)
    assert "clin_age: 100% of 300 above the training 99th percentile" in caplog.text


def test_cli_warns_and_still_writes_predictions(bundle_dir, sim_cohort, tmp_path,
                                                caplog) -> None:
    from predictor.data.flat import write_flat

    cohort = _albumin_in_g_per_l(sim_cohort)
    source = tmp_path / "g_per_l.csv"
    write_flat(cohort, source)
    out = tmp_path / "pred.csv"
    with caplog.at_level(logging.WARNING, logger="predictor.serving"):
        result = CliRunner().invoke(app, ["predict", "--model", str(bundle_dir), "--input",
                                          str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "sys_albumin: 100% of 300 above the training 99th percentile" in caplog.text
    assert len(pd.read_csv(out)) == len(cohort)


def test_features_of_absent_inputs_are_left_to_the_absent_input_warning() -> None:
    monitor = ShiftMonitor(training_profile(_frame(1000, 0), ["tmb", "albumin"]))
    monitor.skip.add("albumin")  # its input column is absent: the predictor said so already
    new = _frame(400, 8).assign(albumin=lambda f: f["albumin"] * 10.0, tmb=lambda f: f["tmb"]
                                * 30.0)
    message = monitor.check(new)
    assert "tmb: " in message and "albumin" not in message


def test_validate_against_a_model_lists_what_predict_would_warn_about(bundle_dir, sim_cohort,
                                                                      tmp_path) -> None:
    from predictor.data.cbioportal import write_cbioportal
    from predictor.data.flat import write_flat

    runner = CliRunner()
    study = tmp_path / "study"
    write_cbioportal(sim_cohort, study)  # every table, as trained: nothing to report
    result = runner.invoke(app, ["validate", str(study), "--model", str(bundle_dir)])
    assert result.exit_code == 0, result.output
    assert "inputs look like its training cohort" in result.stdout
    cohort = _albumin_in_g_per_l(sim_cohort)
    flat = tmp_path / "g_per_l.csv"
    write_flat(cohort, flat)  # clinical columns only, albumin in g/L
    result = runner.invoke(app, ["validate", str(flat), "--model", str(bundle_dir)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "against model" in result.stdout and "2 warning(s)" in result.stdout
    assert any(line.startswith("warning: input lacks table 'mutations'") for line in lines)
    assert any(line.startswith("warning: input differs") and "sys_albumin: 100% of 300 above"
               in line for line in lines)
    bad = runner.invoke(app, ["validate", str(flat), "--model", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")
