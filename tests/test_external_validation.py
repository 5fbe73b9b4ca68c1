"""The external cohort of docs/external_validation.md, as the script writes it (needs
../shared/data; skipped without): the overlap with the Chowell cohort is real and removed, the
halves are stratified, and the file reads with the Chowell bundle's mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from experiment_runs import load_script

pytestmark = pytest.mark.shared

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "nsclc_pd1_msk_2018_as_chowell.py"


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    shared = ROOT.parent / "shared" / "data"
    if not (shared / "nsclc_pd1_msk_2018").is_dir() or not (shared / "chowell_icb").is_dir():
        pytest.skip("../shared/data is not available")
    out = tmp_path_factory.mktemp("external") / "nsclc"
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def test_overlap_is_removed_and_halves_are_stratified(written):
    all_ = pd.read_csv(written / "all.csv")
    a, b = pd.read_csv(written / "half_a.csv"), pd.read_csv(written / "half_b.csv")
    assert len(all_) == 211 and len(a) + len(b) == 211
    assert set(a["SAMPLE_ID"]).isdisjoint(b["SAMPLE_ID"])
    assert abs(a["Response"].sum() - b["Response"].sum()) <= 1
    assert abs(a["Response"].isna().sum() - b["Response"].isna().sum()) <= 1


def test_matches_are_far_above_chance(written):
    """Permuting the study's ages breaks real matches: chance alone finds a handful."""
    module = load_script(SCRIPT.stem)
    frame = module.chowell_format(module.STUDY)
    real = int(module.in_chowell(frame, module.CHOWELL).sum())
    rng = np.random.default_rng(0)
    chance = [int(module.in_chowell(frame.assign(Age=rng.permutation(frame["Age"].to_numpy())),
                                    module.CHOWELL).sum()) for _ in range(3)]
    assert real == 29
    assert max(chance) <= 8


def test_reads_with_the_chowell_mapping(written):
    from predictor.data.readers import read_cohort

    cohort = read_cohort(written / "all.csv", ROOT / "conf" / "mappings" / "chowell_icb.yaml")
    assert len(cohort) == 211
    assert cohort.outcomes["responder"].notna().sum() == 201
    assert {"TMB", "FCNA"} <= set(cohort.clinical.columns)
