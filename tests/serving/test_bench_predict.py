"""Smoke tests of ``predictor bench predict``: the parts that run fast (no 1M rows, no CLI)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from predictor.bench import predict as bench
from predictor.models.response import ResponseModel


def _response_data(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = bench.synthetic(n, seed=3)
    frame = pd.DataFrame(X[:, :6], columns=[f"f{i}" for i in range(6)],
                         index=pd.Index([f"P{i}" for i in range(n)], name="patient_id"))
    return frame, y


def test_all_rounds_refits_with_every_round():
    X, y = _response_data()
    params = {"n_estimators": 40, "inner_folds": 2, "learning_rate": 0.3,
              "early_stopping_rounds": 2, "num_threads": 1}
    with bench._all_rounds(True):
        full = ResponseModel(**params).fit(X, y)
    assert full.booster_.num_trees() == 40
    with bench._all_rounds(False):
        default = ResponseModel(**params).fit(X, y)
    assert default.booster_.num_trees() < 40  # early stopping picked fewer rounds


def test_tl2cgen_row_is_skipped_when_missing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tl2cgen", None)  # import fails
    item = bench.tl2cgen_benchmark(tmp_path / "model.txt", np.zeros((2, 3)), None, tmp_path)
    assert item["what"] == "tl2cgen" and "not installed" in item["skipped"]


def test_run_prints_table_for_every_bundle(monkeypatch, capsys):
    core = [
        {"what": "compile", "seconds": 1.0, "backend": "compiled", "max_abs_diff": 0.0},
        {"what": "throughput", "threads": 2, "batch": 100_000, "compiled": 6e5,
         "lightgbm": 1e5},
        {"what": "latency", "compiled": 12.0, "lightgbm": 30.0},
        {"what": "tl2cgen", "skipped": "not installed (tl2cgen)"},
    ]
    stages = {"read": 0.1, "features": 0.1, "score": 0.1, "write": 0.1, "rows": 1e5}
    e2e = {label: {"trees": {"response": trees, "relapse": trees}, "compiled": 1.0,
                   "lightgbm": 3.0, "stages_compiled": stages, "stages_lightgbm": stages,
                   "startup_compiled": 1.25, "startup_lightgbm": 1.5}
           for label, trees in (("full_trees", 500), ("full", 500), ("default", 80))}
    e2e["startup"] = {"cli": 1.1, "numpy_pandas": 0.5, "repeats": 5}
    monkeypatch.setenv("COLUMNS", "250")  # rich: no wrapped labels
    monkeypatch.setattr(bench, "core_benchmark", lambda *a, **k: core)
    monkeypatch.setattr(bench, "e2e_benchmark", lambda *a, **k: e2e)
    bench.run(rows=1_000_000, quick=True)
    out = capsys.readouterr().out
    assert "100,000 rows" in out  # --quick caps the rows
    assert "500-tree bundle, trees only" in out and "default early-stopped bundle" in out
    assert "500-tree bundle with the linear blend" in out
    assert "6.0x" in out and "3.00x" in out and "skipped" in out
    assert "start-up s (CLI on 100 rows)" in out and "1.25" in out
    assert "one patient: CLI s" in out and "2.20x" in out and "<= 2x" in out


def test_real_bundle_run_prints_its_own_table(monkeypatch, capsys, tmp_path):
    stages = {"read": 0.1, "features": 0.1, "score": 0.1, "write": 0.1, "rows": 1e5}
    times = {"trees": {"response": 80, "relapse": 60}, "rows": 100_000, "startup_rows": 1,
             "compiled": 2.0, "lightgbm": 5.0, "stages_compiled": stages,
             "stages_lightgbm": stages, "startup_compiled": 0.9, "startup_lightgbm": 2.5,
             "startup": {"cli": 0.9, "numpy_pandas": 0.6, "repeats": 5}}
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(bench, "real_bundle_benchmark", lambda *a, **k: times)
    monkeypatch.setattr(bench, "core_benchmark", lambda *a, **k: pytest.fail("not run"))
    bench.run(rows=100_000, bundle=tmp_path, source=tmp_path / "in.csv")
    out = capsys.readouterr().out
    assert "the given bundle" in out and "2.50x" in out and ">= 1.5x at 100k rows" in out
    assert "CLI on 1 rows" in out and "1.50x" in out


def test_regimen_mode_prints_the_ratio(monkeypatch, capsys):
    result = {"patients_plain": 1_000_000, "patients_regimens": 100_000,
              "rows_regimens": 1_000_000, "n_regimens": 10,
              "trees": {"response": 60, "relapse": 90}, "plain": 40.0, "regimens": 50.0,
              "full_tables": {"patients": 10_000, "rows": 100_000, "plain": 2.0,
                              "regimens": 40.0}}
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(bench, "regimen_benchmark", lambda *a, **k: result)
    bench.run(rows=1_000_000, regimens=10)
    out = capsys.readouterr().out
    assert "100,000 patients x 10" in out and "25,000" in out and "20,000" in out
    assert "1.25x" in out and "<= 2x" in out
    assert "every table" in out and "2.00x" in out  # 5,000 vs 2,500 rows/s


def test_regimen_benchmark_small(tmp_path):
    """The what-if benchmark end to end on a few rows: each patient has exactly N rows."""
    result = bench.regimen_benchmark(400, tmp_path, n_regimens=4, quick=True,
                                     train_patients=300)
    assert result["patients_regimens"] == 100 and result["rows_regimens"] == 400
    assert result["plain"] > 0 and result["regimens"] > 0
    full = result["full_tables"]
    assert full["rows"] == 4 * full["patients"] and full["regimens"] > 0
