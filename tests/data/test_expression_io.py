"""Expression files: cBioPortal profiles written and read back, flat gene tables, bad input."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from predictor.data.cbioportal import read_cbioportal, read_meta, write_cbioportal
from predictor.data.expression import Expression
from predictor.data.readers import read_cohort
from predictor.errors import InputError
from tests.conftest import DATA_FIXTURES
from tests.data.test_cbioportal import (
    assert_meta_files_are_cbioportal_types,
    assert_same_cohort,
)
from tests.data.test_validate_cli import edit


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


# ---------------------------------------------------------------------------- real cohorts
ICB_COHORTS = {  # patients, genes: the table of ../shared/data/icb_rnaseq/README.md
    "gide_2019_skcm": (41, 19961), "liu_2019_skcm": (120, 16737),
    "miao_2018_kirc": (33, 20242), "padron_2022_paad": (45, 18459),
    "zhao_2019_gbm": (17, 20183), "thibaudin_2023_coadread": (20, 20168),
    "limagne_2022_nsclc": (26, 19961),
}


def test_every_shared_icb_cohort_reads_with_its_readme_counts(shared_data: Path) -> None:
    root = shared_data / "icb_rnaseq"
    for name, (patients, genes) in ICB_COHORTS.items():
        cohort = read_cohort(root / name)
        assert len(cohort) == patients, name
        assert cohort.expression.shape == (genes, patients), name
        assert cohort.expression.unit == "tpm"
        assert set(cohort.expression.samples) == set(cohort.samples["sample_id"])
        assert cohort.expression.values.dtype == np.float32
        assert not np.isnan(cohort.expression.values).any(), name  # one study: all measured
    liu = read_cohort(root / "liu_2019_skcm")  # YES/NO prior therapy read as 1/0
    assert liu.clinical["prior_systemic_therapy"].value_counts().to_dict() == {0: 62, 1: 58}
    assert int(liu.outcomes["responder"].sum()) == 52


def test_two_pooled_studies_carry_their_study_and_nan_for_unshared_genes(
        shared_data: Path) -> None:
    root = shared_data / "icb_rnaseq"
    miao, zhao = read_cohort(root / "miao_2018_kirc"), read_cohort(root / "zhao_2019_gbm")
    pooled = read_cohort([root / "miao_2018_kirc", root / "zhao_2019_gbm"])
    assert len(pooled) == 33 + 17
    assert pooled.clinical["cohort"].value_counts().to_dict() == {"miao_2018_kirc": 33,
                                                                  "zhao_2019_gbm": 17}
    expr = pooled.expression
    assert set(expr.genes) == set(miao.expression.genes) | set(zhao.expression.genes)
    only_miao = sorted(set(miao.expression.genes) - set(zhao.expression.genes))
    assert only_miao
    frame = expr.to_frame()
    zhao_ids = list(zhao.expression.samples)
    assert frame.loc[only_miao[0], zhao_ids].isna().all()  # not measured, never 0
    miao_ids = list(miao.expression.samples)
    np.testing.assert_array_equal(
        frame.loc[only_miao[0], miao_ids].to_numpy(),
        miao.expression.to_frame().loc[only_miao[0], miao_ids].to_numpy())
    assert pooled.outcomes["responder"].notna().sum() == 28 + 17
    assert pooled.meta["studies"] == ["miao_2018_kirc", "zhao_2019_gbm"]


def test_cohort_column_gives_one_group_per_pooled_study(shared_data: Path) -> None:
    from predictor.training import CohortData

    root = shared_data / "icb_rnaseq"
    pooled = read_cohort([root / "miao_2018_kirc", root / "zhao_2019_gbm"])
    groups = CohortData(cohort_column="cohort").cohort_groups(pooled)
    assert groups.nunique() == 2 and len(groups) == 50


def test_a_pooled_cohort_round_trips_with_its_missing_genes(shared_data: Path,
                                                            tmp_path: Path) -> None:
    root = shared_data / "icb_rnaseq"
    pooled = read_cohort([root / "miao_2018_kirc", root / "zhao_2019_gbm"])
    write_cbioportal(pooled, tmp_path / "pooled")
    back = read_cohort(tmp_path / "pooled")
    assert_same_expression(pooled.expression, back.expression)
    assert back.clinical["cohort"].value_counts().to_dict() == {"miao_2018_kirc": 33,
                                                                "zhao_2019_gbm": 17}


def test_all_seven_icb_cohorts_pool(shared_data: Path) -> None:
    root = shared_data / "icb_rnaseq"
    pooled = read_cohort([root / name for name in ICB_COHORTS])
    assert len(pooled) == sum(p for p, _ in ICB_COHORTS.values())
    assert pooled.expression.shape[1] == len(pooled)
    assert pooled.clinical["cohort"].nunique() == 7


def test_a_patient_in_two_studies_is_refused(tiny_study: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(tiny_study, twin)
    meta = (twin / "meta_study.txt").read_text().replace("tiny_headers", "tiny_twin")
    (twin / "meta_study.txt").write_text(meta)
    with pytest.raises(InputError, match=r"patient 'P1' is in both tiny_headers .* tiny_twin"):
        read_cohort([tiny_study, twin])
    with pytest.raises(InputError, match="given twice"):
        read_cohort([tiny_study, tiny_study])


# ---------------------------------------------------------------------------- fixture studies
def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(DATA_FIXTURES / name, tmp_path / name))


def test_tpm_profile_is_read_and_z_scores_are_ignored(caplog) -> None:
    caplog.set_level(logging.INFO)
    cohort = read_cohort(DATA_FIXTURES / "study_expression")
    expr = cohort.expression
    assert expr.unit == "tpm" and expr.shape == (5, 3)
    assert list(expr.genes) == ["CD8A", "GZMB", "PRF1", "CXCL9", "ACTB"]  # Entrez id dropped
    assert list(expr.samples) == ["P1-T", "P2-T", "P3-T"]
    frame = expr.to_frame()
    assert frame.loc["PRF1", "P1-T"] == np.float32(40.25)
    assert np.isnan(frame.loc["GZMB", "P3-T"])  # NA: not measured
    assert "z-score expression profiles ignored" in caplog.text
    by_patient = expr.by_patient(cohort.samples, cohort.patient_ids)
    assert list(by_patient.samples) == ["P1", "P2", "P3"]


def test_a_study_with_only_z_scores_is_refused() -> None:
    with pytest.raises(InputError, match="only expression profiles are z-scores"):
        read_cohort(DATA_FIXTURES / "study_zscores_only")


def test_rsem_profile_with_duplicate_symbols_and_a_row_without_one(caplog) -> None:
    cohort = read_cohort(DATA_FIXTURES / "study_rsem")
    expr = cohort.expression
    assert expr.unit == "rsem"
    assert list(expr.genes) == ["CD8A", "GZMB", "SLC35E2", "ACTB"]
    np.testing.assert_array_equal(expr.to_frame().loc["SLC35E2"].to_numpy(),
                                  np.float32([250.5, 310.5, 175]))  # max per sample
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("appear on several rows" in w for w in warnings) == 1
    assert sum("without a gene symbol" in w for w in warnings) == 1
    assert not any("log-transformed" in w for w in warnings)


def test_log_looking_values_give_a_warning(tmp_path: Path, caplog) -> None:
    study = _copy("study_expression", tmp_path)
    rows = ["Hugo_Symbol\tP1-T\tP2-T\tP3-T", "CD8A\t6.91\t1.68\t0", "ACTB\t12.35\t12.2\t12.6"]
    (study / "data_mrna_seq_tpm.txt").write_text("\n".join(rows) + "\n")
    read_cohort(study)
    assert "look log-transformed" in caplog.text


def test_a_sample_the_study_does_not_list_is_an_error(tmp_path: Path) -> None:
    study = _copy("study_expression", tmp_path)
    edit(study / "data_mrna_seq_tpm.txt", "P3-T\n", "P9-T\n")
    with pytest.raises(InputError, match="'P9-T' which is not in the samples table"):
        read_cohort(study)


@pytest.mark.parametrize(("old", "new", "fragments"), [
    ("\t40.25\t", "\tlow\t", ("data_mrna_seq_tpm.txt", "line 4", "'P1-T'", "'low'")),
    ("\t0.8\t", "\t-0.8\t", ("line 4", "'P2-T'", "must not be negative")),
    ("\tP2-T\tP3-T", "\tP2-T\tP2-T", ("line 1", "'P2-T'", "duplicate column")),
])
def test_bad_expression_cells_exit_2_naming_file_line_column(tmp_path: Path, old: str, new: str,
                                                             fragments: tuple) -> None:
    from tests.data.test_validate_cli import assert_one_line_error, validate

    study = _copy("study_expression", tmp_path)
    edit(study / "data_mrna_seq_tpm.txt", old, new)
    assert_one_line_error(validate(study), *fragments)


def test_validate_lists_the_expression_matrix() -> None:
    from tests.data.test_validate_cli import validate

    result = validate(DATA_FIXTURES / "study_expression")
    assert result.exit_code == 0, result.output
    assert "expression: 5 genes x 3 samples, unit tpm (data_mrna_seq_tpm.txt)" in result.stdout
    assert ("z-score profiles ignored (not expression levels): "
            "data_mrna_seq_v2_rsem_zscores_ref_all_samples.txt") in result.stdout


# ---------------------------------------------------------------------------- flat input
FLAT_MAPPING = {"id_column": "patient_id", "columns": {"cancer_type": "cancer_type"},
                "outcomes": {"responder": "responder"}}


def test_flat_genes_x_samples_and_samples_x_genes_tables_read_the_same() -> None:
    flat = DATA_FIXTURES / "flat_expression"
    wide = read_cohort(flat / "patients.tsv",
                       {**FLAT_MAPPING, "expression": {"path": "genes_x_samples.tsv",
                                                       "unit": "tpm"}})
    long = read_cohort(flat / "patients.tsv",
                       {**FLAT_MAPPING, "expression": {"path": "samples_x_genes.csv",
                                                       "orientation": "samples_x_genes",
                                                       "unit": "tpm"}})
    assert wide.expression.shape == long.expression.shape == (3, 3)
    assert_same_expression(wide.expression, long.expression)
    assert np.isnan(wide.expression.to_frame().loc["GZMB", "F3"])
    plain = read_cohort(flat / "patients.tsv", {**FLAT_MAPPING,
                                                "expression": "genes_x_samples.tsv"})
    assert plain.expression.unit == "unknown"


def test_flat_expression_follows_chunks() -> None:
    from predictor.data.readers import iter_flat_chunks

    mapping = {**FLAT_MAPPING, "expression": "genes_x_samples.tsv"}
    chunks = list(iter_flat_chunks(DATA_FIXTURES / "flat_expression" / "patients.tsv", mapping,
                                   chunk_rows=2))
    assert [list(c.expression.samples) for c in chunks] == [["F1", "F2"], ["F3"]]


def test_flat_expression_mapping_errors(tmp_path: Path) -> None:
    flat = DATA_FIXTURES / "flat_expression"
    with pytest.raises(InputError, match="not found"):
        read_cohort(flat / "patients.tsv", {**FLAT_MAPPING, "expression": "nope.tsv"})
    with pytest.raises(InputError, match="orientation"):
        read_cohort(flat / "patients.tsv", {**FLAT_MAPPING, "expression": {
            "path": "genes_x_samples.tsv", "orientation": "sideways"}})
    with pytest.raises(InputError, match="unknown key"):
        read_cohort(flat / "patients.tsv", {**FLAT_MAPPING, "expression": {
            "path": "genes_x_samples.tsv", "units": "tpm"}})
    bad = Path(shutil.copytree(flat, tmp_path / "flat"))
    edit(bad / "samples_x_genes.csv", "F3,0", "F2,0")
    with pytest.raises(InputError, match=r"line 4.*'sample'.*'F2' appears twice"):
        read_cohort(bad / "patients.tsv", {**FLAT_MAPPING, "expression": {
            "path": "samples_x_genes.csv", "orientation": "samples_x_genes"}})


def test_data_path_may_be_a_list_in_the_config(shared_data: Path) -> None:
    from omegaconf import OmegaConf

    from predictor.training.data import cohort_paths

    root = shared_data / "icb_rnaseq"
    cfg = OmegaConf.create({"path": [str(root / "miao_2018_kirc"), str(root / "zhao_2019_gbm")]})
    paths = cohort_paths(cfg.path)
    assert paths == [root / "miao_2018_kirc", root / "zhao_2019_gbm"]
    assert len(read_cohort(paths)) == 50
    alone = read_cohort(cohort_paths(OmegaConf.create({"path": [str(root / "zhao_2019_gbm")]})
                                     .path))
    assert set(alone.clinical["cohort"]) == {"zhao_2019_gbm"}  # a list of one is tagged too
    with pytest.raises(InputError, match="lists no study"):
        cohort_paths(OmegaConf.create({"path": []}).path)


@pytest.mark.parametrize("block_bytes", [40, 1 << 24])
def test_tab_separated_profiles_are_read_in_blocks_of_lines_exactly(
        tmp_path: Path, monkeypatch, block_bytes: int) -> None:
    """The block-of-lines reader (of wide cBioPortal profiles) gives the float32 matrix
    written, whatever the block size: CRLF, comment and empty lines, null tokens, an Entrez
    column, a row without a symbol, a last line without a newline."""
    from predictor.data import expression_io

    monkeypatch.setattr(expression_io, "BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(expression_io, "WIDE_COLUMNS", 1)
    rng = np.random.default_rng(3)
    values = rng.lognormal(2, 3, size=(6, 5)).astype(np.float32)
    cells = [[repr(float(v)) for v in row] for row in values]
    cells[1][2], cells[2][0], cells[4][4] = "NA", "", "NaN"
    for i, j in ((1, 2), (2, 0), (4, 4)):
        values[i, j] = np.nan
    genes = ["CD8A", "GZMB", "PRF1", "", "ACTB", "GAPDH"]
    rows = ["\t".join([g, str(i), *c]) for i, (g, c) in enumerate(zip(genes, cells, strict=True))]
    text = ("#a comment\r\nHugo_Symbol\tEntrez_Gene_Id\t" + "\t".join(f"S{j}" for j in range(5))
            + "\r\n" + "\r\n".join(rows[:2]) + "\r\n\r\n" + "\r\n".join(rows[2:]))
    path = tmp_path / "data_mrna_seq_tpm.txt"
    path.write_bytes(text.encode())
    expr = expression_io.read_expression_table(path, "tpm")
    assert list(expr.genes) == ["CD8A", "GZMB", "PRF1", "ACTB", "GAPDH"]
    assert list(expr.samples) == [f"S{j}" for j in range(5)]
    np.testing.assert_array_equal(expr.values, values[[0, 1, 2, 4, 5]])
    bad = text.replace(cells[5][3], "x1", 1)
    path.write_bytes(bad.encode())
    with pytest.raises(InputError, match=r"line 9, column 'S3'.*got 'x1'"):
        expression_io.read_expression_table(path, "tpm")
