"""``predictor predict`` on inputs that cannot be scored: one line, exit 2, no output file;
and on outcome columns it never uses: ignored (issue #13, items 3, 4, 6, 7, 10)."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from click.testing import CliRunner

from predictor.cli import app

runner = CliRunner()


def _predict(bundle_dir, input_path, out):
    return runner.invoke(app, ["predict", "--model", str(bundle_dir), "--input",
                               str(input_path), "--output", str(out)])


def _one_line_exit_2(result) -> str:
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _with(flat_csv, tmp_path, name: str, change) -> tuple:
    frame = pd.read_csv(flat_csv, dtype=str, keep_default_na=False)
    change(frame)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path, path.read_bytes()


@pytest.mark.parametrize("column,value", [("albumin", "inf"), ("albumin", "-inf"),
                                          ("nlr", "1e308"), ("age", "Infinity"),
                                          ("platelets", "-inf"), ("TMB", "1e308")])
def test_impossible_numbers_fail_naming_line_and_column(column, value, bundle_dir, flat_csv,
                                                        tmp_path):
    def change(frame):
        if column not in frame.columns:  # a pass-through feature column
            frame[column] = [str(i) for i in range(len(frame))]
        frame.loc[4, column] = value

    path, before = _with(flat_csv, tmp_path, "in.csv", change)
    out = tmp_path / "pred.csv"
    line = _one_line_exit_2(_predict(bundle_dir, path, out))
    assert "line 6" in line and f"column '{column}'" in line and "impossible" in line
    assert not out.exists() and path.read_bytes() == before
    assert list(tmp_path.glob(".*.tmp")) == []


def test_partial_and_odd_outcomes_do_not_block_prediction(bundle_dir, flat_csv, tmp_path):
    clean = tmp_path / "clean.csv"
    assert _predict(bundle_dir, flat_csv, clean).exit_code == 0

    def odd_outcomes(frame):
        n = len(frame)
        frame["os_event"] = ["1"] * n
        frame["os_months"] = [""] + ["3.5"] * (n - 1)        # event without a time
        frame["pfs_months"] = ["-2"] + ["1"] * (n - 1)       # negative time
        frame["pfs_event"] = ["1"] * n
        frame["responder"] = ["2"] + ["0"] * (n - 1)         # not 0/1
        frame["best_response"] = ["XX"] + ["PR"] * (n - 1)   # not RECIST

    path, _ = _with(flat_csv, tmp_path, "odd.csv", odd_outcomes)
    out = tmp_path / "odd_pred.csv"
    result = _predict(bundle_dir, path, out)
    assert result.exit_code == 0, (result.output, result.exception)
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(clean))
    # validate reads them, warns with a count, and exits 0
    checked = runner.invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "warning: 4 unusable outcome value(s) of 1 patient(s)" in checked.stderr


def test_semicolon_csv_is_refused(bundle_dir, flat_csv, tmp_path):
    frame = pd.read_csv(flat_csv, dtype=str, keep_default_na=False)
    path = tmp_path / "european.csv"
    frame.to_csv(path, index=False, sep=";")
    out = tmp_path / "pred.csv"
    line = _one_line_exit_2(_predict(bundle_dir, path, out))
    assert "semicolon-separated" in line and "line 1" in line
    assert not out.exists()


def test_read_only_output_folder_is_one_line(bundle_dir, flat_csv, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    line = _one_line_exit_2(_predict(bundle_dir, flat_csv, blocker / "sub" / "pred.csv"))
    assert "cannot write here" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_read_only_output_folder_permissions(bundle_dir, flat_csv, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        line = _one_line_exit_2(_predict(bundle_dir, flat_csv, folder / "pred.csv"))
        assert "permission denied" in line
    finally:
        folder.chmod(0o755)


def test_messages_show_plain_numbers(bundle_dir, flat_csv, tmp_path):
    path, _ = _with(flat_csv, tmp_path, "neg.csv", lambda f: f.__setitem__(
        "age", ["-3.5", *f["age"].iloc[1:]]))
    line = _one_line_exit_2(_predict(bundle_dir, path, tmp_path / "pred.csv"))
    assert "value -3.5 outside" in line and "np.float64" not in line
