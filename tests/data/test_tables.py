"""The shared table I/O: headers, suffixes and the missing-value tokens every reader uses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from predictor.data import tables
from predictor.errors import InputError


def test_header_columns_of_each_format_and_of_unreadable_files(tmp_path: Path) -> None:
    frame = pd.DataFrame({"patient_id": ["a", "b"], "TMB": [1.0, 2.0]})
    frame.to_csv(tmp_path / "x.csv", index=False)
    frame.to_csv(tmp_path / "x.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "x.parquet")
    for name in ("x.csv", "x.tsv", "x.parquet"):
        assert tables.header_columns(tmp_path / name) == ["patient_id", "TMB"], name
    (tmp_path / "empty.tsv").write_text("")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    assert tables.header_columns(tmp_path / "empty.tsv") == []
    assert tables.header_columns(tmp_path / "bad.parquet") == []


def test_a_bad_header_is_a_one_line_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "dup.tsv"
    path.write_text("#comment\na\tb\ta\n1\t2\t3\n")
    with pytest.raises(InputError, match="duplicate column name") as error:
        tables.parse_header(path, 1, "\t")
    assert error.value.line == 2 and error.value.column == "a"


def test_suffixes_and_delimiters() -> None:
    assert tables.is_parquet(Path("a.PQ")) and not tables.is_parquet(Path("a.csv"))
    assert set(tables.PARQUET_SUFFIXES) <= set(tables.FLAT_SUFFIXES)
    assert tables.delimiter_of(Path("a.csv")) == "," and tables.delimiter_of(Path("a.txt")) == "\t"
    assert "[Not Available]" in tables.CBIO_NULL_VALUES and "NA" in tables.NULL_VALUES


def test_trimmed_numbers_is_numbers_as_float_of_trim_text() -> None:
    import pyarrow as pa

    table = pa.table({
        "id": [" a", "b ", "  "],                # kept text: trimmed, the blank one missing
        "age": ["1.5", "2", None],               # numbers as they stand: cast directly
        "nlr": [" 3", "4 ", "   "],              # padded numbers and a blank: trimmed, then cast
        "smoker": ["Ever ", " Never", ""],       # text: trimmed, stays text
        "n": pa.array([1, 2, 3]),                # not text: untouched
    })
    got = tables.trimmed_numbers(table, {"id"})
    assert got.equals(tables.numbers_as_float(tables.trim_text(table), {"id"}))
    assert got.column("age").type == pa.float64() and got.column("nlr").to_pylist() == [
        3.0, 4.0, None]
    assert got.column("id").to_pylist() == ["a", "b", None]


def test_to_pandas_of_distinct_columns_is_the_same_frame(tmp_path: Path) -> None:
    import pyarrow as pa

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "patient_id": ["p1", None, "p3"],
                          "sex": ["Male", "Male", None], "n": pd.array([1, None, 3], "Int64")})
    frame.to_parquet(tmp_path / "f.parquet")  # pandas metadata: Int64, column order
    for table in (pa.Table.from_pandas(frame, preserve_index=False),
                  tables.read_parquet(tmp_path / "f.parquet")):
        plain = tables.to_pandas(table)
        apart = tables.to_pandas(table, distinct=["patient_id", "x", "absent"])
        pd.testing.assert_frame_equal(apart, plain)
        assert list(apart.columns) == list(frame.columns)
        assert apart["patient_id"].dtype == pd.StringDtype() and apart["n"].dtype == "Int64"
