"""The simulator's truth files: written beside a study, read only by the truth readers."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from predictor.data.readers import read_cohort
from predictor.data.simulator import simulate_regimen_truth, simulate_study
from predictor.data.truth import read_regimen_truth, read_truth
from predictor.errors import InputError


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "study"
    summary = simulate_study(120, 4, out, expression="none")
    assert "ground_truth_regimens.tsv" in summary
    return out


def test_simulate_writes_the_regimen_truth_and_it_reads_back(study) -> None:
    rt = read_regimen_truth(study / "ground_truth_regimens.tsv")
    direct = simulate_regimen_truth(120, 4)
    pd.testing.assert_frame_equal(rt, direct, check_dtype=False, check_exact=True)
    assert str(rt["patient_id"].dtype) == "string" and rt["regimen"].dtype == "string"
    # The assigned regimen's row is the patient's row of ground_truth.tsv.
    truth = read_truth(study / "ground_truth.tsv")
    clinical = read_cohort(study).clinical
    own = rt.set_index(["patient_id", "regimen"]).loc[
        list(zip(clinical.index, clinical["regimen"].astype(str), strict=True))]
    for col in ("true_response_probability", "true_pfs_12m"):
        assert own[col].tolist() == truth.loc[clinical.index, col].tolist()


def test_no_cohort_reader_loads_the_regimen_truth(study, tmp_path) -> None:
    without = tmp_path / "without"
    shutil.copytree(study, without)
    (without / "ground_truth_regimens.tsv").unlink()
    a, b = read_cohort(study), read_cohort(without)
    assert a.fingerprint() == b.fingerprint()
    for name, table in a.tables().items():
        pd.testing.assert_frame_equal(table, b.tables()[name], check_exact=True)
        assert "true_pfs_12m" not in table.columns, name


def _write(tmp_path, text: str):
    path = tmp_path / "rt.tsv"
    path.write_text(text)
    return path


def test_bad_regimen_truth_files_are_one_line_errors(tmp_path) -> None:
    header = "patient_id\tregimen\ttrue_response_probability\ttrue_pfs_12m\n"
    with pytest.raises(InputError, match="not found"):
        read_regimen_truth(tmp_path / "absent.tsv")
    with pytest.raises(InputError, match=r"lacks column.*true_pfs_12m"):
        read_regimen_truth(_write(tmp_path, "patient_id\tregimen\ttrue_response_probability\n"))
    with pytest.raises(InputError, match=r"line 3, column 'regimen'.*duplicated"):
        read_regimen_truth(_write(tmp_path, header + "P1\ta\t0.1\t0.2\nP1\ta\t0.3\t0.4\n"))
    with pytest.raises(InputError, match=r"line 2, column 'true_pfs_12m'.*probability"):
        read_regimen_truth(_write(tmp_path, header + "P1\ta\t0.1\t1.2\n"))
    with pytest.raises(InputError, match=r"line 3, column 'regimen'.*empty"):
        read_regimen_truth(_write(tmp_path, header + "P1\ta\t0.1\t0.2\nP2\t\t0.1\t0.2\n"))
