"""The schema check: dtypes, allowed values, ranges, keys, and where an error points."""

from __future__ import annotations

import pandas as pd
import pytest

from predictor.data import schema as S
from predictor.data.cohort import Cohort
from predictor.errors import InputError


def from_file(df: pd.DataFrame, first_line: int = 2, **renamed: str) -> pd.DataFrame:
    df.attrs.update(source="study/data_clinical_patient.txt", first_line=first_line)
    if renamed:
        df.attrs["source_columns"] = renamed
    return df


def clinical(**columns) -> pd.DataFrame:
    base = {"patient_id": ["a", "b", "c"], "cancer_type": ["NSCLC", "NSCLC", "Melanoma"]}
    base.update(columns)
    return pd.DataFrame(base)


def test_coerces_dtypes() -> None:
    out = S.coerce_and_check(clinical(age=["61", "NA", "70.5"], line_of_therapy=["1", "", "2"],
                                      prior_systemic_therapy=[0, 1, None]), S.CLINICAL)
    assert out["age"].dtype == "float64" and pd.isna(out["age"].iloc[1])
    assert str(out["line_of_therapy"].dtype) == "Int64"
    assert out["line_of_therapy"].tolist()[::2] == [1, 2]
    assert str(out["prior_systemic_therapy"].dtype) == "Int64"
    assert isinstance(out["cancer_type"].dtype, pd.StringDtype)


def test_missing_required_column() -> None:
    df = from_file(pd.DataFrame({"patient_id": ["a"]}))
    with pytest.raises(InputError, match="missing required column") as info:
        S.coerce_and_check(df, S.CLINICAL)
    assert info.value.column == "cancer_type"
    assert info.value.file == "study/data_clinical_patient.txt"


def test_error_names_file_line_and_source_column() -> None:
    df = from_file(clinical(age=["61", "old", "x"]), first_line=6, age="AGE")
    with pytest.raises(InputError) as info:
        S.coerce_and_check(df, S.CLINICAL)
    error = info.value
    assert (error.line, error.column) == (7, "AGE")
    assert "'old'" in str(error) and "1 more rows like it" in str(error)
    assert "\n" not in str(error)


def test_error_without_file_names_table_row() -> None:
    with pytest.raises(InputError, match="clinical table row 3") as info:
        S.coerce_and_check(clinical(sex=["Male", "Female", "F"]), S.CLINICAL)
    assert info.value.line is None and info.value.column == "sex"


@pytest.mark.parametrize("column,values,fragment", [
    ("line_of_therapy", ["1", "1.5", "2"], "whole number"),
    ("line_of_therapy", ["1", "0", "2"], "outside"),
    ("prior_systemic_therapy", ["1", "2", "0"], "0 or 1"),
    ("age", ["50", "-1", "60"], "outside"),
    ("cancer_type", ["NSCLC", "", "NSCLC"], "missing"),
])
def test_bad_values(column: str, values: list, fragment: str) -> None:
    df = from_file(clinical(**{column: values}))
    with pytest.raises(InputError, match=fragment) as info:
        S.coerce_and_check(df, S.CLINICAL)
    assert info.value.line == 3 and info.value.column == column


@pytest.mark.parametrize("dtype,column,values,fragment", [
    ("float64", "line_of_therapy", [1, 1.5, None], "whole number"),  # (Int64 holds no fraction)
    *[(dtype, "prior_systemic_therapy", values, "0 or 1")
      for dtype in ("float64", "Int64") for values in ([1, 2, None], [None, -1, 0])],
])
def test_bad_numbers_already_numeric(dtype: str, column: str, values: list,
                                     fragment: str) -> None:
    """Numeric columns (a Parquet file: float64 with NaN, or pandas' Int64 with NA) fail with
    the same message and line as text does; missing values are no error."""
    df = from_file(clinical(**{column: pd.array(values, dtype=dtype)}))
    with pytest.raises(InputError, match=fragment) as info:
        S.coerce_and_check(df, S.CLINICAL)
    assert info.value.line == 3 and info.value.column == column


@pytest.mark.parametrize("dtype", ["float64", "Int64", "int64"])
def test_whole_numbers_become_int64_with_missing(dtype: str) -> None:
    values = [1, 0, 1] if dtype == "int64" else [1, None, 0]
    df = from_file(clinical(prior_systemic_therapy=pd.array(values, dtype=dtype)))
    out = S.coerce_and_check(df, S.CLINICAL)["prior_systemic_therapy"]
    assert out.dtype == "Int64"
    assert out.tolist() == [pd.NA if v is None else v for v in values]


def test_duplicate_key_points_at_second_row() -> None:
    df = from_file(pd.DataFrame({"patient_id": ["a", "b", "a"], "cancer_type": "NSCLC"}))
    with pytest.raises(InputError, match="duplicate patient_id a") as info:
        S.coerce_and_check(df, S.CLINICAL)
    assert info.value.line == 4


def test_event_without_time() -> None:
    outcomes = from_file(pd.DataFrame({"patient_id": ["a", "b"], "os_months": [3.0, None],
                                       "os_event": [1, 0]}))
    checked = S.coerce_and_check(outcomes, S.OUTCOMES)
    with pytest.raises(InputError, match="os_event is set but os_months is missing") as info:
        S.check_outcome_times(checked)
    assert info.value.line == 3


def test_references_between_tables() -> None:
    mutations = pd.DataFrame({"Tumor_Sample_Barcode": ["a", "zz"], "Hugo_Symbol": "TP53",
                              "Variant_Classification": "Missense_Mutation"})
    mutations.attrs.update(source="maf.txt", first_line=3)
    with pytest.raises(InputError, match="'zz' is not in the samples table") as info:
        Cohort.from_tables(clinical=clinical(), mutations=mutations)
    assert (info.value.file, info.value.line) == ("maf.txt", 4)


def test_describe_schema_lists_every_table() -> None:
    text = S.describe_schema()
    for name in S.SCHEMAS:
        assert f"### {name}" in text


def test_outcomes_set_aside_in_a_study_folder(tiny_study):
    """A negative time and an event without a time in a real-format study: training reads
    fail on them, an evaluation's read blanks that endpoint only and names file and line."""
    from predictor.data.cohort import outcomes_set_aside
    from predictor.data.readers import read_cohort
    from predictor.errors import InputError

    path = tiny_study / "data_clinical_patient.txt"
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace("\t14.2\t0:CENSORED\t", "\t-14.2\t0:CENSORED\t")   # P1
    lines[6] = lines[6].replace("\t2.1\t1:PROGRESSION\t", "\t\t1:PROGRESSION\t")    # P2
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError):
        read_cohort(tiny_study)
    with outcomes_set_aside() as problems:
        cohort = read_cohort(tiny_study)
    found = {(p["patient_id"], p["endpoint"], p["reason"], p["line"]) for p in problems}
    assert found == {("P1", "pfs", "pfs_months is negative", 6),
                     ("P2", "pfs", "pfs_event is set but pfs_months is missing", 7)}
    assert cohort.outcomes.loc[["P1", "P2"], ["pfs_months", "pfs_event"]].isna().all().all()
    assert cohort.outcomes.loc["P1", "os_months"] == pytest.approx(20.1)  # other endpoint kept
    assert cohort.outcomes.loc["P1", "best_response"] == "PR"


def test_a_readers_complete_text_claim_skips_only_what_it_covers() -> None:
    import pyarrow as pa

    from predictor.data.tables import complete_text

    table = pa.table({"patient_id": ["a", "b"], "cancer_type": ["NSCLC", None]})
    rows, names = complete_text(table)
    assert (rows, names) == (2, ["patient_id"])
    clinical = pd.DataFrame({"patient_id": pd.array(["a", "b"], "string"),
                             "cancer_type": pd.array(["NSCLC", None], "string")})
    clinical.attrs.update(text_trimmed=True, complete_text=(rows, names), source="f.csv",
                          first_line=2)
    with pytest.raises(InputError, match="value is missing") as error:
        S.coerce_and_check(clinical, S.CLINICAL)  # cancer_type is not claimed: still checked
    assert error.value.column == "cancer_type" and error.value.line == 3
    stacked = pd.concat([clinical, clinical.assign(
        patient_id=pd.array(["c", None], "string"), cancer_type="NSCLC")], ignore_index=True)
    stacked.attrs.update(clinical.attrs)  # a stale claim: 2 rows, the frame has 4
    with pytest.raises(InputError, match="value is missing") as error:
        S.coerce_and_check(stacked, S.CLINICAL)
    assert error.value.column == "patient_id"
