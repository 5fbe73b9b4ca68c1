"""Before training: a missing data.path or an unwritable tracking store fails in one line,
fast, and creates nothing (issue #13, items 7 and 10)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from predictor import training
from predictor.errors import InputError
from predictor.train import CONFIG_DIR
from predictor.training.tracking import check_store


def _config(overrides: list[str]):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def test_missing_data_path_creates_no_store_and_no_output(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "mlruns.db"
    cfg = _config(["data=demo", f"data.path={tmp_path / 'no_such_cohort'}",
                   f"tracking.uri=sqlite:///{store}", "compile=false"])
    with pytest.raises(InputError, match="no such file or folder"):
        training.run_training(cfg, output_dir=tmp_path / "out")
    assert not store.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_unwritable_tracking_store_fails_fast_in_one_line(tmp_path: Path, kind: str) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    uri = (f"sqlite:///{blocker}/mlruns.db" if kind == "sqlite"
           else f"file://{blocker}/mlruns")
    started = time.perf_counter()
    with pytest.raises(InputError) as error:
        check_store({"enabled": True, "uri": uri, "experiment_name": "x"})
    assert time.perf_counter() - started < 30  # MLflow alone retried for ~110 s
    assert "cannot use the MLflow tracking store" in str(error.value)
    assert "\n" not in str(error.value)


def test_unwritable_output_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = _config(["data=demo", "tracking=disabled", "compile=false"])
    with pytest.raises(InputError, match="cannot write here"):
        training.run_training(cfg, output_dir=blocker / "out")
