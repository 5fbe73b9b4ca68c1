"""Property-based tests of every reader: any content gives a valid Cohort (or table) or one
:class:`InputError` line naming the file; never another exception, and the input file is never
modified. Case counts are fixed (``max_examples``) so the module runs in well under a minute;
``pytest tests/data/test_fuzz_readers.py tests/serving/test_fuzz_inputs.py
--hypothesis-show-statistics`` prints how many cases ran (README, "Input guarantees")."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml
from fuzzing import FLAT_COLUMNS, _table_text, raw_bytes, tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor.data.cohort import Cohort
from predictor.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures"
STUDY = FIXTURES / "study_headers"
REPO = Path(__file__).resolve().parents[2]

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=30)

def check(read: Callable[[], object], inputs: list[Path]) -> object | None:
    """``read()`` returns, or raises one InputError line naming a file; inputs unchanged."""
    before = {p: p.read_bytes() for p in inputs if p.is_file()}
    try:
        result = read()
    except InputError as error:
        text = str(error)
        assert "\n" not in text and text.strip()
        assert error.file is not None or any(p.name in text for p in inputs), text
        result = None
    after = {p: p.read_bytes() for p in inputs if p.is_file()}
    assert after == before, "an input file was modified"
    return result


def _work() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-"))


# ------------------------------------------------------------------------------ flat files


@FUZZ
@given(table=tables(FLAT_COLUMNS, ["patient_id", "cancer_type"]),
       delimiter=st.sampled_from([",", "\t", ";"]), suffix=st.sampled_from([".csv", ".tsv"]))
def test_flat_delimited(table, delimiter, suffix):
    from predictor.data.readers import read_cohort

    work = _work()
    try:
        path = work / f"cohort{suffix}"
        path.write_text(_table_text(*table, delimiter), encoding="utf-8")
        cohort = check(lambda: read_cohort(path), [path])
        assert cohort is None or (isinstance(cohort, Cohort) and len(cohort) > 0)
    finally:
        shutil.rmtree(work)


@FEW
@given(data=raw_bytes(), suffix=st.sampled_from([".csv", ".tsv", ".parquet"]))
def test_flat_arbitrary_bytes(data, suffix):
    from predictor.data.readers import read_cohort

    work = _work()
    try:
        path = work / f"cohort{suffix}"
        path.write_bytes(data)
        check(lambda: read_cohort(path), [path])
    finally:
        shutil.rmtree(work)


@FUZZ
@given(table=tables(FLAT_COLUMNS, ["patient_id", "cancer_type"]),
       numeric=st.sets(st.sampled_from(FLAT_COLUMNS)))
def test_flat_parquet(table, numeric):
    from predictor.data.readers import read_cohort

    columns, rows = table
    columns = list(dict.fromkeys(c for c in columns if c))  # Parquet needs unique names
    if not columns:
        return
    frame = pd.DataFrame([(r + [""] * len(columns))[:len(columns)] for r in rows],
                         columns=columns, dtype="string")
    for column in numeric & set(columns):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    work = _work()
    try:
        path = work / "cohort.parquet"
        frame.to_parquet(path)
        check(lambda: read_cohort(path), [path])
    finally:
        shutil.rmtree(work)


# ------------------------------------------------------------------------------ mapping YAML
MAPPING_KEYS = ["id_column", "columns", "value_maps", "regimen_column", "regimen_map",
                "outcomes", "features", "constants", "cohort_column", "expression", "junk"]
YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True),
              st.sampled_from(["ID", "Age", "age", "sex", "Sex", "TMB", "cancer_type",
                               "responder", "pfs_months", "x.tsv", ""])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["age", "sex", "cancer_type",
                                                             "responder", "Male", "1", "path",
                                                             "unit", "orientation"]),
                                            inner, max_size=3)),
    max_leaves=8)


@FUZZ
@given(mapping=st.one_of(st.dictionaries(st.sampled_from(MAPPING_KEYS), YAML_VALUES,
                                         max_size=5),
                         YAML_VALUES),
       text=st.one_of(st.none(), st.text(max_size=40)))
def test_mapping_yaml(mapping, text):
    from predictor.data.readers import read_cohort

    work = _work()
    try:
        flat = work / "cohort.csv"
        flat.write_text("ID,Age,Sex,TMB,Response\nP1,60,1,3.5,1\nP2,70,0,12,0\n")
        path = work / "mapping.yaml"
        path.write_text(text if text is not None else yaml.safe_dump(mapping),
                        encoding="utf-8")
        check(lambda: read_cohort(flat, mapping=path), [flat, path])
    finally:
        shutil.rmtree(work)


# ------------------------------------------------------------------------------ cBioPortal
def _study_with(name: str, content: bytes) -> tuple[Path, Path]:
    work = _work()
    study = Path(shutil.copytree(STUDY, work / "study"))
    (study / name).write_bytes(content)
    return work, study


def _read_study(name: str, content: bytes) -> None:
    from predictor.data.readers import read_cohort

    work, study = _study_with(name, content)
    try:
        files = sorted(p for p in study.iterdir() if p.is_file())
        cohort = check(lambda: read_cohort(study), files)
        assert cohort is None or isinstance(cohort, Cohort)
    finally:
        shutil.rmtree(work)


PATIENT_ATTRS = ["PATIENT_ID", "CANCER_TYPE", "AGE", "SEX", "NLR", "REGIMEN", "BEST_RESPONSE",
                 "PFS_MONTHS", "PFS_STATUS", "OS_MONTHS", "OS_STATUS", "SMOKER",
                 "DURABLE_CLINICAL_BENEFIT", "LINE_OF_THERAPY"]


@FEW
@given(table=tables(PATIENT_ATTRS, ["PATIENT_ID"]), hashes=st.integers(0, 5))
def test_cbioportal_clinical(table, hashes):
    text = "".join("#" + "\t".join(table[0]) + "\n" for _ in range(hashes))
    _read_study("data_clinical_patient.txt", (text + _table_text(*table, "\t")).encode())


MAF_COLUMNS = ["Hugo_Symbol", "Entrez_Gene_Id", "Chromosome", "Start_Position", "End_Position",
               "Variant_Classification", "Variant_Type", "Reference_Allele",
               "Tumor_Seq_Allele2", "Tumor_Sample_Barcode", "HGVSp_Short", "t_ref_count",
               "t_alt_count", "n_depth"]


@FEW
@given(table=tables(MAF_COLUMNS, ["Hugo_Symbol", "Variant_Classification",
                                  "Tumor_Sample_Barcode"], max_rows=8),
       version=st.booleans())
def test_maf(table, version):
    text = ("#version 2.4\n" if version else "") + _table_text(*table, "\t")
    _read_study("data_mutations.txt", text.encode())


@FEW
@given(table=tables(["Entrez_Gene_Id", "P1-T1", "P1-T2", "P2-T1", "P3-T1", "P4-T1", "P9-T9"],
                    ["Hugo_Symbol"]))
def test_cna(table):
    _read_study("data_cna.txt", _table_text(*table, "\t").encode())


@FEW
@given(table=tables(["ID", "chrom", "loc.start", "loc.end", "num.mark", "seg.mean"],
                    ["ID", "chrom", "loc.start", "loc.end"], max_rows=8))
def test_seg(table):
    _read_study("data_cna_hg19.seg", _table_text(*table, "\t").encode())


@FEW
@given(data=raw_bytes(), name=st.sampled_from(["data_clinical_patient.txt",
                                               "data_clinical_sample.txt",
                                               "data_mutations.txt", "data_cna.txt",
                                               "data_cna_hg19.seg", "meta_study.txt"]))
def test_cbioportal_arbitrary_bytes(data, name):
    _read_study(name, data)


# ------------------------------------------------------------------------------ expression
@FUZZ
@given(table=tables(["Entrez_Gene_Id", "S1", "S2", "S3", "S1 "], ["Hugo_Symbol"], max_rows=8),
       orientation=st.sampled_from(["genes_x_samples", "samples_x_genes"]),
       unit=st.sampled_from(["tpm", "rsem", "fpkm", "unknown"]))
def test_expression_table(table, orientation, unit):
    from predictor.data.expression import Expression
    from predictor.data.expression_io import read_expression_table

    work = _work()
    try:
        path = work / "expression.tsv"
        path.write_text(_table_text(*table, "\t"), encoding="utf-8")
        result = check(lambda: read_expression_table(path, unit, orientation=orientation),
                       [path])
        assert result is None or isinstance(result, Expression)
    finally:
        shutil.rmtree(work)
