"""Input rules of issue #13: impossible numbers, outcomes prediction ignores, wrong delimiters,
files lacking their mapped columns, and reading wide files in linear time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictor.data import mappings
from predictor.data.readers import read_cohort
from predictor.errors import InputError
from predictor.features.passthrough import PassthroughFeatures

REPO = Path(__file__).resolve().parents[2]
CHOWELL_MAPPING = REPO / "conf" / "mappings" / "chowell_icb.yaml"


def _flat(tmp_path: Path, name: str = "c.csv", **extra) -> Path:
    frame = pd.DataFrame({"patient_id": ["a", "b", "c", "d"],
                          "cancer_type": ["NSCLC"] * 4,
                          "albumin": ["4.0", "3.1", "3.9", "4.2"], **extra})
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("value", ["inf", "-inf", "1e308", "-1e300"])
@pytest.mark.parametrize("column", ["albumin", "TMB"])
def test_one_rule_for_schema_and_pass_through_numbers(tmp_path, column, value):
    values = ["1.0", "2.0", value, "3.0"]
    path = _flat(tmp_path, **{column: values})
    with pytest.raises(InputError) as error:
        read_cohort(path)
    assert error.value.line == 4 and error.value.column == column
    assert "impossible value" in str(error.value) and "np.float64" not in str(error.value)


def test_text_in_a_numeric_pass_through_column_is_an_error_as_in_albumin(tmp_path):
    train = read_cohort(_flat(tmp_path, "train.csv", TMB=["1.0", "2.0", "5.5", "3.0"]))
    step = PassthroughFeatures(columns=["TMB"]).fit(train)
    new = read_cohort(_flat(tmp_path, "new.csv", TMB=["1.0", "high", "5.5", "3.0"]))
    with pytest.raises(InputError) as error:
        step.transform(new)
    assert error.value.column == "TMB" and "'high'" in str(error.value)
    assert "patient 'b'" in str(error.value)
    with pytest.raises(InputError):  # the same typo in a training file
        PassthroughFeatures(columns=["TMB"]).fit(new)
    # a text column stays a category column (most values are not numbers)
    stage = read_cohort(_flat(tmp_path, "stage.csv", Stage=["IIIa", "IV", "IV", "1"]))
    assert PassthroughFeatures(columns=["Stage"]).fit(stage).categorical_features_


def test_outcomes_ignored_skips_flat_and_cbioportal_outcomes(tmp_path, tiny_study):
    from predictor.data.cohort import outcomes_ignored

    path = _flat(tmp_path, os_event=["1", "1", "0", "0"], os_months=["", "2", "3", "4"],
                 best_response=["PR", "XX", "PD", "SD"])
    with pytest.raises(InputError):
        read_cohort(path)
    with outcomes_ignored():
        cohort = read_cohort(path)
    assert cohort.outcomes is None and len(cohort) == 4
    patients = tiny_study / "data_clinical_patient.txt"
    text = patients.read_text().replace("0:CENSORED", "7:WHATEVER")
    patients.write_text(text)
    with pytest.raises(InputError):
        read_cohort(tiny_study)
    with outcomes_ignored():
        assert read_cohort(tiny_study).outcomes is None


def test_training_drops_incomplete_outcomes_only_when_asked(tmp_path, caplog):
    from predictor.training.data import CohortData

    path = _flat(tmp_path, pfs_event=["1", "1", "0", "0"], pfs_months=["", "2", "3", "-1"],
                 responder=["1", "0", "1", "0"])
    with pytest.raises(InputError):
        CohortData(path=str(path)).read(path, None)
    with caplog.at_level("WARNING"):
        cohort = CohortData(path=str(path), drop_incomplete_outcomes=True).read(path, None)
    assert cohort.meta["outcomes_set_aside"] == 2
    assert "2 outcome value(s) of 2 patient(s) set aside" in caplog.text
    assert cohort.outcomes["pfs_months"].isna().sum() == 2
    assert cohort.outcomes["responder"].notna().all()


def test_semicolon_csv_is_refused_with_a_mapping(tmp_path):
    path = tmp_path / "eu.csv"
    pd.DataFrame({"SAMPLE_ID": [1, 2], "TMB": [3.0, 4.0], "Age": [50, 60]}).to_csv(
        path, sep=";", index=False)
    with pytest.raises(InputError, match="semicolon-separated"):
        read_cohort(path, CHOWELL_MAPPING)
    tsv = tmp_path / "commas.tsv"
    pd.DataFrame({"patient_id": ["a"], "cancer_type": ["NSCLC"]}).to_csv(tsv, index=False)
    with pytest.raises(InputError, match="comma-separated"):
        read_cohort(tsv)


def test_a_file_lacking_nearly_all_mapped_columns_is_an_error(tmp_path):
    path = tmp_path / "other.csv"
    pd.DataFrame({"SAMPLE_ID": [1, 2], "TMB": [3.0, 12.5], "Foo": [1, 2]}).to_csv(
        path, index=False)
    with pytest.raises(InputError, match=r"only 1 of the 18 input columns the mapping names"):
        read_cohort(path, CHOWELL_MAPPING)


def test_extra_columns_are_converted_in_one_step(monkeypatch):
    """Linear in columns: the conversion does not set the columns one by one (quadratic in a
    pandas frame; 10,000 columns took minutes). Timed in experiments/bench_wide_inputs.py."""
    calls = []
    original = pd.DataFrame.__setitem__

    def counting(self, key, value):
        calls.append(key)
        return original(self, key, value)

    frame = pd.DataFrame(np.arange(40 * 500, dtype=float).reshape(40, 500).astype(str),
                         columns=[f"f{i}" for i in range(500)])
    monkeypatch.setattr(pd.DataFrame, "__setitem__", counting)
    out = mappings.numeric_extras(frame)
    assert len(calls) <= 2
    assert (out.dtypes == "float64").all() and list(out.columns) == list(frame.columns)
