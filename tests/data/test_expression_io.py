"""Expression files: cBioPortal profiles written and read back, flat gene tables, bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from predictor.data.cbioportal import read_cbioportal, read_meta, write_cbioportal
from predictor.data.expression import Expression
from tests.data.test_cbioportal import (
    assert_meta_files_are_cbioportal_types,
    assert_same_cohort,
)


def assert_same_expression(left: Expression, right: Expression) -> None:
    assert list(left.genes) == list(right.genes)
    assert list(left.samples) == list(right.samples)
    assert left.unit == right.unit
    np.testing.assert_array_equal(left.values, right.values)  # NaN == NaN here, bit-exact


def _random_expression(genes: int, samples: list[str], unit: str = "tpm",
                       seed: int = 0) -> Expression:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(1.0, 2.5, size=(genes, len(samples))).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = 0.0
    values[0, 0] = np.nan  # a gene not measured in one sample
    values[1, :] = [1e-7, 123456.78, 0.1, 3.0, 7e3][:len(samples)]
    names = [f"G{i}" for i in range(genes)]
    return Expression(values, names, samples, unit=unit)


def test_written_expression_reads_back_bit_exact(tiny_study: Path, tmp_path: Path) -> None:
    cohort = read_cbioportal(tiny_study)
    samples = list(cohort.samples["sample_id"])
    cohort = dataclasses.replace(cohort, expression=_random_expression(50, samples))
    out = tmp_path / "out"
    write_cbioportal(cohort, out)
    assert (out / "data_mrna_seq_tpm.txt").is_file()
    meta = read_meta(out / "meta_mrna_seq_tpm.txt")
    assert meta["genetic_alteration_type"] == "MRNA_EXPRESSION"
    assert meta["datatype"] == "CONTINUOUS" and meta["stable_id"] == "mrna_seq_tpm"
    assert meta["data_filename"] == "data_mrna_seq_tpm.txt"
    assert_meta_files_are_cbioportal_types(out)
    header = (out / "data_mrna_seq_tpm.txt").read_text().splitlines()[0].split("\t")
    assert header == ["Hugo_Symbol", *samples]
    back = read_cbioportal(out)
    assert_same_cohort(cohort, back)
    assert_same_expression(cohort.expression, back.expression)
    assert back.fingerprint() == cohort.fingerprint()


@pytest.mark.parametrize("unit", ["rsem", "fpkm", "unknown"])
def test_other_units_round_trip_under_their_own_profile(unit: str, tiny_study: Path,
                                                        tmp_path: Path) -> None:
    cohort = read_cbioportal(tiny_study)
    samples = list(cohort.samples["sample_id"])[:3]  # not every sample has RNA-seq
    cohort = dataclasses.replace(cohort, expression=_random_expression(5, samples, unit))
    write_cbioportal(cohort, tmp_path / "out")
    assert not (tmp_path / "out" / "data_mrna_seq_tpm.txt").exists()
    assert_same_expression(cohort.expression, read_cbioportal(tmp_path / "out").expression)


def test_a_cohort_without_expression_writes_no_profile(tiny_study: Path, tmp_path: Path) -> None:
    write_cbioportal(read_cbioportal(tiny_study), tmp_path / "out")
    assert not list((tmp_path / "out").glob("*mrna*"))
    assert read_cbioportal(tmp_path / "out").expression is None
