"""Shared table I/O for every reader and writer: Arrow reads of delimited and Parquet files
(fast, with ``attrs["source"]``/``attrs["first_line"]`` so schema errors name file and line),
atomic writes, header parsing, the missing-value tokens and the file suffixes we read.

One module per format builds on it: :mod:`predictor.data.flat` (one-row-per-patient tables)
and :mod:`predictor.data.cbioportal` (study folders); :mod:`predictor.data.readers` is the one
dispatch from a path to a reader.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from predictor.errors import InputError
from predictor.files import atomic_path

# Cell values read as missing (cBioPortal's bracketed codes are added for clinical files).
NULL_VALUES = ("", "NA", "N/A", "NaN", "nan", "NULL", "null", "None")
CBIO_NULL_VALUES = (
    *NULL_VALUES,
    "[Not Available]",
    "[Not Applicable]",
    "[Unknown]",
    "[Not Evaluated]",
    "[Not Reported]",
    "[Completed]",
    "[Discrepancy]",
)
PARQUET_SUFFIXES = (".parquet", ".pq")
FLAT_SUFFIXES = (".csv", ".tsv", ".txt", *PARQUET_SUFFIXES)


# ---------------------------------------------------------------------------- reading
def count_comment_lines(path: Path, prefix: str = "#") -> int:
    """Leading lines that start with ``prefix`` (cBioPortal header lines, MAF ``#version``)."""
    n = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.startswith(prefix):
                break
            n += 1
    return n


def parse_header(path: Path, skip: int, delimiter: str) -> list[str]:
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for _ in range(skip):
            handle.readline()
        line = handle.readline().rstrip("\r\n")
    if not line.strip():
        raise InputError("file is empty (no header row)", file=path, line=skip + 1)
    if delimiter == ",":
        line = line.replace('"', "")
    names = [n.strip() for n in line.split(delimiter)]
    seen: set[str] = set()
    for name in names:
        if not name:
            raise InputError("empty column name in the header", file=path, line=skip + 1)
        if name in seen:
            raise InputError("duplicate column name in the header", file=path, line=skip + 1,
                             column=name)
        seen.add(name)
    return names


def to_pandas(table: pa.Table, distinct: Iterable[str] = ()) -> pd.DataFrame:
    """Arrow -> pandas; text columns become pandas ``string`` (missing = ``pd.NA``).

    The storage follows ``pd.options.mode.string_storage``. For the default (Python) storage,
    text goes through pyarrow's deduplicating conversion, so a 10M-row MAF column with 500
    genes holds 500 Python strings, not 10M. ``distinct``: text columns whose values are
    expected to differ row by row (a patient id), converted without that deduplication, which
    then only costs (a hash per row: 4x the conversion itself on 100k ids); the values are
    the same.
    """
    if pd.get_option("mode.string_storage") == "pyarrow":
        arrow_text = pd.StringDtype("pyarrow")
        # (the metadata's ``string`` entries too: a text column the reader made numbers is
        # float64 now, which pandas' ``string`` conversion refuses)
        return _without_string_dtypes(table).to_pandas(
            types_mapper=lambda t: arrow_text if _is_text(t) else None)
    names = table.column_names
    wanted = set(distinct)
    apart = {n for n, dtype in zip(names, table.schema.types, strict=True)
             if n in wanted and _is_text(dtype)}
    rest = table.drop_columns(list(apart)) if apart else table  # pandas metadata allows it
    df = _without_string_dtypes(rest).to_pandas(split_blocks=True, deduplicate_objects=True)
    # A Parquet file's unnamed row labels (``__index_level_0__``) are the index now, not a
    # column: left as they are (the readers drop them).
    columns = set(df.columns)
    for name, dtype in zip(rest.column_names, rest.schema.types, strict=True):
        if _is_text(dtype) and name in columns:
            if df[name].dtype == pd.StringDtype():
                continue  # already converted (a Parquet file written from pandas ``string``)
            values = df[name].to_numpy(dtype=object)
            df[name] = pd.array(values, dtype=pd.StringDtype())
    if apart:  # back in their places: after the columns before them in the file
        place = 0
        for name in names:
            if name in apart:
                values = table.column(name).to_numpy(zero_copy_only=False)  # None: missing
                df.insert(place, name, pd.array(values, dtype=pd.StringDtype()))
            place += name in apart or name in columns
    return df


def _without_string_dtypes(table: pa.Table) -> pa.Table:
    """``table`` whose pandas metadata (a Parquet file written from pandas) builds no index
    from a named stored column and no longer asks for the ``string`` dtype, so
    text takes the deduplicating conversion too.

    Why: a column the writer's frame had as its index (``set_index("patient_id")``) is in
    the file like any other; as a pandas index it vanished from the columns (a missing id
    or input column, or a crash on a text one). Unnamed index levels (``__index_level_0__``)
    are the writer's row labels, not data: they stay an index, which the readers drop. For a
    column marked ``string`` pyarrow builds one Python object per row (no deduplication);
    that was the largest single cost of reading such a file. Every other entry (nullable
    integers, column names) is kept as it was.
    """
    meta = table.schema.metadata or {}
    raw = meta.get(b"pandas")
    if raw is None:
        return table
    # pyarrow's own spelling of no index and of a RangeIndex: nothing to parse
    plain_index = b'"index_columns": []' in raw or b'"index_columns": [{' in raw
    if plain_index and b'"string"' not in raw:
        return table
    import json

    pandas_meta = json.loads(raw)
    index = pandas_meta.get("index_columns", [])
    kept = [c for c in index if not isinstance(c, str) or _INDEX_LEVEL.fullmatch(c)]
    if kept == index and b'"string"' not in raw:
        return table
    pandas_meta["index_columns"] = kept
    for column in pandas_meta.get("columns", []):
        if column.get("numpy_type") == "string":
            column["numpy_type"] = "object"
    return table.replace_schema_metadata({**meta, b"pandas": json.dumps(pandas_meta).encode()})


_INDEX_LEVEL = re.compile(r"__index_level_\d+__")  # pandas' name for an unnamed index level


def _is_text(dtype: pa.DataType) -> bool:
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def read_delimited(
    path: Path,
    *,
    delimiter: str = "\t",
    numeric: Iterable[str] = (),
    skip_comments: bool = True,
    null_values: Iterable[str] = NULL_VALUES,
    rename: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Read a delimited text table: ``numeric`` columns as float64, every other column as text.

    Leading ``#`` lines are skipped. A malformed row raises :class:`InputError` with its line;
    a non-numeric value in a ``numeric`` column is left to the schema check (which names the
    line) by falling back to text for that read.
    """
    table, first_line = read_arrow(path, delimiter=delimiter, numeric=numeric,
                                   skip_comments=skip_comments, null_values=null_values)
    df = to_pandas(trim_text(table))
    df.attrs["text_trimmed"] = True
    if rename:
        df = df.rename(columns=rename)
    df.attrs["source"] = str(path)
    df.attrs["first_line"] = first_line
    df.attrs["data_start"] = first_line  # empty lines are skipped: see predictor.data.lines
    return df


def trim_text(table: pa.Table) -> pa.Table:
    """Strip whitespace from text columns and make blank cells missing, in Arrow (fast)."""
    columns = list(table.columns)  # rebuilt once: set_column per column is quadratic
    changed = False
    for i, dtype in enumerate(table.schema.types):
        if _is_text(dtype):
            columns[i] = _trimmed(columns[i])
            changed = True
    return _rebuilt(table, columns) if changed else table


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column without surrounding whitespace, blank cells missing."""
    trimmed = pc.utf8_trim_whitespace(column)
    blank = pc.equal(pc.utf8_length(trimmed), 0)
    return pc.if_else(blank, pa.scalar(None, column.type), trimmed)


def _rebuilt(table: pa.Table, columns: list) -> pa.Table:
    """``table`` with its columns replaced (same names and metadata), in one step."""
    return pa.Table.from_arrays(columns, names=table.column_names,
                                metadata=table.schema.metadata)


def read_arrow(
    path: Path,
    *,
    delimiter: str = "\t",
    numeric: Iterable[str] = (),
    text: Iterable[str] | None = None,
    skip_comments: bool = True,
    null_values: Iterable[str] = NULL_VALUES,
    float_type: pa.DataType = pa.float64(),
) -> tuple[pa.Table, int]:
    """The table as Arrow and the file line of its first data row.

    Columns in ``numeric`` are ``float_type`` (float64); with ``text`` given, every column not
    in it is ``float_type``.
    If a number does not parse, every column is read as text instead (the caller's check then
    names the offending line).
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise InputError("file is empty", file=path)
    skip = count_comment_lines(path) if skip_comments else 0
    names = parse_header(path, skip, delimiter)
    if text is not None:
        text_set = set(text)
        types = {n: (pa.string() if n in text_set else float_type) for n in names}
    else:
        numeric_set = set(numeric)
        types = {n: (float_type if n in numeric_set else pa.string()) for n in names}
    args = (path, skip, names, delimiter, list(null_values))
    try:
        return _arrow_read(*args, types), skip + 2
    except pa.ArrowInvalid as error:
        if "conversion error" not in str(error):
            raise _parse_error(*args, types, error) from None
    types = {n: pa.string() for n in names}
    try:
        return _arrow_read(*args, types), skip + 2
    except pa.ArrowInvalid as error:
        raise _parse_error(*args, types, error) from None


def _arrow_read(path, skip, names, delimiter, nulls, types, *, use_threads=True, handler=None):
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=skip + 1, column_names=names,
                                       use_threads=use_threads, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                         quote_char='"' if delimiter == "," else False,
                                         invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=nulls,
                                             strings_can_be_null=True,
                                             quoted_strings_can_be_null=True),
    )


def _parse_error(path, skip, names, delimiter, nulls, types, error) -> InputError:
    """Re-read single-threaded to learn the line of the first malformed row."""
    not_utf8 = _first_non_utf8_line(path)
    if not_utf8 is not None:
        return InputError("not UTF-8 text (save the file as UTF-8)", file=path, line=not_utf8)
    bad: list = []

    def handler(row) -> str:
        bad.append(row)
        return "error"

    with contextlib.suppress(pa.ArrowInvalid):
        _arrow_read(path, skip, names, delimiter, nulls, types, use_threads=False,
                    handler=handler)
    if bad:
        row = bad[0]
        return InputError(f"expected {row.expected_columns} fields, found {row.actual_columns}",
                          file=path, line=row.number)
    return InputError(f"cannot parse: {str(error).splitlines()[0][:200]}", file=path)


def _first_non_utf8_line(path: Path) -> int | None:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


# ---------------------------------------------------------------------------- writing
def _to_arrow(df: pd.DataFrame) -> pa.Table:
    """pandas -> Arrow for writing: nullable ints stay ints, text stays text (zero-copy when
    it is already Arrow-backed)."""
    arrays, names = [], []
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, pd.StringDtype):
            arr = pa.array(col.array, type=pa.string())
        elif col.dtype == object or isinstance(col.dtype, pd.CategoricalDtype):
            arr = pa.array(col.astype("string").array, type=pa.string())
        else:
            arr = pa.Array.from_pandas(col)
        arrays.append(arr)
        names.append(str(name))
    return pa.Table.from_arrays(arrays, names=names)


def write_delimited(
    df: pd.DataFrame | pa.Table,
    handle,
    *,
    delimiter: str = "\t",
) -> None:
    """Write a table with a header row to an open binary ``handle`` (no quoting for TSV)."""
    names = [str(n) for n in df.column_names] if isinstance(df, pa.Table) else list(df.columns)
    for name in names:
        if delimiter in str(name) or "\n" in str(name):
            raise InputError(f"column name {name!r} contains the delimiter or a newline")
    table = df if isinstance(df, pa.Table) else _to_arrow(df.reset_index(drop=True))
    start = handle.tell()
    if delimiter == "\t":
        handle.write(("\t".join(map(str, names)) + "\n").encode())
        options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    else:
        options = pacsv.WriteOptions(include_header=True, delimiter=delimiter,
                                     quoting_style="needed")
    try:
        pacsv.write_csv(table, handle, options)
    except pa.ArrowInvalid as error:
        if delimiter != "\t":
            raise InputError(f"cannot write a value: {str(error)[:200]}") from None
        handle.seek(start)
        handle.truncate()
        handle.write(("\t".join(map(str, names)) + "\n").encode())
        _write_tsv_rows(table, handle)  # values with '"': cBioPortal files are never quoted


def _write_tsv_rows(table: pa.Table, handle) -> None:
    """Rows joined in Arrow with tabs, written as raw bytes (no quoting at all)."""
    for batch in table.to_batches(max_chunksize=1 << 20):
        cols = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            text = pc.fill_null(pc.cast(column, pa.string()), "")
            if pc.any(pc.match_substring_regex(text, "[\t\n\r]")).as_py():
                raise InputError("a value contains a tab or a line break, which a "
                                 "tab-separated file cannot hold", column=name)
            cols.append(text)
        lines = pc.binary_join_element_wise(*cols, "\t") if len(cols) > 1 else cols[0]
        lines = pc.binary_join_element_wise(lines, pa.scalar("\n"), "")
        if isinstance(lines, pa.ChunkedArray):
            lines = lines.combine_chunks()
        _, offset_buffer, data = lines.buffers()
        offsets = np.frombuffer(offset_buffer, dtype=np.int32)[lines.offset:]
        handle.write(memoryview(data)[offsets[0]:offsets[len(lines)]])


def write_table(df: pd.DataFrame, path: Path, *, delimiter: str | None = None) -> None:
    """Write ``df`` atomically as CSV/TSV (by suffix, or ``delimiter``) or Parquet."""
    path = Path(path)
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if suffix in (".parquet", ".pq"):
            parquet().write_table(_to_arrow(df.reset_index(drop=True)), tmp)
            return
        sep = delimiter or ("," if suffix == ".csv" else "\t")
        with open(tmp, "wb") as handle:
            write_delimited(df, handle, delimiter=sep)


# ---------------------------------------------------------------------------- Parquet
def parquet() -> Any:
    """``pyarrow.parquet``, imported when a Parquet file is read or written: a CSV/TSV
    prediction does not pay for it (its file-system modules) at start-up."""
    import pyarrow.parquet as pq

    return pq


def read_parquet(path: Path) -> pa.Table:
    try:
        return parquet().read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(f"not a readable Parquet file: {str(error)[:200]}", file=path) from None


def trimmed_numbers(table: pa.Table, keep_text: set[str]) -> pa.Table:
    """``numbers_as_float(trim_text(table), keep_text)`` (the same table), without trimming a
    column that parses entirely as numbers as it stands: Arrow's number parser refuses
    surrounding whitespace and blanks, so trimming it would change nothing. A CSV file is
    read as text throughout; its number columns were trimmed, then cast."""
    columns = list(table.columns)  # rebuilt once: set_column per column is quadratic
    changed = False
    for i, (name, dtype) in enumerate(zip(table.column_names, table.schema.types, strict=True)):
        if not _is_text(dtype):
            continue
        changed = True
        if name in keep_text:
            columns[i] = _trimmed(columns[i])
            continue
        number = _as_float(columns[i])  # as it stands, untrimmed
        if number is None:
            columns[i] = _trimmed(columns[i])
            number = _as_float(columns[i])
        if number is not None:
            columns[i] = number
    return _rebuilt(table, columns) if changed else table


def complete_text(table: pa.Table) -> tuple[int, list[str]]:
    """The rows of ``table`` and its text columns without a missing value (Arrow counts
    them for free), for ``attrs["complete_text"]``: the schema check then skips the per-row
    missing-value scan of such a required column. The row count voids the claim for a frame
    that was stacked or filtered since."""
    return table.num_rows, [name for name, column in zip(table.column_names, table.columns,
                                                         strict=True)
                            if _is_text(column.type) and column.null_count == 0]


def numbers_as_float(table: pa.Table, keep_text: set[str]) -> pa.Table:
    """Text columns that parse entirely as numbers -> float64 (others stay text)."""
    columns = list(table.columns)  # rebuilt once: set_column per column is quadratic
    changed = False
    for i, (name, dtype) in enumerate(zip(table.column_names, table.schema.types, strict=True)):
        if name in keep_text or not _is_text(dtype):
            continue
        number = _as_float(columns[i])
        if number is not None:
            columns[i] = number
            changed = True
    return _rebuilt(table, columns) if changed else table


def _as_float(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A text column as float64, or None when a value does not parse as a number."""
    try:
        return pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def delimiter_of(path: Path) -> str:
    """``,`` for ``.csv``, else tab (``.tsv``, ``.txt``)."""
    return "," if Path(path).suffix.lower() == ".csv" else "\t"


def is_parquet(path: Path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def header_columns(path: Path) -> list[str]:
    """Column names of a CSV/TSV/Parquet file without reading its rows ([] if unreadable)."""
    path = Path(path)
    if is_parquet(path):
        try:
            return list(parquet().ParquetFile(path).schema_arrow.names)
        except (pa.ArrowInvalid, OSError):
            return []
    try:
        return parse_header(path, 0, delimiter_of(path))
    except (InputError, OSError):
        return []


def arrow_chunks(path: Path, chunk_rows: int) -> Iterator[tuple[pa.Table, int]]:
    """Arrow tables of ``chunk_rows`` rows and the file line (Parquet: row) of their first."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            handle = parquet().ParquetFile(path)
            batches = handle.iter_batches(batch_size=chunk_rows)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(f"not a readable Parquet file: {str(error)[:200]}",
                             file=path) from None
        seen: set[str] = set()  # pandas would make a twice-named column a frame
        for name in handle.schema_arrow.names:
            if name in seen:
                raise InputError("duplicate column name", file=path, column=name)
            seen.add(name)
        row = 1
        for batch in batches:
            yield pa.Table.from_batches([batch]), row
            row += batch.num_rows
        return
    sep = delimiter_of(path)
    names = parse_header(path, 0, sep)
    types = {n: pa.string() for n in names}
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names,
                                           block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=sep,
                                             quote_char='"' if sep == "," else False),
            convert_options=pacsv.ConvertOptions(column_types=types,
                                                 null_values=list(NULL_VALUES),
                                                 strings_can_be_null=True,
                                                 quoted_strings_can_be_null=True),
        )
        pending = pa.Table.from_batches([], schema=reader.schema)
        line = 2
        for batch in reader:
            pending = pa.concat_tables([pending, pa.Table.from_batches([batch])])
            while pending.num_rows >= chunk_rows:
                yield pending.slice(0, chunk_rows), line
                line += chunk_rows
                pending = pending.slice(chunk_rows)
        if pending.num_rows:
            yield pending, line
    except pa.ArrowInvalid as error:
        raise _parse_error(path, 0, names, sep, list(NULL_VALUES), types, error) from None
