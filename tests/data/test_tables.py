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
