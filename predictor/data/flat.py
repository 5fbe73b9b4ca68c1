"""Flat one-row-per-patient cohorts (CSV/TSV/Parquet with a column mapping): read, stream in
chunks, build from rows in memory, write. The table I/O they use is :mod:`predictor.data.tables`
(re-exported here for callers that imported it from this module)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from predictor.data.cohort import Cohort, outcomes_ignored
from predictor.data.expression import Expression
from predictor.data.mappings import FlatMapping, apply_mapping, load_mapping, unmap_cohort
from predictor.data.tables import (  # noqa: F401 - re-exported: the readers' old import path
    CBIO_NULL_VALUES,
    FLAT_SUFFIXES,
    NULL_VALUES,
    arrow_chunks,
    complete_text,
    count_comment_lines,
    delimiter_of,
    is_parquet,
    numbers_as_float,
    read_arrow,
    read_delimited,
    read_parquet,
    to_pandas,
    trim_text,
    trimmed_numbers,
    write_delimited,
    write_table,
)
from predictor.errors import InputError


# ---------------------------------------------------------------------------- flat cohorts
def check_flat_path(path: Path) -> Path:
    """The path exists, is a file, is not empty and has a suffix we read."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file or folder", file=path)
    if path.is_dir():
        raise InputError("expected a CSV/TSV/Parquet file, got a folder", file=path)
    if path.suffix.lower() not in FLAT_SUFFIXES:
        raise InputError(f"unknown file type {path.suffix!r} (use one of "
                         f"{', '.join(FLAT_SUFFIXES)})", file=path)
    if path.stat().st_size == 0:
        raise InputError("file is empty", file=path)
    if not is_parquet(path):
        check_delimiter(path)
    return path


DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


def check_delimiter(path: Path) -> None:
    """Refuse a CSV/TSV whose header is split by another delimiter than its suffix says (a
    semicolon CSV from a European spreadsheet would otherwise be read as one column)."""
    expected = delimiter_of(path)
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    lines = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
    header = next((line for line in lines if line.strip() and not line.startswith("#")), "")
    if expected in header:
        return
    counts = {d: header.count(d) for d in DELIMITER_NAMES if d != expected}
    found = max(counts, key=lambda d: counts[d])
    if counts[found]:
        raise InputError(f"the header is {DELIMITER_NAMES[found]}-separated, but a "
                         f"{path.suffix} file is read as {DELIMITER_NAMES[expected]}-separated "
                         f"(save it {DELIMITER_NAMES[expected]}-separated"
                         f"{' or as .tsv' if found == chr(9) else ''})", file=path, line=1)


def read_flat_table(path: Path, keep_text: Iterable[str] = (),
                    distinct: Iterable[str] = ()) -> pd.DataFrame:
    """A flat file as a DataFrame of text and numbers, with ``attrs`` for error locations.

    Text columns whose every value is a number become float64 (in Arrow, fast), except the
    ``keep_text`` columns (identifiers and coded text such as sex); ``distinct``: see
    :func:`~predictor.data.tables.to_pandas` (the patient id column).
    """
    path = check_flat_path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        table = read_parquet(path)
        first_line = 1  # Parquet has no lines: errors name the 1-based row
    else:
        table, first_line = read_arrow(path, delimiter=delimiter_of(path), skip_comments=False)
    table = trimmed_numbers(table, set(keep_text))
    df = to_pandas(table, distinct)
    df.attrs.update(source=str(path), first_line=first_line, text_trimmed=True,
                    complete_text=complete_text(table))
    if path.suffix.lower() not in (".parquet", ".pq"):
        df.attrs["data_start"] = first_line
    return df


def _id_column(mapping: FlatMapping | None) -> str:
    """The source column of the patient ids (one distinct value per row)."""
    return "patient_id" if mapping is None else mapping.id_column


def _text_columns(mapping: FlatMapping | None) -> set[str]:
    """Source columns that must stay text: the id and every column mapped to a text column."""
    from predictor.data import schema as S

    if mapping is None:
        return {"patient_id", "best_response", *(c.name for c in S.CLINICAL.columns
                                                 if c.dtype == "str")}
    keep = {mapping.id_column}
    keep.update(src for name, src in mapping.columns.items()
                if S.CLINICAL.column(name).dtype == "str")
    keep.update(c for c in (mapping.regimen_column, mapping.cohort_column) if c)
    if "best_response" in mapping.outcomes:
        keep.add(mapping.outcomes["best_response"])
    return keep


def read_flat(path: Path, mapping: FlatMapping | dict | str | Path | None = None) -> Cohort:
    """A one-row-per-patient table (CSV/TSV/Parquet) as a :class:`Cohort`, via ``mapping``.

    Without a mapping the file must already use schema column names (``patient_id``, ...).
    """
    resolved = load_mapping(mapping)
    table = read_flat_table(path, keep_text=_text_columns(resolved),
                            distinct=[_id_column(resolved)])
    if not len(table):
        raise InputError("no data rows (only a header)", file=path)
    return _cohort_from_flat(table, resolved,
                             expression=_mapped_expression(Path(path), resolved))


def _mapped_expression(path: Path, mapping: FlatMapping | None) -> Expression | None:
    """The expression table the mapping names (a relative path is beside the flat file)."""
    if mapping is None or not mapping.expression:
        return None
    from predictor.data.expression_io import read_expression_table

    entry = mapping.expression
    expr_path = Path(entry["path"]).expanduser()
    if not expr_path.is_absolute():
        expr_path = Path(path).parent / expr_path
    if not expr_path.is_file():
        raise InputError("expression file named by the mapping ('expression.path') not found",
                         file=expr_path)
    return read_expression_table(expr_path, entry["unit"], orientation=entry["orientation"],
                                 gene_column=entry["id_column"])


def cohort_from_frame(frame: pd.DataFrame, mapping: FlatMapping | dict | str | Path | None = None,
                      *, source: str | None = None, name: str = "rows",
                      outcomes: bool = True) -> Cohort:
    """A validated Cohort from one-row-per-patient rows already in memory (a Dask partition,
    the MLflow pyfunc's input); ``outcomes=False`` drops outcome columns (prediction input)."""
    table = frame.reset_index(drop=True)
    for column in table.columns:
        if isinstance(table[column].dtype, pd.StringDtype) or table[column].dtype == object:
            table[column] = table[column].astype("string")
    table.attrs["source"] = source
    return _cohort_from_flat(table, load_mapping(mapping), name=name, outcomes=outcomes)


def _cohort_from_flat(table: pd.DataFrame, mapping: FlatMapping | None, *,
                      name: str | None = None, outcomes: bool = True,
                      expression: Expression | None = None, chunk: bool = False) -> Cohort:
    if not outcomes:
        with outcomes_ignored():
            return _cohort_from_flat(table, mapping, name=name, expression=expression,
                                     chunk=chunk)
    tables = apply_mapping(table, mapping)
    if not outcomes:
        tables.pop("outcomes", None)
    for part in tables.values():
        part.attrs.update(source=table.attrs.get("source"),
                          first_line=table.attrs.get("first_line"),
                          data_start=table.attrs.get("data_start"),
                          text_trimmed=bool(table.attrs.get("text_trimmed")))
    if expression is not None and chunk:  # a chunk keeps the columns of its own patients
        ids = set(pd.Index(tables["clinical"]["patient_id"], dtype="string").str.strip())
        expression = expression.select_samples([s for s in expression.samples if s in ids])
    if expression is not None:  # whole file: a sample id that is no patient is an error
        tables["expression"] = expression
    return Cohort.from_tables(**tables,
                              name=name or Path(str(table.attrs.get("source"))).stem)


def iter_flat_chunks(
    path: Path,
    mapping: FlatMapping | dict | str | Path | None = None,
    chunk_rows: int = 100_000,
) -> Iterator[Cohort]:
    """Yield validated cohorts of at most ``chunk_rows`` patients from a large flat file.

    CSV/TSV are streamed with Arrow's incremental reader, Parquet with ``iter_batches``; error
    lines stay the file's lines across chunks.
    """
    if chunk_rows < 1:
        raise InputError("chunk_rows must be at least 1")
    path = check_flat_path(path)
    resolved = load_mapping(mapping)
    keep = _text_columns(resolved)
    distinct = [_id_column(resolved)]
    expression = _mapped_expression(path, resolved)
    for table, first_line in arrow_chunks(path, chunk_rows):
        table = trimmed_numbers(table, keep)
        chunk = to_pandas(table, distinct)
        chunk.attrs.update(source=str(path), first_line=first_line, text_trimmed=True,
                           complete_text=complete_text(table),
                           data_start=None if path.suffix.lower() in (".parquet", ".pq")
                           else 2)
        yield _cohort_from_flat(chunk, resolved, expression=expression, chunk=True)


def write_flat(cohort: Cohort, path: Path, *, overwrite: bool = False) -> None:
    """Write a cohort as one row per patient (schema column names), CSV/TSV/Parquet by suffix.

    Only ``clinical`` and ``outcomes`` fit a flat table; other tables are not written. An
    existing file is refused unless ``overwrite`` (it may be someone's input).
    """
    path = Path(path)
    if path.suffix.lower() not in FLAT_SUFFIXES:
        raise InputError(f"unknown file type {path.suffix!r}", file=path)
    if path.exists() and not overwrite:
        raise InputError("output file exists; choose a new name", file=path)
    write_table(unmap_cohort(cohort), path)


