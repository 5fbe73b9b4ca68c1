"""Expression files <-> :class:`Expression`: cBioPortal profiles and flat gene tables.

A cBioPortal study names its expression profiles in meta files (``genetic_alteration_type:
MRNA_EXPRESSION``). Only ``datatype: CONTINUOUS`` profiles are expression levels; z-score
profiles (``datatype: Z-SCORE``) are relative to a reference population, so they are skipped
(and refused when they are all a study has). The unit comes from the profile's ``stable_id``
(``mrna_seq_tpm`` -> TPM, ``rna_seq_v2_mrna``/``mrna_seq_v2_rsem`` -> RSEM, ``*fpkm*`` -> FPKM).

Files are parsed by Arrow straight into float32 (a very wide profile one block of lines at a
time into one preallocated matrix), so a 20,000 genes x 1,000 samples TPM file reads in seconds
and a 100,000-sample profile in about twice the memory of its matrix; cells are never visited
one by one in Python.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from predictor.data.expression import Expression
from predictor.data.lines import count_lines, physical_line
from predictor.data.tables import (
    NULL_VALUES,
    count_comment_lines,
    parse_header,
    read_arrow,
    write_delimited,
)
from predictor.errors import InputError

log = logging.getLogger(__name__)

GENE_COLUMN = "Hugo_Symbol"
ENTREZ_COLUMN = "Entrez_Gene_Id"
TEXT_COLUMNS = (GENE_COLUMN, ENTREZ_COLUMN)
# unit -> (data file, stable_id, profile name) written by ``write_expression_profile``.
PROFILES = {
    "tpm": ("data_mrna_seq_tpm.txt", "mrna_seq_tpm", "mRNA expression (RNA-seq TPM)"),
    "rsem": ("data_mrna_seq_v2_rsem.txt", "rna_seq_v2_mrna", "mRNA expression (RNA-seq RSEM)"),
    "fpkm": ("data_mrna_seq_fpkm.txt", "mrna_seq_fpkm", "mRNA expression (RNA-seq FPKM)"),
    "unknown": ("data_mrna_seq_expression.txt", "mrna_seq_expression",
                "mRNA expression (RNA-seq, unit not stated)"),
}
UNIT_ORDER = ("tpm", "rsem", "fpkm", "unknown")  # preferred when a study has several
# Linear-scale expression reaches the thousands; values all below this look like log2.
LOG_LOOKING_MAX = 30.0
MISSING_TEXT = "NA"
# A tab-separated table this wide is read in blocks of lines (see ``_read_values``): Arrow's
# CSV reader, faster on narrower tables (it parses on every core), keeps one array per column
# per parsing block, which on 100,000 columns cost several times the matrix.
WIDE_COLUMNS = 5000
# Bytes of whole lines split and converted at a time by that path.
BLOCK_BYTES = 1 << 24


# ============================================================================ writing
def write_expression_profile(expression: Expression, folder: Path, study_id: str) -> str:
    """Write ``expression`` as a cBioPortal profile (data + meta file) into ``folder``.

    The data file is ``Hugo_Symbol`` then one column per sample; a value is the float32's
    shortest text that reads back to the same float32, ``NA`` where not measured. Returns the
    data file name.
    """
    filename, stable_id, name = PROFILES[expression.unit]
    unit_text = "TPM" if expression.unit == "tpm" else expression.unit.upper()
    write_expression_table(expression, folder / filename)
    meta = {
        "cancer_study_identifier": study_id,
        "genetic_alteration_type": "MRNA_EXPRESSION",
        "datatype": "CONTINUOUS",
        "stable_id": stable_id,
        "profile_name": name,
        "profile_description": f"Tumour RNA-seq, {unit_text} on the linear scale "
                               "(written by predictor).",
        "show_profile_in_analysis_tab": "false",
        "data_filename": filename,
    }
    (folder / f"meta_{filename[len('data_'):]}").write_text(
        "".join(f"{k}: {v}\n" for k, v in meta.items()))
    return filename


def write_expression_table(expression: Expression, path: Path) -> None:
    """A genes x samples TSV (``Hugo_Symbol`` + one column per sample), written in Arrow."""
    arrays = [pa.array(np.asarray(expression.genes, dtype=object), type=pa.string())]
    for j in range(expression.values.shape[1]):
        column = pa.array(expression.values[:, j], type=pa.float32(), from_pandas=True)
        arrays.append(pc.fill_null(pc.cast(column, pa.string()), MISSING_TEXT))
    names = [GENE_COLUMN, *map(str, expression.samples)]
    table = pa.Table.from_arrays(arrays, names=names)
    with open(path, "wb") as handle:
        try:
            write_delimited(table, handle)
        except InputError as error:
            raise InputError(error.message, file=Path(path).name, column=error.column) from None


# ============================================================================ reading
def read_expression_table(path: Path, unit: str = "unknown", *,
                          orientation: str = "genes_x_samples",
                          gene_column: str | None = GENE_COLUMN) -> Expression:
    """Read a genes x samples (cBioPortal) or samples x genes table into an ``Expression``.

    ``genes_x_samples``: ``gene_column`` (cBioPortal's ``Hugo_Symbol``; an ``Entrez_Gene_Id``
    column is ignored) then one column per sample. ``samples_x_genes``: ``gene_column`` holds
    the sample ids and every other column is a gene. ``gene_column=None``: the first column.
    Errors name file, line and column: a value that is not a number, a negative value, a
    duplicate column. Duplicate gene symbols are collapsed (maximum per sample, one warning);
    rows without a symbol are skipped (one warning); values that look log-transformed give a
    warning.
    """
    path = Path(path)
    if orientation not in ("genes_x_samples", "samples_x_genes"):
        raise InputError(f"expression orientation must be genes_x_samples or samples_x_genes, "
                         f"not {orientation!r}", file=path)
    if not path.is_file():
        raise InputError("no such expression file", file=path)
    if path.suffix.lower() not in (".txt", ".tsv", ".csv"):
        raise InputError(f"expression tables are read from .txt/.tsv/.csv files, not "
                         f"{path.suffix!r}", file=path)
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    if gene_column is None:  # the first column holds the genes (or the sample ids)
        gene_column = parse_header(path, count_comment_lines(path), delimiter)[0]
    text = TEXT_COLUMNS if orientation == "genes_x_samples" else (gene_column,)
    if orientation == "genes_x_samples" and gene_column not in text:
        text = (*text, gene_column)
    what = "gene symbols" if orientation == "genes_x_samples" else "sample ids"
    labels, value_cols, values, first_line = _read_values(path, delimiter, text, gene_column,
                                                          what)
    if orientation == "genes_x_samples":
        matrix = np.ascontiguousarray(values)  # the streamed matrix already is: no copy
        genes, samples = labels, pd.Series(value_cols, dtype="string")
    else:
        missing = labels.isna().to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise InputError("sample id is missing", file=path, column=gene_column,
                             line=physical_line(path, first_line, first_line + i))
        dup = labels.duplicated().to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise InputError(f"sample {labels.iloc[i]!r} appears twice", file=path,
                             column=gene_column,
                             line=physical_line(path, first_line, first_line + i))
        matrix = np.ascontiguousarray(values.T)
        genes, samples = pd.Series(value_cols, dtype="string"), labels
    matrix, genes = _clean_genes(matrix, genes, path)
    _warn_if_log(matrix, path)
    return Expression(matrix, pd.Index(genes, dtype="string"),
                      pd.Index(samples, dtype="string"), unit, str(path))


def _read_values(path: Path, delimiter: str, text: tuple[str, ...], label_column: str,
                 what: str) -> tuple[pd.Series, list[str], np.ndarray, int]:
    """The label column (stripped), the value column names, the values as file rows x value
    columns float32, and the file line of the first data row.

    A wide (``WIDE_COLUMNS``) tab-separated file whose text columns come first (cBioPortal's
    ``Hugo_Symbol`` [``Entrez_Gene_Id``], or a samples x genes table's id column) is split
    into lines and fields by Arrow compute kernels, a block of lines at a time, into one
    preallocated C-ordered float32 matrix: Arrow's CSV reader keeps one array per column per
    parsing block, which for a 100,000-sample profile (100,000 columns) cost several times the
    matrix and most of the time. Anything else (a narrower or comma-separated file, a value
    that is not a number, padded values, a row with a missing field) is read whole by the CSV
    reader, whose errors name line and column."""
    skip = count_comment_lines(path)
    names = parse_header(path, skip, delimiter)
    _check_columns(names, text, label_column, what, path)
    first_line = skip + 2
    n_text = sum(c in text for c in names)
    leading = all(c in text for c in names[:n_text])  # the text columns come first
    if delimiter == "\t" and leading and len(names) >= WIDE_COLUMNS:
        try:
            labels, values = _split_values(path, names, n_text, label_column, first_line)
            value_cols = [c for c in names if c not in text]
            return pd.Series(labels, dtype="string").str.strip(), value_cols, values, first_line
        except pa.ArrowInvalid:
            pass
    table, first_line = read_arrow(path, delimiter=delimiter, text=text,
                                   float_type=pa.float32())
    labels = pd.Series(table.column(label_column).to_pylist(), dtype="string").str.strip()
    value_cols = [c for c in table.column_names if c not in text]
    return labels, value_cols, _matrix(table, value_cols, path, first_line), first_line


def _check_columns(names: list[str], text: tuple[str, ...], label_column: str, what: str,
                   path: Path) -> None:
    if label_column not in names:
        raise InputError(f"missing column {label_column!r} ({what})", file=path,
                         column=label_column)
    if all(c in text for c in names):
        raise InputError("no expression columns (only gene/id columns)", file=path)


def _split_values(path: Path, names: list[str], n_text: int, label_column: str,
                  first_line: int) -> tuple[list, np.ndarray]:
    """Labels and rows x value-columns float32 of a tab-separated file whose first ``n_text``
    columns are the text ones; ``pa.ArrowInvalid`` when a row is not ``len(names)`` fields of
    numbers or null tokens (the caller then reads it the general way)."""
    width = len(names) - n_text
    label_at = names.index(label_column)
    nulls = pa.array(list(NULL_VALUES), type=pa.string())
    matrix = np.empty((_max_data_rows(path, first_line), width), dtype=np.float32)
    labels: list = []
    row = 0
    with open(path, "rb") as handle:
        for _ in range(first_line - 1):  # comment lines and the header
            handle.readline()
        for block in _line_blocks(handle):
            lines = pc.split_pattern(_text_array(block), "\n").flatten()
            if b"\r" in block:
                lines = pc.utf8_rtrim(lines, characters="\r")
            if b"\n\n" in block or b"\r\n\r\n" in block or block[:1] in (b"\n", b"\r"):
                lines = lines.filter(pc.greater(pc.binary_length(lines), 0))  # empty lines
            fields = pc.split_pattern(lines, "\t")
            if not pc.all(pc.equal(pc.list_value_length(fields), len(names))).as_py():
                raise pa.ArrowInvalid("a row does not have one field per column")
            labels.extend(_nulled(pc.list_element(fields, label_at), nulls).to_pylist())
            cells = _nulled(pc.list_flatten(pc.list_slice(fields, n_text)), nulls)
            values = pc.cast(cells, pa.float32()).to_numpy(zero_copy_only=False)
            values = values.reshape(-1, width)
            _check_values(values, names[n_text:], path, first_line, row)
            matrix[row:row + len(values)] = values
            row += len(values)
    return labels, matrix[:row]


def _text_array(block: bytes) -> pa.Array:
    """``block`` as a one-element UTF-8 array without copying it (checked as UTF-8: an
    invalid file raises ``pa.ArrowInvalid`` and goes to the CSV reader, which names the line)."""
    offsets = pa.py_buffer(np.array([0, len(block)], dtype=np.int64))
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(block)]
                                 ).cast(pa.large_string())


def _nulled(cells: pa.Array, nulls: pa.Array) -> pa.Array:
    """The missing-value tokens as nulls (as the CSV reader reads them)."""
    return pc.if_else(pc.is_in(cells, value_set=nulls), pa.scalar(None, pa.string()), cells)


def _line_blocks(handle):
    """Whole lines of a binary file, about ``BLOCK_BYTES`` at a time (without the last
    newline of each block)."""
    rest = b""
    while chunk := handle.read(BLOCK_BYTES):
        data = rest + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1:]
        yield data[:cut]
    if rest:
        yield rest


def _max_data_rows(path: Path, first_line: int) -> int:
    """Lines from the first data row to the end (an upper bound: empty lines are skipped)."""
    return max(0, count_lines(path) - (first_line - 1))


def _check_values(values: np.ndarray, columns: list[str], path: Path, first_line: int,
                  offset: int) -> None:
    """Infinity and negative values name their cell (``offset``: rows before this block)."""
    for bad, message in ((np.isinf(values), "expression must be a finite number, got {}"),
                         (values < 0, "expression must not be negative, got {:g} (expected "
                          "linear-scale TPM/RSEM/FPKM, not log values or z-scores)")):
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            raise InputError(message.format(values[i, j]), file=path,
                             line=physical_line(path, first_line, first_line + offset + i),
                             column=columns[j])


def _matrix(table: pa.Table, columns: list[str], path: Path, first_line: int) -> np.ndarray:
    """Rows x ``columns`` float32 (NaN = missing); non-numbers and negatives name their cell.

    Filled one contiguous row per file column (fast), so the result is the transpose of a
    C-ordered matrix; callers make the layout they need contiguous.
    """
    by_column = np.empty((len(columns), table.num_rows), dtype=np.float32)
    for j, name in enumerate(columns):
        column = table.column(name)
        if not pa.types.is_floating(column.type):
            column = _numbers(column, path, first_line, name)
        start = 0
        for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
            by_column[j, start:start + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
            start += len(chunk)
    out = by_column.T
    _check_values(out, columns, path, first_line, 0)
    return out


def _numbers(column: pa.ChunkedArray, path: Path, first_line: int, name: str) -> pa.Array:
    """A text column (the file had a non-number somewhere) as float32, or the first bad cell."""
    text = pd.Series(column.to_pylist(), dtype="string").str.strip()
    text = text.mask(text == "", pd.NA)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = (numbers.isna() & text.notna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"expression must be a number, got {text.iloc[i]!r}", file=path,
                         line=physical_line(path, first_line, first_line + i), column=name)
    return pa.array(numbers.to_numpy(dtype="float32", na_value=np.nan), from_pandas=True)


def _clean_genes(matrix: np.ndarray, genes: pd.Series,
                 path: Path) -> tuple[np.ndarray, pd.Series]:
    """Rows without a symbol dropped; duplicate symbols collapsed to their maximum."""
    missing = genes.isna().to_numpy()
    if missing.any():
        log.warning("%s: %d rows without a gene symbol skipped", path, int(missing.sum()))
        matrix, genes = matrix[~missing], genes[~missing].reset_index(drop=True)
    dup = genes.duplicated(keep=False).to_numpy()
    if not dup.any():
        return matrix, genes
    unique = pd.Index(pd.unique(genes), dtype="string")
    n_dup = int(genes[dup].nunique())
    log.warning("%s: %d gene symbols appear on several rows (e.g. %r); each is collapsed to "
                "its maximum per sample", path, n_dup, str(genes[dup].iloc[0]))
    row = unique.get_indexer(pd.Index(genes, dtype="string"))
    out = matrix[np.sort(np.unique(row, return_index=True)[1])].copy()
    for i in np.flatnonzero(dup):  # only duplicated rows: a few, each a vector op
        out[row[i]] = np.fmax(out[row[i]], matrix[i])
    return out, pd.Series(unique, dtype="string")


def _warn_if_log(matrix: np.ndarray, path: Path) -> None:
    """Linear TPM/RSEM/FPKM reach hundreds or thousands; all < 30 with decimals looks like log."""
    if not matrix.size or bool(np.isnan(matrix).all()):
        return
    top = float(np.nanmax(matrix))
    if top < LOG_LOOKING_MAX and bool(np.any(np.nan_to_num(matrix) % 1 != 0)):
        log.warning("%s: every expression value is below %g (max %.3g); the values look "
                    "log-transformed, but expression must be on the linear scale", path,
                    LOG_LOOKING_MAX, top)


# ============================================================================ study profiles
def _unit_of(stable_id: str, filename: str) -> str:
    text = f"{stable_id} {filename}".lower()
    if "tpm" in text:
        return "tpm"
    if "fpkm" in text:
        return "fpkm"
    if "rsem" in text or "rna_seq_v2_mrna" in text or "rna_seq_v2_expression" in text:
        return "rsem"
    return "unknown"


def _is_zscore(meta: dict[str, str]) -> bool:
    return (meta.get("datatype", "").upper() == "Z-SCORE"
            or bool(re.search(r"z_?scores?", meta.get("stable_id", ""), re.IGNORECASE)))


def find_expression_profile(folder: Path,
                            metas: dict[Path, dict[str, str]]) -> tuple[Path, str] | None:
    """The expression data file of a study and its unit, found through its meta files.

    Only ``MRNA_EXPRESSION`` + ``CONTINUOUS`` profiles count; z-score profiles are skipped
    with a note, and refused when they are all the study has. Several level profiles: TPM,
    then RSEM, then FPKM is read (the choice is logged).
    """
    levels: list[tuple[str, Path]] = []
    zscores: list[str] = []
    for meta_path, meta in metas.items():
        if meta.get("genetic_alteration_type", "").upper() != "MRNA_EXPRESSION":
            continue
        filename = meta.get("data_filename", "")
        if not filename:
            continue
        if _is_zscore(meta):
            zscores.append(filename)
            continue
        if meta.get("datatype", "").upper() != "CONTINUOUS":
            continue
        data = folder / filename
        if not data.is_file():
            raise InputError(f"{meta_path.name} names {filename}, which is not in the study",
                             file=meta_path)
        levels.append((_unit_of(meta.get("stable_id", ""), filename), data))
    if not levels:
        if zscores:
            raise InputError("the only expression profiles are z-scores "
                             f"({', '.join(sorted(zscores))}); z-scores are relative to a "
                             "reference population, not expression levels: add the TPM, RSEM "
                             "or FPKM profile", file=folder)
        return None
    levels.sort(key=lambda item: (UNIT_ORDER.index(item[0]), item[1].name))
    unit, path = levels[0]
    if zscores:  # also listed by ``predictor validate`` (see zscore_profiles)
        log.info("%s: z-score expression profiles ignored (%s); reading %s", folder,
                 ", ".join(sorted(zscores)), path.name)
    if len(levels) > 1:
        log.info("%s: several expression profiles; reading %s (%s)", folder, path.name, unit)
    return path, unit


def zscore_profiles(metas: dict[Path, dict[str, str]]) -> list[str]:
    """Data files of the study's z-score expression profiles (ignored by the reader)."""
    return sorted(m.get("data_filename", "") for m in metas.values()
                  if m.get("genetic_alteration_type", "").upper() == "MRNA_EXPRESSION"
                  and m.get("data_filename") and _is_zscore(m))
