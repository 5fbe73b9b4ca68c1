"""Property-based tests of what ``predictor predict`` reads besides the cohort (the bundle
manifest) and of the whole command on fuzzed cohort files: exit 0 with a complete output, or
exit 2 with one ``error:`` line, no output file and no temporary file; the input unchanged.
Case counts: see tests/data/test_fuzz_readers.py."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from click.testing import CliRunner
from fuzzing import CELLS, FLAT_COLUMNS, _table_text, tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor.cli import app
from predictor.errors import InputError

runner = CliRunner()
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 10**6), st.floats(allow_nan=True),
              st.text(max_size=6), st.sampled_from(["response", "relapse", "predictor-bundle",
                                                    "model.txt", "../x", "/etc"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)


def _paths(manifest: dict) -> list[tuple]:
    """Every key path of the manifest (to pick one to change)."""
    out: list[tuple] = []

    def walk(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                out.append((*prefix, key))
                walk(value, (*prefix, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                out.append((*prefix, i))
                walk(value, (*prefix, i))

    walk(manifest, ())
    return out


@FUZZ
@given(data=st.data())
def test_bundle_manifest(bundle_dir, data):
    from predictor.serving.bundle import load_bundle

    manifest = yaml.safe_load((bundle_dir / "bundle.yaml").read_text())
    work = Path(tempfile.mkdtemp(prefix="fuzz-bundle-"))
    try:
        copy = Path(shutil.copytree(bundle_dir, work / "model"))
        if data.draw(st.booleans()):
            for _ in range(data.draw(st.integers(1, 3))):
                paths = _paths(manifest)  # half the time a top-level key
                keys = data.draw(st.one_of(st.sampled_from([p for p in paths if len(p) == 1]),
                                           st.sampled_from(paths)))
                node = manifest
                for key in keys[:-1]:
                    node = node[key]
                if data.draw(st.booleans()) and isinstance(node, dict):
                    del node[keys[-1]]
                else:
                    node[keys[-1]] = data.draw(VALUES)
            text = yaml.safe_dump(manifest)
        else:
            text = data.draw(st.text(max_size=80))
        (copy / "bundle.yaml").write_text(text, encoding="utf-8")
        try:
            load_bundle(copy, backend="lightgbm")
        except InputError as error:
            assert "\n" not in str(error) and error.file is not None
    finally:
        shutil.rmtree(work)


@FUZZ
@given(table=tables(FLAT_COLUMNS, ["patient_id", "cancer_type"]),
       suffix=st.sampled_from([".csv", ".tsv"]), cell=CELLS)
def test_predict_command(bundle_dir, table, suffix, cell):
    work = Path(tempfile.mkdtemp(prefix="fuzz-predict-"))
    try:
        path = work / f"in{suffix}"
        path.write_text(_table_text(*table, "," if suffix == ".csv" else "\t"),
                        encoding="utf-8")
        before = path.read_bytes()
        out = work / "out" / "pred.csv"
        result = runner.invoke(app, ["predict", "--model", str(bundle_dir), "--input",
                                     str(path), "--output", str(out), "--backend",
                                     "lightgbm"])
        assert path.read_bytes() == before
        assert not [p for p in work.rglob("*.tmp")]
        if result.exit_code == 0:
            assert len(pd.read_csv(out)) >= 1
        else:
            assert result.exit_code == 2, (result.output, result.exception)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
            assert not out.exists()
    finally:
        shutil.rmtree(work)
