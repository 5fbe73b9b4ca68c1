"""The compiled path imports only what it needs: serving a compiled bundle must not pay for
LightGBM, MLflow, Hydra or matplotlib (seconds of start-up per ``predictor predict``), nor for
scikit-learn/SciPy, which no fitted feature step needs to transform. Nor does the command line
parser itself pay for a validation framework (typer builds pydantic adapters for every option)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

NEVER = ("lightgbm", "mlflow", "hydra", "matplotlib", "sklearn", "scipy", "sksurv")
CLI_OVERHEAD = ("typer", "pydantic")  # ~0.1 s of a one-patient prediction (option parsing)

SCRIPT = """
import json, sys
from predictor.cli import app
try:
    app(sys.argv[1:])
except SystemExit as done:
    if done.code:
        raise
print(json.dumps(sorted(sys.modules)))
"""


def _modules(args: list[str]) -> set[str]:
    result = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True,
                            text=True, check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _imported(args: list[str]) -> set[str]:
    """Top-level packages imported by the command."""
    return {name.split(".")[0] for name in _modules(args)}


def test_compiled_prediction_imports_no_training_library(bundle_dir, flat_csv, tmp_path):
    one = tmp_path / "one.csv"
    pd.read_csv(flat_csv, nrows=1).to_csv(one, index=False)  # one patient: start-up matters
    out = tmp_path / "pred.csv"
    modules = _modules(["predict", "--model", str(bundle_dir), "--input", str(one),
                        "--output", str(out)])
    imported = {name.split(".")[0] for name in modules}
    assert out.is_file() and len(pd.read_csv(out)) == 1
    assert "lleaves" in imported  # the compiled core did the scoring
    assert not imported & set(NEVER), sorted(imported & set(NEVER))
    assert not imported & set(CLI_OVERHEAD), sorted(imported & set(CLI_OVERHEAD))
    # A CSV in, a CSV out: no Parquet reader/writer (with pyarrow's file systems), and no
    # cBioPortal study reader for a flat file.
    assert not modules & {"pyarrow.parquet", "pyarrow.fs", "predictor.data.cbioportal"}


def test_lightgbm_backend_still_imports_lightgbm(bundle_dir, flat_csv, tmp_path):
    """The check above can fail: the reference backend does import LightGBM."""
    out = tmp_path / "pred.csv"
    imported = _imported(["predict", "--model", str(bundle_dir), "--input", str(flat_csv),
                          "--output", str(out), "--backend", "lightgbm"])
    assert "lightgbm" in imported
