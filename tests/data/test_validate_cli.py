"""``predictor validate``: good inputs print a summary; bad inputs give one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from predictor.cli import app

runner = CliRunner()


def validate(*args: str):
    return runner.invoke(app, ["validate", *map(str, args)])


def assert_one_line_error(result, *fragments: str) -> str:
    """Exit code 2, a single ``error:`` line on stderr naming every fragment, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def assert_outcome_warning(result, *fragments: str) -> str:
    """Unusable outcome values: exit 0 and one ``warning:`` line (``predict`` ignores outcomes,
    training refuses them); the line names where the first one is."""
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if "unusable outcome" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: 1 unusable outcome value(s)")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_valid_study_prints_summary(tiny_study: Path) -> None:
    result = validate(tiny_study)
    assert result.exit_code == 0, result.output
    assert "4 patients, 5 samples" in result.stdout
    assert "mutations: 9 rows" in result.stdout
    assert "responders 1, non-responders 1, not evaluable 2" in result.stdout


def test_missing_path(tmp_path: Path) -> None:
    assert_one_line_error(validate(tmp_path / "nope"), "nope", "no such file")


def test_empty_flat_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert_one_line_error(validate(path), "empty.csv", "empty")


def test_empty_clinical_file(tiny_study: Path) -> None:
    (tiny_study / "data_clinical_patient.txt").write_text("")
    assert_one_line_error(validate(tiny_study), "data_clinical_patient.txt", "empty")


def test_missing_required_maf_column(tiny_study: Path) -> None:
    edit(tiny_study / "data_mutations.txt", "Variant_Classification", "VarClass")
    assert_one_line_error(validate(tiny_study), "data_mutations.txt",
                          "column 'Variant_Classification'", "missing required")


def test_missing_patient_id_column(tiny_study: Path) -> None:
    edit(tiny_study / "data_clinical_patient.txt", "\nPATIENT_ID\t", "\nPATIENT\t")
    assert_one_line_error(validate(tiny_study), "data_clinical_patient.txt", "'PATIENT_ID'")


def test_wrong_type_names_line_and_column(tiny_study: Path) -> None:
    edit(tiny_study / "data_clinical_patient.txt", "\t51.5\t", "\tfifty\t")
    assert_one_line_error(validate(tiny_study), "data_clinical_patient.txt", "line 7",
                          "column 'AGE'", "'fifty'")


def test_wrong_count_type_in_maf(tiny_study: Path) -> None:
    edit(tiny_study / "data_mutations.txt", "\t150\t310", "\tmany\t310")
    assert_one_line_error(validate(tiny_study), "data_mutations.txt", "line 6",
                          "column 't_alt_count'", "'many'")


def test_unknown_response_code(tiny_study: Path) -> None:
    edit(tiny_study / "data_clinical_patient.txt", "\tSD\t", "\tXR\t")
    assert_outcome_warning(validate(tiny_study), "data_clinical_patient.txt, line 8",
                           "best_response is not a RECIST category")


def test_unknown_status_code(tiny_study: Path) -> None:
    edit(tiny_study / "data_clinical_patient.txt", "1:Progressed", "progressing")
    assert_one_line_error(validate(tiny_study), "data_clinical_patient.txt", "line 8",
                          "PFS_STATUS")


def test_unknown_variant_class(tiny_study: Path) -> None:
    edit(tiny_study / "data_mutations.txt", "Frame_Shift_Del", "Frameshift")
    assert_one_line_error(validate(tiny_study), "data_mutations.txt", "line 7",
                          "'Frameshift'")


def test_negative_time(tiny_study: Path) -> None:
    edit(tiny_study / "data_clinical_patient.txt", "\t2.1\t", "\t-2.1\t")
    assert_outcome_warning(validate(tiny_study), "data_clinical_patient.txt, line 7",
                           "pfs_months is negative")


def test_event_without_time(tiny_study: Path) -> None:
    edit(tiny_study / "data_clinical_patient.txt", "\t2.1\t", "\t\t")
    assert_outcome_warning(validate(tiny_study), "data_clinical_patient.txt, line 7",
                           "pfs_months", "missing")


def test_mutation_of_unknown_sample(tiny_study: Path) -> None:
    edit(tiny_study / "data_mutations.txt", "\tP4-T1\tp.G12C", "\tP9-T1\tp.G12C")
    assert_one_line_error(validate(tiny_study), "data_mutations.txt", "line 9",
                          "Tumor_Sample_Barcode", "'P9-T1'")


def test_duplicate_patient(tiny_study: Path) -> None:
    edit(tiny_study / "data_clinical_patient.txt", "\nP3\t", "\nP2\t")
    assert_one_line_error(validate(tiny_study), "data_clinical_patient.txt", "line 8",
                          "duplicate", "P2")


def test_malformed_row(tiny_study: Path) -> None:
    edit(tiny_study / "data_ctdna.txt", "P2\t0\t0.2\t0.12", "P2\t0\t0.2")
    assert_one_line_error(validate(tiny_study), "data_ctdna.txt", "line 4", "fields")


def test_bad_cna_value(tiny_study: Path) -> None:
    edit(tiny_study / "data_cna.txt", "MYC\t4609\t1\t1\t0\t0\t2", "MYC\t4609\t1\t1\t0\t0\t5")
    assert_one_line_error(validate(tiny_study), "data_cna.txt", "line 4", "P4-T1")


def test_cna_value_not_a_number(tiny_study: Path) -> None:
    edit(tiny_study / "data_cna.txt", "CDKN2A\t1029\t0\t0\t-2", "CDKN2A\t1029\t0\tdel\t-2")
    assert_one_line_error(validate(tiny_study), "data_cna.txt", "line 3", "P1-T2", "'del'")


def test_flat_file_needs_mapping_or_schema_names(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text("ID,Cancer\n1,NSCLC\n")
    assert_one_line_error(validate(path), "cohort.csv", "patient_id", "--mapping")


@pytest.mark.parametrize("bad_value,fragment", [("X", "'X'"), ("", "missing")])
def test_flat_file_with_mapping_errors(tmp_path: Path, bad_value: str, fragment: str) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text(f"ID,Cancer,Sex,PFS,Event\n1,NSCLC,1,3.0,1\n2,NSCLC,{bad_value},,1\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("id_column: ID\ncolumns: {cancer_type: Cancer, sex: Sex}\n"
                       "value_maps: {sex: {1: Male, 0: Female}}\n"
                       "outcomes: {pfs_months: PFS, pfs_event: Event}\n")
    result = validate(path, "--mapping", mapping)
    if bad_value:
        assert_one_line_error(result, "cohort.csv", "line 3", fragment)
    else:  # an event without a time: predict ignores it, training refuses it
        assert_outcome_warning(result, "cohort.csv, line 3", fragment)


def test_header_only_files(tmp_path: Path, tiny_study: Path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text("patient_id,cancer_type\n")
    assert_one_line_error(validate(path), "cohort.csv", "no data rows")
    (tiny_study / "data_clinical_patient.txt").write_text("PATIENT_ID\tCANCER_TYPE\n")
    assert_one_line_error(validate(tiny_study), "data_clinical_patient.txt", "no patients")


def test_no_cancer_type_anywhere(tiny_plain_study: Path) -> None:
    edit(tiny_plain_study / "data_clinical_sample.txt", "ONCOTREE_CODE", "SITE")
    (tiny_plain_study / "meta_study.txt").unlink()
    assert_one_line_error(validate(tiny_plain_study), "data_clinical_patient.txt",
                          "CANCER_TYPE", "no cancer type")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("patient_id,cancer_type\n1,NSCLC\n2,Caf\xe9\n".encode("latin-1"))
    assert_one_line_error(validate(path), "latin1.csv", "line 3", "UTF-8")


def test_a_shipped_mapping_is_found_from_any_folder(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "cohort.csv"
    table.write_text("SAMPLE_ID,CancerType,Age,Sex,Drug,TMB\n1,Melanoma,61,1,0,12.5\n"
                     "2,NSCLC,70,0,1,3.1\n")
    monkeypatch.chdir(tmp_path)  # no conf/ here: the mapping comes from the shipped configs
    result = validate(table, "--mapping", "conf/mappings/chowell_icb.yaml")
    assert result.exit_code == 0, result.output
    assert "2 patients" in result.stdout
    missing = validate(table, "--mapping", "conf/mappings/nope.yaml")
    assert_one_line_error(missing, "conf/mappings/nope.yaml", "mapping file not found")
