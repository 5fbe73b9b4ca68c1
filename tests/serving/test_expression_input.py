"""``predictor predict`` on a real RNA-seq study folder: expression profile, no MAF."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from predictor.cli import app
from predictor.data.readers import read_cohort
from tests.conftest import DATA_FIXTURES


def test_predict_on_an_rnaseq_study_without_a_maf(bundle_dir, shared_data: Path, tmp_path,
                                                  caplog) -> None:
    study = shared_data / "icb_rnaseq" / "miao_2018_kirc"
    assert not list(study.glob("data_mutations*"))
    out = tmp_path / "pred.csv"
    with caplog.at_level(logging.WARNING):
        result = CliRunner().invoke(app, ["predict", "--model", str(bundle_dir), "--input",
                                          str(study), "--output", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    cohort = read_cohort(study)
    assert sorted(got["patient_id"]) == sorted(cohort.patient_ids)
    assert got["response_probability"].between(0, 1).all()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and r.name.startswith("predictor.serving")]
    assert any("table 'mutations'" in w for w in warnings), warnings


class _MeanExpression:
    """A feature step reading the expression matrix (what the TME family does)."""

    def transform(self, cohort) -> pd.DataFrame:
        value = np.nan
        if cohort.expression is not None:
            by_patient = cohort.expression.by_patient(cohort.samples, cohort.patient_ids)
            value = by_patient.values.mean(axis=0)
        return pd.DataFrame({"expr_mean": value, "constant": 0.0}, index=cohort.patient_ids)


def test_the_absent_input_probe_and_warning_cover_expression() -> None:
    from predictor.serving.inputs import absent_inputs, used_inputs

    cohort = read_cohort(DATA_FIXTURES / "study_expression")
    used = used_inputs(_MeanExpression(), cohort, ["expr_mean", "constant"])
    assert used["tables"] == {"expression": ["expr_mean"]}
    described, features = absent_inputs(dataclasses.replace(cohort, expression=None), used)
    assert features == {"expr_mean"} and "'expression'" in described[0]
