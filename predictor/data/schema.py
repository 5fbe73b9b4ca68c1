"""The cohort schema: every table, its columns, dtypes and allowed values, checked on load.

A table read from a file carries ``df.attrs["source"]`` (the file path) and
``df.attrs["first_line"]`` (the 1-based file line of its first data row), so that a failed check
names the file, the line and the column (``df.attrs["source_columns"]``, schema name -> the
file's column name, when a reader renamed columns; ``df.attrs["text_trimmed"]`` when the reader
already stripped text and made blank cells missing; ``df.attrs["complete_text"]`` its rows and
the text columns it found without a missing value). Extra columns are allowed everywhere: flat
tables carry precomputed per-patient features next to the schema columns.

Dtypes:
- ``str``: text, never empty when required;
- ``int`` / ``float``: numeric (``int`` must be whole), missing allowed unless required;
- ``binary``: 0 or 1 (missing allowed unless required).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from predictor.data.codes import text_codes
from predictor.data.lines import physical_line
from predictor.errors import InputError

RECIST_CATEGORIES = ("CR", "PR", "SD", "PD", "NE")

# Variant classes allowed in a MAF (GDC MAF specification plus the cBioPortal extras).
VARIANT_CLASSIFICATIONS = (
    "Missense_Mutation",
    "Nonsense_Mutation",
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Splice_Site",
    "Splice_Region",
    "Nonstop_Mutation",
    "Translation_Start_Site",
    "Silent",
    "Intron",
    "3'UTR",
    "5'UTR",
    "3'Flank",
    "5'Flank",
    "IGR",
    "RNA",
    "lincRNA",
    "Targeted_Region",
    "De_novo_Start_InFrame",
    "De_novo_Start_OutOfFrame",
    "Unknown",
    "Fusion",
)

# Non-synonymous classes counted by cBioPortal's TMB_NONSYNONYMOUS.
NONSYNONYMOUS_CLASSES = (
    "Missense_Mutation",
    "Nonsense_Mutation",
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Splice_Site",
    "Splice_Region",
    "Nonstop_Mutation",
    "Translation_Start_Site",
)


@dataclass(frozen=True)
class Column:
    """One column of a table: its dtype, whether it must be present, and its allowed values."""

    name: str
    dtype: str  # "str" | "int" | "float" | "binary"
    required: bool = False
    allowed: tuple | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = True
    description: str = ""


@dataclass(frozen=True)
class TableSchema:
    """A table of the cohort: its columns and the columns that identify a row."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""
    extra: dict = field(default_factory=dict)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _c(name: str, dtype: str, description: str, **kw) -> Column:
    return Column(name=name, dtype=dtype, description=description, **kw)


CLINICAL = TableSchema(
    name="clinical",
    key=("patient_id",),
    description="One row per patient: what is known before treatment starts.",
    columns=(
        _c("patient_id", "str", "patient identifier", required=True, nullable=False),
        _c("cancer_type", "str", "cancer type (e.g. NSCLC, Melanoma)", required=True),
        _c("regimen", "str", "drugs given, generic lower-case names joined by '+'"),
        _c("line_of_therapy", "int", "1 = first line", min=1),
        _c("prior_systemic_therapy", "binary", "any systemic therapy before this one"),
        _c("age", "float", "years at treatment start", min=0, max=130),
        _c("sex", "str", "Male or Female", allowed=("Male", "Female")),
        _c("nlr", "float", "blood neutrophil-to-lymphocyte ratio", min=0),
        _c("albumin", "float", "serum albumin, g/dL", min=0),
        _c("cohort", "str", "source cohort or hospital (enables leave-one-cohort-out)"),
    ),
)

SAMPLES = TableSchema(
    name="samples",
    key=("sample_id",),
    description="One row per sequenced tumour sample.",
    columns=(
        _c("sample_id", "str", "sample identifier (MAF Tumor_Sample_Barcode)", required=True,
           nullable=False),
        _c("patient_id", "str", "patient the sample belongs to", required=True, nullable=False),
        _c("panel", "str", "sequencing panel or assay id (sets the TMB denominator)"),
        _c("purity", "float", "tumour purity, fraction of tumour cells", min=0, max=1),
        _c("ploidy", "float", "tumour ploidy", min=0),
    ),
)

MUTATIONS = TableSchema(
    name="mutations",
    description="MAF rows: one somatic variant in one sample.",
    columns=(
        _c("Tumor_Sample_Barcode", "str", "sample id", required=True, nullable=False),
        _c("Hugo_Symbol", "str", "gene symbol", required=True, nullable=False),
        _c("Variant_Classification", "str", "MAF variant class", required=True, nullable=False,
           allowed=VARIANT_CLASSIFICATIONS),
        _c("HGVSp_Short", "str", "protein change, e.g. p.T790M"),
        _c("t_ref_count", "int", "tumour reads supporting the reference allele", min=0),
        _c("t_alt_count", "int", "tumour reads supporting the alternate allele", min=0),
        _c("ccf", "float", "cancer-cell fraction of the variant, when called", min=0, max=1.5),
    ),
)

CNA = TableSchema(
    name="cna",
    key=("sample_id", "Hugo_Symbol"),
    description="Gene-level discrete copy number (GISTIC: -2 deep loss .. 2 amplification).",
    columns=(
        _c("sample_id", "str", "sample id", required=True, nullable=False),
        _c("Hugo_Symbol", "str", "gene symbol", required=True, nullable=False),
        _c("cna", "int", "discrete copy number", required=True, allowed=(-2, -1, 0, 1, 2)),
    ),
)

CLONES = TableSchema(
    name="clones",
    key=("sample_id", "clone_id"),
    description="Clonal architecture per sample (e.g. from PyClone/PhyloWGS).",
    columns=(
        _c("sample_id", "str", "sample id", required=True, nullable=False),
        _c("clone_id", "str", "clone id within the sample", required=True, nullable=False),
        _c("parent_clone_id", "str", "parent clone in the tree (empty for the trunk)"),
        _c("ccf", "float", "cancer-cell fraction of the clone", required=True, min=0, max=1),
        _c("n_mutations", "int", "mutations assigned to the clone", min=0),
    ),
)

TME = TableSchema(
    name="tme",
    key=("patient_id",),
    description="Tumour micro-environment markers (deconvolution, IHC or imaging).",
    columns=(
        _c("patient_id", "str", "patient id", required=True, nullable=False),
        _c("cd8", "float", "CD8 T-cell fraction of cells", min=0, max=1),
        _c("treg", "float", "regulatory T-cell fraction", min=0, max=1),
        _c("m1_macrophage", "float", "M1 (anti-tumour) macrophage fraction", min=0, max=1),
        _c("m2_macrophage", "float", "M2 (pro-tumour) macrophage fraction", min=0, max=1),
        _c("caf", "float", "cancer-associated fibroblast fraction", min=0, max=1),
        _c("stroma", "float", "stromal fraction", min=0, max=1),
        _c("microvessel_density", "float", "microvessels per mm^2", min=0),
        _c("hypoxia", "float", "hypoxia score, 0 (normoxic) .. 1", min=0, max=1),
        _c("ph", "float", "extracellular pH", min=5, max=8.5),
        _c("oxidative_stress", "float", "oxidative-stress index, 0 .. 1", min=0, max=1),
    ),
)

CTDNA = TableSchema(
    name="ctdna",
    key=("patient_id", "day"),
    description="Serial liquid-biopsy measurements; day 0 = treatment start.",
    columns=(
        _c("patient_id", "str", "patient id", required=True, nullable=False),
        _c("day", "float", "days since treatment start", required=True, nullable=False),
        _c("tumor_fraction", "float", "ctDNA tumour fraction", min=0, max=1),
        _c("mean_vaf", "float", "mean VAF of tracked variants", min=0, max=1),
    ),
)

SEGMENTS = TableSchema(
    name="segments",
    description="Copy-number segments (cBioPortal .seg), used for fraction of genome altered.",
    columns=(
        _c("sample_id", "str", "sample id", required=True, nullable=False),
        _c("chrom", "str", "chromosome", required=True),
        _c("start", "int", "segment start", required=True, min=0),
        _c("end", "int", "segment end", required=True, min=0),
        _c("num_mark", "int", "probes in segment", min=0),
        _c("seg_mean", "float", "log2 copy ratio", required=True),
    ),
)

OUTCOMES = TableSchema(
    name="outcomes",
    key=("patient_id",),
    description="What happened after treatment. Never an input of a model.",
    columns=(
        _c("patient_id", "str", "patient id", required=True, nullable=False),
        _c("best_response", "str", "best overall response (RECIST 1.1)", allowed=RECIST_CATEGORIES),
        _c("responder", "binary", "binary response label, when given by the study"),
        _c("pfs_months", "float", "progression/relapse-free time, months", min=0),
        _c("pfs_event", "binary", "1 progressed/relapsed (or died), 0 censored"),
        _c("os_months", "float", "overall survival time, months", min=0),
        _c("os_event", "binary", "1 died, 0 censored"),
    ),
)

SCHEMAS: dict[str, TableSchema] = {
    s.name: s for s in (CLINICAL, SAMPLES, MUTATIONS, CNA, CLONES, TME, CTDNA, SEGMENTS, OUTCOMES)
}


def _where(df: pd.DataFrame, row_positions: Sequence[int]) -> tuple[str | None, int | None]:
    """File and 1-based line of the first offending row (or its row number when not from a file)."""
    source = df.attrs.get("source")
    first_line = df.attrs.get("first_line")
    pos = int(row_positions[0])
    if first_line is not None:
        nominal = int(first_line) + pos
        start = df.attrs.get("data_start")
        if source and start is not None:  # the reader skipped empty lines: find the real one
            return source, physical_line(source, int(start), nominal)
        return source, nominal
    return source, pos + 1


# Larger magnitudes are no measurement of a patient or a tumour (genomic positions are < 1e10,
# TPM < 1e7): a file giving them (1e308, inf) has an error, and scoring it would be silent.
MAX_ABS = 1e15


def show(value: object) -> str:
    """A value as the user wrote it: ``-3.5`` or ``'abc'``, never ``np.float64(-3.5)``."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    return repr(str(value)) if isinstance(value, str) else repr(value)


def impossible(values: pd.Series | pd.DataFrame) -> np.ndarray:
    """Mask of non-finite (inf, -inf) or impossibly large numbers (see :data:`MAX_ABS`)."""
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(numbers) & ~(np.abs(numbers) <= MAX_ABS)


def check_possible(df: pd.DataFrame, schema: TableSchema, values: pd.Series,
                   column: str) -> None:
    """One rule for every numeric column (schema and pass-through alike): ``inf``, ``-inf``
    and magnitudes beyond :data:`MAX_ABS` fail with file, line and column."""
    bad = impossible(values)
    if bad.any():
        positions = np.flatnonzero(bad)
        fail_at(df, schema, positions, column,
                f"impossible value {show(values.iloc[positions[0]])} (not finite or beyond "
                f"{MAX_ABS:g} in magnitude)")


def fail_at(df: pd.DataFrame, schema: TableSchema, positions, column: str, message: str):
    """Raise the one-line InputError for rows ``positions`` of ``df`` (file, line, column as
    the user's file names them); readers use it for their own checks too."""
    source, line = _where(df, positions)
    column = df.attrs.get("source_columns", {}).get(column, column)  # the file's own name
    n = len(positions)
    more = f" ({n - 1} more rows like it)" if n > 1 else ""
    if df.attrs.get("first_line") is None:
        message = f"{schema.name} table row {line}: {message}{more}"
        raise InputError(message, file=source, column=column)
    raise InputError(message + more, file=source, line=line, column=column)


def stripped_text(raw: pd.Series) -> pd.Series:
    """``raw`` as trimmed text (string dtype), blanks missing. A column with few distinct
    values (a constant, a mapped code) is trimmed once per value, not once per row."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    if 4 * len(uniques) > len(raw):  # mostly distinct: trimming each row costs the same
        values = raw.astype("string").str.strip()
        return values.mask(values == "", pd.NA)
    text = pd.Series(uniques, dtype=object).astype("string").str.strip()
    text = pd.concat([text.mask(text == "", pd.NA), pd.Series([pd.NA], dtype="string")],
                     ignore_index=True)  # the last entry: code -1, a missing value
    return pd.Series(text.array.take(codes), index=raw.index, name=raw.name)


def coerce_and_check(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Check ``df`` against ``schema`` and return it with schema columns in their dtypes.

    Raises :class:`InputError` naming file, line and column for a missing required column, a
    value of the wrong type, a value outside the allowed set or range, or a duplicated key.
    """
    attrs = dict(df.attrs)
    missing = [c for c in schema.required if c not in df.columns]
    if missing:
        source = attrs.get("source")
        raise InputError(
            f"missing required column(s) {', '.join(repr(m) for m in missing)} "
            f"for the {schema.name} table",
            file=source,
            column=missing[0],
        )
    out = df.copy(deep=False)  # coerced columns are assigned, never written into
    out.attrs = attrs
    # A reader's own frame (no caller holds it): a column the check leaves as it is (text the
    # reader trimmed) is not assigned back, which copied it (~0.5 ms per 100k-row column).
    own = bool(attrs.get("text_trimmed"))
    for col in schema.columns:
        if col.name not in out.columns:
            continue
        coerced = _coerce_column(out, schema, col)
        if not (own and coerced is out[col.name]):
            out[col.name] = coerced
    known = set(schema.names)
    extra = [i for i, (name, dtype) in enumerate(out.dtypes.items())
             if name not in known and pd.api.types.is_float_dtype(dtype)]
    if extra:  # pass-through feature columns: the same rule for numbers, checked at once
        bad = impossible(out.iloc[:, extra])
        if bad.any():
            _row, col = np.argwhere(bad)[0]
            name = str(out.columns[extra[col]])
            check_possible(out, schema, out[name], name)
    if schema.key and all(k in out.columns for k in schema.key) and len(out):
        if len(schema.key) == 1 and pd.Index(out[schema.key[0]].array).is_unique:
            return out  # one hash table, none of duplicated()'s per-row flags (~30% faster)
        dup = out.duplicated(list(schema.key), keep="first").to_numpy()
        if dup.any():
            positions = np.flatnonzero(dup)
            first = out.iloc[positions[0]][list(schema.key)].tolist()
            fail_at(out, schema, positions, schema.key[-1],
                  f"duplicate {'/'.join(schema.key)} {'/'.join(map(str, first))}")
    return out


def _complete(df: pd.DataFrame, name: str) -> bool:
    """Whether a reader found text column ``name`` of ``df`` without a missing value
    (``attrs["complete_text"]``: rows and names, see ``tables.complete_text``)."""
    rows, names = df.attrs.get("complete_text") or (None, ())
    return rows == len(df) and name in names


def _coerce_column(df: pd.DataFrame, schema: TableSchema, col: Column) -> pd.Series:
    raw = df[col.name]
    if col.dtype == "str":
        if df.attrs.get("text_trimmed") and isinstance(raw.dtype, pd.StringDtype):
            values = raw  # a reader already trimmed it and made blanks missing (10M-row MAFs)
        else:
            values = stripped_text(raw)
    else:
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            values = raw.astype("float64")
        else:
            text = raw.astype("string").str.strip()
            text = text.mask(text.isin(["", "NA", "NaN", "nan", "None"]), pd.NA)
            values = pd.to_numeric(text, errors="coerce").astype("float64")
            bad = (values.isna() & text.notna()).to_numpy()
            if bad.any():
                positions = np.flatnonzero(bad)
                fail_at(df, schema, positions, col.name,
                      f"expected a number, got {text.iloc[positions[0]]!r}")
        check_possible(df, schema, values, col.name)
        # In numpy: a float64 column's only missing value is NaN, and pandas' notna/isin on a
        # 100k-row Series cost ~5-10 ms each (hash tables), a third of reading a flat chunk.
        numbers = values.to_numpy(dtype="float64", copy=False)
        present = ~np.isnan(numbers)
        if col.dtype in ("int", "binary"):
            with np.errstate(invalid="ignore"):
                frac = present & (numbers != np.floor(numbers))
            if frac.any():
                positions = np.flatnonzero(frac)
                fail_at(df, schema, positions, col.name,
                      f"expected a whole number, got {show(values.iloc[positions[0]])}")
        if col.dtype == "binary":
            bad = present & (numbers != 0) & (numbers != 1)
            if bad.any():
                positions = np.flatnonzero(bad)
                fail_at(df, schema, positions, col.name,
                      f"expected 0 or 1, got {show(values.iloc[positions[0]])}")
    codes = allowed = None
    if col.allowed is not None and isinstance(values.dtype, pd.StringDtype):
        # Distinct values first (a coded column has a handful): missing ones and the
        # allowed check from one factorize instead of isna, notna and isin on every row.
        codes, uniques = text_codes(values)
        allowed = np.append(pd.Index(uniques).isin(list(col.allowed)), True)[codes]
    if not col.nullable or (col.required and col.dtype == "str"):
        if col.dtype != "str":
            nulls = ~present
        elif codes is not None:
            nulls = codes < 0
        elif values is raw and _complete(df, col.name):  # the reader counted none missing
            nulls = np.zeros(0, dtype=bool)
        else:
            nulls = values.isna().to_numpy()
        if nulls.any():
            fail_at(df, schema, np.flatnonzero(nulls), col.name, "value is missing")
    if col.allowed is not None:
        if allowed is not None:
            bad = ~allowed  # code -1 (missing) took the appended True: never "unknown"
        else:
            bad = (values.notna() & ~values.isin(list(col.allowed))).to_numpy()
        if bad.any():
            positions = np.flatnonzero(bad)
            allowed = ", ".join(map(str, col.allowed[:12]))
            more = ", ..." if len(col.allowed) > 12 else ""
            fail_at(df, schema, positions, col.name,
                  f"unknown value {show(values.iloc[positions[0]])} (allowed: {allowed}{more})")
    if col.min is not None or col.max is not None:
        if col.dtype != "str":  # in numpy, on the float64 values (NaN compares False)
            numeric = values
            bad = np.zeros(len(numbers), dtype=bool)
            with np.errstate(invalid="ignore"):
                if col.min is not None:
                    bad |= numbers < col.min
                if col.max is not None:
                    bad |= numbers > col.max
        else:
            numeric = values.astype("float64")
            low = (numeric < col.min if col.min is not None
                   else pd.Series(False, index=values.index))
            high = (numeric > col.max if col.max is not None
                    else pd.Series(False, index=values.index))
            bad = (low | high).fillna(False).to_numpy()
        if bad.any():
            positions = np.flatnonzero(bad)
            fail_at(df, schema, positions, col.name,
                  f"value {show(numeric.iloc[positions[0]])} outside [{col.min}, {col.max}]")
    if col.dtype == "int" or col.dtype == "binary":
        if isinstance(raw.dtype, pd.Int64Dtype):  # already it (Parquet written from pandas)
            return raw
        # Whole numbers within MAX_ABS (< 2**53), checked above: exact as int64, built
        # directly (pandas' float -> Int64 cast re-checks every value, ~10 ms per 100k).
        data = np.where(present, numbers, 0).astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(data, ~present), index=values.index,
                         name=values.name)
    return values


ENDPOINTS = ("pfs", "os")


def set_aside_bad_outcomes(outcomes: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Outcomes with each unusable value blanked, and one record per blanked patient/endpoint.

    Why: a registry export used to *evaluate* a model has rows such as an event without a
    time or a negative time. Training must fail on them (:func:`check_outcome_times`), but an
    evaluation leaves such a patient out of that endpoint only and reports it. Blanked: a
    ``responder`` not 0/1 or a ``best_response`` outside RECIST (the response label), and for
    ``pfs``/``os`` both time and event when the time is negative or not a number, the event is
    not 0/1, or an event is set without a time. Records: ``patient_id``, ``endpoint``
    (``response``, ``pfs``, ``os``), ``reason``, ``file``, ``line``.
    """
    out = outcomes.copy()
    out.attrs = dict(outcomes.attrs)
    out.attrs.pop("complete_text", None)  # values are blanked below
    found: list[dict] = []
    n = len(out)

    def numbers(column: str) -> tuple[pd.Series, np.ndarray]:
        if column not in out.columns:
            return pd.Series(np.nan, index=out.index), np.zeros(n, dtype=bool)
        text = out[column].astype("string").str.strip()
        text = text.mask(text.isin(["", "NA", "NaN", "nan", "None"]), pd.NA)
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        return values, (values.isna() & text.notna()).to_numpy()

    def record(bad: np.ndarray, endpoint: str, reasons: np.ndarray, columns: list[str]) -> None:
        for pos in np.flatnonzero(bad):
            source, line = _where(out, [pos])
            found.append({"patient_id": str(out["patient_id"].iloc[pos]), "endpoint": endpoint,
                          "reason": str(reasons[pos]), "file": source, "line": line})
        for column in columns:
            if column in out.columns and bad.any():
                out[column] = out[column].astype(object).where(~bad, None)

    if "responder" in out.columns:
        values, unparsed = numbers("responder")
        bad = unparsed | (values.notna() & ~values.isin([0, 1])).to_numpy()
        record(bad, "response", np.full(n, "responder is not 0 or 1"), ["responder"])
    if "best_response" in out.columns:
        text = out["best_response"].astype("string").str.strip()
        bad = (text.notna() & (text != "") & ~text.isin(list(RECIST_CATEGORIES))).to_numpy()
        record(bad, "response", np.full(n, "best_response is not a RECIST category"),
               ["best_response"])
    for prefix in ENDPOINTS:
        time_col, event_col = f"{prefix}_months", f"{prefix}_event"
        if time_col not in out.columns and event_col not in out.columns:
            continue
        time, time_text = numbers(time_col)
        event, event_text = numbers(event_col)
        checks = [  # first matching reason is the one reported
            (time_text, f"{time_col} is not a number"),
            ((time < 0).fillna(False).to_numpy(), f"{time_col} is negative"),
            (event_text | (event.notna() & ~event.isin([0, 1])).to_numpy(),
             f"{event_col} is not 0 or 1"),
            ((event.notna() & time.isna()).to_numpy(), f"{event_col} is set but {time_col} "
             "is missing"),
        ]
        reasons = np.full(n, "", dtype=object)
        for mask, reason in reversed(checks):
            reasons[mask] = reason
        record(reasons != "", prefix, reasons, [time_col, event_col])
    return out, found


def check_outcome_times(outcomes: pd.DataFrame) -> None:
    """An event needs a time: a missing or negative time where the event column is set fails."""
    schema = OUTCOMES
    for prefix in ("pfs", "os"):
        time_col, event_col = f"{prefix}_months", f"{prefix}_event"
        if event_col not in outcomes.columns:
            continue
        time = outcomes[time_col] if time_col in outcomes.columns else pd.Series(
            np.nan, index=outcomes.index)
        bad = (outcomes[event_col].notna() & time.isna()).to_numpy()
        if bad.any():
            fail_at(outcomes, schema, np.flatnonzero(bad), time_col,
                  f"{event_col} is set but {time_col} is missing")


def check_references(
    child: pd.DataFrame,
    child_schema: TableSchema,
    column: str,
    known: Iterable[str],
    parent_name: str,
) -> None:
    """Every value of ``child[column]`` must name a row of the parent table."""
    if not isinstance(known, pd.Index | pd.Series | np.ndarray):
        known = list(known)  # (an Index or Series is used as it is: no Python list)
    known_set = pd.Index(pd.unique(pd.Series(np.asarray(known, dtype=object), dtype="string")))
    values = child[column]
    bad = (~values.isin(known_set)).to_numpy()
    if bad.any():
        positions = np.flatnonzero(bad)
        fail_at(child, child_schema, positions, column,
              f"{show(values.iloc[positions[0]])} is not in the {parent_name} table")


def describe_schema() -> str:
    """Markdown description of every table (used by the README and ``predictor schema``)."""
    lines = []
    for schema in SCHEMAS.values():
        lines.append(f"### {schema.name}\n\n{schema.description}\n")
        lines.append("| column | dtype | required | allowed / range | meaning |")
        lines.append("|---|---|---|---|---|")
        for c in schema.columns:
            if c.allowed is not None:
                rng = ", ".join(map(str, c.allowed[:6])) + (", ..." if len(c.allowed) > 6 else "")
            elif c.min is not None or c.max is not None:
                rng = f"[{'' if c.min is None else c.min}, {'' if c.max is None else c.max}]"
            else:
                rng = ""
            lines.append(
                f"| `{c.name}` | {c.dtype} | {'yes' if c.required else ''} | {rng} | "
                f"{c.description} |"
            )
        lines.append("")
    return "\n".join(lines)
