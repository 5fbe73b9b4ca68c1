"""Prediction output files and input checks for batch scoring.

Why a writer class: predictions are written chunk by chunk (bounded memory) into a temporary
file in the output folder, renamed to the final name only after the last chunk. Any failure
deletes the temporary file, so a failed run never leaves a partial or stale predictions file.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from predictor.data.lines import count_lines
from predictor.data.tables import parquet
from predictor.errors import InputError

if TYPE_CHECKING:
    import pyarrow.parquet as pq

T = TypeVar("T")
FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def output_format(output: Path, fmt: str | None) -> str:
    """``csv``, ``tsv`` or ``parquet``, from ``--format`` or else the output suffix."""
    if fmt:
        value = fmt.lower().strip().lstrip(".")
        if value not in ("csv", "tsv", "parquet"):
            raise InputError(f"unknown output format {fmt!r} (use csv or parquet)")
        return value
    found = FORMATS.get(output.suffix.lower())
    if found is None:
        raise InputError("cannot tell the output format from the file suffix "
                         "(use .csv or .parquet, or --format)", file=output)
    return found


def check_output_path(input_path: Path, output: Path, overwrite: bool = False) -> Path:
    """Refuse to overwrite the input, write inside an input folder, or (unless ``overwrite``)
    replace an existing file."""
    out = output.expanduser().resolve()
    src = input_path.expanduser().resolve()
    if out == src:
        raise InputError("output path is the input path; refusing to overwrite input",
                         file=output)
    if src.is_dir() and src in out.parents:
        raise InputError("output path is inside the input folder; write it elsewhere",
                         file=output)
    if out.is_dir():
        raise InputError("output path is a folder; give a file name", file=output)
    if out.exists() and not overwrite:
        raise InputError("output file exists; refusing to overwrite it (remove it or choose "
                         "another name)", file=output)
    return out


class PredictionWriter:
    """Append prediction frames to a temp file; :meth:`commit` renames it into place."""

    def __init__(self, path: Path, fmt: str, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.overwrite = overwrite
        self.rows = 0
        self._tmp: Path | None = None
        self._handle = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> PredictionWriter:
        from predictor.files import ensure_dir, unwritable

        ensure_dir(self.path.parent)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                       dir=self.path.parent)
        except OSError as error:  # a read-only folder: one line, not a traceback
            raise unwritable(self.path.parent, error) from None
        os.close(fd)
        self._tmp = Path(tmp)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk (same columns as the first chunk)."""
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        if self._schema is None:
            self._schema = table.schema
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        if self.fmt == "parquet":
            if self._parquet is None:
                self._parquet = parquet().ParquetWriter(str(self._tmp), self._schema)
            self._parquet.write_table(table)
        else:
            if self._handle is None:
                self._handle = pacsv.CSVWriter(
                    str(self._tmp), self._schema,
                    write_options=pacsv.WriteOptions(
                        delimiter="," if self.fmt == "csv" else "\t",
                        quoting_style="needed"))
            self._handle.write_table(table)
        self.rows += len(frame)

    def _close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def commit(self) -> Path:
        """Finish the file and move it to its final name (refusing to replace a file)."""
        self._close()
        if self.path.exists() and not self.overwrite:
            raise InputError("output file appeared while predicting; not overwriting it",
                             file=self.path)
        assert self._tmp is not None
        from predictor.files import file_mode

        os.chmod(self._tmp, file_mode())  # mkstemp files are private; predictions are shared
        os.replace(self._tmp, self.path)
        self._tmp = None
        return self.path

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(Exception):
            self._close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def count_rows(path: Path) -> int | None:
    """Rows of a flat file without parsing it (for the progress bar); None if unknown."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            return parquet().ParquetFile(path).metadata.num_rows
        except (pa.ArrowInvalid, OSError):
            return None
    return max(count_lines(path) - 1, 0)  # minus the header row


class _Failure:
    """An exception raised by the producer thread, re-raised in the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead.

    Why: reading and validating chunk k+1 (pyarrow releases the GIL) overlaps with building
    features and scoring chunk k. Memory stays bounded to ``depth`` extra chunks; an error in
    the producer is raised in the consumer, and stopping the consumer stops the producer.
    """
    box: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                box.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # forwarded to the consumer
            put(_Failure(error))

    context = contextvars.copy_context()  # e.g. outcomes_ignored() holds in the producer too
    worker = threading.Thread(target=context.run, args=(produce,), name="predictor-prefetch",
                              daemon=True)
    worker.start()
    try:
        while True:
            value = box.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.error
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
