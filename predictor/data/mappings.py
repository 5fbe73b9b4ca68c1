"""Column mappings: how a one-row-per-patient table's columns become schema tables.

A mapping is explicit so that nothing is guessed: which column is the patient id, which source
column is each schema column, how codes translate (``Sex`` 1 -> ``Male``), which regimen each
drug code stands for, which columns are outcomes, and which columns pass through as
precomputed features under their source names.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from predictor import yamlfile
from predictor.data import schema as S
from predictor.data.cohort import outcomes_wanted
from predictor.errors import InputError
from predictor.plain import plain

OUTCOME_NAMES = tuple(c.name for c in S.OUTCOMES.columns if c.name != "patient_id")
CLINICAL_NAMES = tuple(c.name for c in S.CLINICAL.columns if c.name != "patient_id")


@dataclass(frozen=True)
class FlatMapping:
    """Where each schema column of a flat table comes from (see ``conf/mappings/*.yaml``).

    ``columns``: clinical schema column -> source column; ``value_maps``: schema column ->
    {source code: value}; ``regimen_column``/``regimen_map``: drug code -> regimen;
    ``outcomes``: outcome column -> source column; ``features``: source columns kept under
    their own names; ``constants``: a value for a clinical column the file lacks (e.g.
    ``cancer_type: NSCLC`` for a single-cancer file). A mapped column missing from the file is
    an error only when the schema requires it; a file without ``id_column`` gets row numbers.
    ``expression``: a tumour RNA-seq table beside the flat file, either its path or
    ``{path, orientation: genes_x_samples | samples_x_genes, unit: tpm | rsem | fpkm |
    unknown, id_column}`` (``id_column``: the gene column, or the sample id column of a
    samples x genes table; default the file's first column). Its sample ids are patient ids.
    """

    id_column: str = "patient_id"
    columns: dict[str, str] = field(default_factory=dict)
    value_maps: dict[str, dict] = field(default_factory=dict)
    regimen_column: str | None = None
    regimen_map: dict = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    features: tuple[str, ...] = ()
    cohort_column: str | None = None
    constants: dict[str, Any] = field(default_factory=dict)
    expression: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping, *, source: str | None = None) -> FlatMapping:
        """Build and check a mapping from a plain dict (e.g. parsed YAML)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise InputError(f"unknown mapping key(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(known))})", file=source)
        kw: dict[str, Any] = dict(data)
        for key in ("columns", "value_maps", "regimen_map", "outcomes", "constants"):
            value = kw.get(key) or {}
            if not isinstance(value, Mapping):
                raise InputError(f"mapping key {key!r} must be a mapping", file=source)
            kw[key] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in value.items()}
        features = kw.get("features") or ()
        if isinstance(features, str) or not isinstance(features, list | tuple):
            raise InputError("mapping key 'features' must be a list of column names",
                             file=source)
        kw["features"] = tuple(features)
        kw["expression"] = _expression_entry(kw.get("expression"), source)
        mapping = cls(**kw)
        mapping.check(source)
        return mapping

    def check(self, source: str | None = None) -> None:
        """Mapped names must be schema columns; the id column must be named."""
        if not self.id_column:
            raise InputError("mapping needs an 'id_column'", file=source)
        names = [("id_column", self.id_column), ("regimen_column", self.regimen_column),
                 ("cohort_column", self.cohort_column)]
        names += [(f"columns: {k}", v) for k, v in self.columns.items()]
        names += [(f"outcomes: {k}", v) for k, v in self.outcomes.items()]
        names += [("features", v) for v in self.features]
        for key, value in names:  # a column name is text (YAML may give a number or a list)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise InputError(f"mapping {key!r} must be a column name, not {value!r}",
                                 file=source)
        for key, value in self.constants.items():
            if isinstance(value, Mapping | list | tuple):
                raise InputError(f"mapping 'constants: {key}' must be one value, not "
                                 f"{value!r}", file=source)
        for key, value in [*((f"value_maps: {k}", v) for k, v in self.value_maps.items()),
                           ("regimen_map", self.regimen_map)]:
            if not isinstance(value, Mapping):
                raise InputError(f"mapping {key!r} must map codes to values", file=source)
        for name in self.columns:
            if name not in CLINICAL_NAMES:
                raise InputError(f"mapping 'columns' names {name!r}, not a clinical schema "
                                 f"column ({', '.join(CLINICAL_NAMES)})", file=source)
        for name in self.outcomes:
            if name not in OUTCOME_NAMES:
                raise InputError(f"mapping 'outcomes' names {name!r}, not an outcome "
                                 f"({', '.join(OUTCOME_NAMES)})", file=source)
        for name in self.constants:
            if name not in CLINICAL_NAMES:
                raise InputError(f"mapping 'constants' names {name!r}, not a clinical schema "
                                 "column", file=source)
        for name in self.value_maps:
            if name not in self.columns and name not in self.outcomes:
                raise InputError(f"value_maps for {name!r}, which the mapping does not map",
                                 file=source)

    def to_dict(self) -> dict:
        """Plain dict (YAML/JSON-ready), e.g. for a model bundle."""
        return {
            "id_column": self.id_column,
            "columns": dict(self.columns),
            "value_maps": {k: dict(v) for k, v in self.value_maps.items()},
            "regimen_column": self.regimen_column,
            "regimen_map": dict(self.regimen_map),
            "outcomes": dict(self.outcomes),
            "features": list(self.features),
            "cohort_column": self.cohort_column,
            "constants": dict(self.constants),
            **({"expression": dict(self.expression)} if self.expression else {}),
        }


EXPRESSION_KEYS = {"path": None, "orientation": "genes_x_samples", "unit": "unknown",
                   "id_column": None}


def _expression_entry(value: Any, source: str | None) -> dict[str, Any]:
    """The ``expression`` mapping key as a full dict (a bare path is ``{path: ...}``)."""
    from predictor.data.expression import UNITS

    if value in (None, "", {}):
        return {}
    if isinstance(value, str | Path):
        value = {"path": str(value)}
    if not isinstance(value, Mapping):
        raise InputError("mapping key 'expression' must be a path or a mapping", file=source)
    unknown = sorted(set(value) - set(EXPRESSION_KEYS))
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(unknown)} under 'expression' (known: "
                         f"{', '.join(EXPRESSION_KEYS)})", file=source)
    entry = {**EXPRESSION_KEYS, **dict(value)}
    if not entry["path"]:
        raise InputError("mapping 'expression' needs a 'path'", file=source)
    entry["path"] = str(entry["path"])
    if entry["orientation"] not in ("genes_x_samples", "samples_x_genes"):
        raise InputError("mapping 'expression.orientation' must be genes_x_samples or "
                         f"samples_x_genes, not {entry['orientation']!r}", file=source)
    if entry["unit"] not in UNITS:
        raise InputError(f"mapping 'expression.unit' must be one of {', '.join(UNITS)}, not "
                         f"{entry['unit']!r}", file=source)
    return entry


def load_mapping(mapping: FlatMapping | Mapping | str | Path | None) -> FlatMapping | None:
    """A mapping from a FlatMapping, a dict (or Hydra config), or a YAML file path."""
    if mapping is None or isinstance(mapping, FlatMapping):
        return mapping
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        if not path.is_file():
            raise InputError("mapping file not found", file=path)
        try:
            data = yamlfile.safe_load(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError("mapping is not UTF-8 text", file=path) from None
        except yaml.YAMLError as error:
            line = getattr(getattr(error, "problem_mark", None), "line", None)
            raise InputError("mapping is not valid YAML", file=path,
                             line=None if line is None else line + 1) from None
        if not isinstance(data, Mapping):
            raise InputError("mapping file must hold a YAML mapping", file=path)
        return FlatMapping.from_dict(data, source=str(path))
    if not isinstance(mapping, Mapping):
        try:  # an omegaconf DictConfig
            from omegaconf import OmegaConf

            mapping = OmegaConf.to_container(mapping, resolve=True)  # type: ignore[assignment]
        except Exception:
            raise InputError(f"cannot use {type(mapping).__name__} as a column mapping") from None
    else:
        mapping = plain(mapping)
    return FlatMapping.from_dict(mapping)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- applying
def _numeric_key(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def map_values(series: pd.Series, value_map: Mapping, table: pd.DataFrame, column: str,
               target: str) -> pd.Series:
    """Translate codes with ``value_map``; a code the map lacks is an error naming its line.

    Each distinct code is translated once and the result spread over the rows (a coded column
    has a handful of codes; per-row string work cost more than reading the file)."""
    codes, uniques = pd.factorize(series.reset_index(drop=True), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype("string").str.strip()
    text = text.mask(text == "", pd.NA)
    by_text = {str(k).strip(): v for k, v in value_map.items()}
    out = text.map(by_text)
    numeric_map = {n: v for k, v in value_map.items() if (n := _numeric_key(k)) is not None}
    if numeric_map:
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
        out = out.where(out.notna(), numbers.map(numeric_map))
    bad_codes = np.flatnonzero((text.notna() & out.isna()).to_numpy())
    if len(bad_codes):
        pos = np.flatnonzero(np.isin(codes, bad_codes))
        known = ", ".join(map(str, value_map))
        S.fail_at(table, S.TableSchema(name="flat", columns=()), pos, column,
                f"value {text.iloc[codes[pos[0]]]!r} has no entry in the mapping for {target} "
                f"(known: {known})")
    mapped = np.append(out.astype("object").where(out.notna(), None).to_numpy(), None)
    return pd.Series(mapped[codes], index=series.index, dtype=object)  # code -1: missing


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    return table[name].reset_index(drop=True)


MIN_PRESENT = 2  # mapped input columns a file must hold (when its mapping names 3 or more)


def check_mapped_present(table: pd.DataFrame, mapping: FlatMapping) -> None:
    """A file holding none or one of the input columns its mapping names is an error (wrong
    file, wrong mapping, or a wrong delimiter made one column of all), not a warning: its
    patients would all get nearly the same prediction. A hospital export with a few of the
    columns is still scored (absent inputs are NaN, with one warning)."""
    names = list(dict.fromkeys([*mapping.columns.values(), *mapping.features,
                                *(c for c in (mapping.regimen_column, mapping.cohort_column)
                                  if c)]))
    names = [n for n in names if n != mapping.id_column]
    if len(names) < 3:
        return
    present = [n for n in names if n in table.columns]
    if len(present) < MIN_PRESENT:
        absent = [n for n in names if n not in table.columns]
        shown = ", ".join(repr(n) for n in absent[:5]) + (", ..." if len(absent) > 5 else "")
        raise InputError(f"only {len(present)} of the {len(names)} input columns the mapping "
                         f"names are in the file (absent: {shown}); wrong file, mapping or "
                         "delimiter?", file=table.attrs.get("source"), column=absent[0])


def apply_mapping(table: pd.DataFrame, mapping: FlatMapping | None) -> dict[str, pd.DataFrame]:
    """``clinical`` (and ``outcomes`` when the file has any) tables, ``patient_id`` a column."""
    if mapping is None:
        return _split_schema_named(table)
    source = table.attrs.get("source")
    if mapping.id_column in table.columns:
        ids = _column(table, mapping.id_column).astype("string")
    else:  # a file without the id column (e.g. from another hospital): rows numbered from 1
        logging.getLogger(__name__).warning(
            "%s: no patient id column %r; patients are numbered by row (1, 2, ...)",
            source or "flat table", mapping.id_column)
        ids = pd.Series([str(i) for i in range(1, len(table) + 1)], dtype="string")
    check_mapped_present(table, mapping)
    clinical = pd.DataFrame({"patient_id": ids})
    for name, src in mapping.columns.items():
        if src not in table.columns:
            if S.CLINICAL.column(name).required and name not in mapping.constants:
                raise InputError(f"missing column {src!r} (mapped to {name})", file=source,
                                 column=src)
            continue
        values = _column(table, src)
        if name in mapping.value_maps:
            values = map_values(values, mapping.value_maps[name], table, src, name)
        clinical[name] = values
    if mapping.regimen_column and mapping.regimen_column in table.columns:
        values = _column(table, mapping.regimen_column)
        if mapping.regimen_map:
            values = map_values(values, mapping.regimen_map, table, mapping.regimen_column,
                                "regimen")
        clinical["regimen"] = pd.Series(values, dtype="string").str.lower()
    if mapping.cohort_column and mapping.cohort_column in table.columns:
        clinical["cohort"] = _column(table, mapping.cohort_column).astype("string")
    for name, value in mapping.constants.items():
        if name not in clinical.columns:
            clinical[name] = value.strip() if isinstance(value, str) else value
    for src in mapping.features:
        if src in table.columns and src not in clinical.columns:
            clinical[src] = _column(table, src)
    clinical = numeric_extras(clinical)
    clinical.attrs["source_columns"] = {"patient_id": mapping.id_column, **mapping.columns}
    if mapping.regimen_column:
        clinical.attrs["source_columns"]["regimen"] = mapping.regimen_column
    tables = {"clinical": schema_first(clinical)}
    present = {n: s for n, s in mapping.outcomes.items()
               if s in table.columns and outcomes_wanted()}
    if present:
        outcomes = pd.DataFrame({"patient_id": clinical["patient_id"]})
        for name, src in present.items():
            values = _column(table, src)
            if name in mapping.value_maps:
                values = map_values(values, mapping.value_maps[name], table, src, name)
            outcomes[name] = values
        outcomes.attrs["source_columns"] = {"patient_id": mapping.id_column, **present}
        tables["outcomes"] = outcomes
    return tables


def _split_schema_named(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A table already in schema names: outcome columns apart, the rest clinical."""
    outcome_cols = [c for c in table.columns if c in OUTCOME_NAMES]
    if not outcomes_wanted():  # prediction: outcome columns are dropped unread
        table = table.drop(columns=outcome_cols)
        outcome_cols = []
    if outcome_cols or not _default_index(table):
        clinical = table.drop(columns=outcome_cols).reset_index(drop=True)
    else:  # a reader's frame: a shallow copy, whose columns are replaced, never written into
        clinical = table.copy(deep=False)  # (drop and reset_index copied every column)
    if "patient_id" not in clinical.columns:
        names = [str(c) for c in table.columns]
        hint = ("; this looks like a file of a cBioPortal study: pass the study folder"
                if "PATIENT_ID" in names or (names and names[0].startswith("#")) else "")
        raise InputError("missing column 'patient_id' (flat files in other column names need "
                         "a column mapping: --mapping, or data.mapping for predictor-train)"
                         f"{hint}", file=table.attrs.get("source"),
                         column="patient_id")
    clinical["patient_id"] = clinical["patient_id"].astype("string")
    clinical = numeric_extras(clinical)
    tables = {"clinical": clinical}
    if outcome_cols:
        tables["outcomes"] = table[["patient_id", *outcome_cols]].reset_index(drop=True)
    return tables


def _default_index(table: pd.DataFrame) -> bool:
    """Whether ``table``'s index is what ``reset_index(drop=True)`` would give it."""
    index = table.index
    return (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            and index.name is None)


def numeric_extras(table: pd.DataFrame, skip: list[str] | None = None) -> pd.DataFrame:
    """``table`` with its columns beyond the schema float64 when every value parses, else
    text (a new frame, same column order and attrs; callers use the returned frame)."""
    skip = set(S.CLINICAL.names if skip is None else skip)
    bare = table.copy(deep=False)
    bare.attrs = {}  # pandas deep-copies attrs into every column it hands out
    columns: list[pd.Series] = []
    changed = False
    for name, col in bare.items():
        if name in skip or col.dtype == "float64":
            columns.append(col)
            continue
        changed = True
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            columns.append(col.astype("float64"))
            continue
        text = col.astype("string").str.strip()
        text = text.mask(text == "", pd.NA)
        numbers = pd.to_numeric(text, errors="coerce")
        columns.append(numbers.astype("float64")  # all-missing -> NaN floats
                       if bool((numbers.notna() == text.notna()).all()) else text)
    # One concat (or none): setting 10,000 columns one by one is quadratic in the columns.
    out = pd.concat(columns, axis=1) if changed and columns else bare
    out.columns = table.columns
    out.attrs = dict(table.attrs)
    return out


def schema_first(clinical: pd.DataFrame) -> pd.DataFrame:
    """Schema columns first (in schema order), then the extra columns in their file order."""
    names = [c for c in S.CLINICAL.names if c in clinical.columns]
    out = clinical[names + [c for c in clinical.columns if c not in names]]
    out.attrs = dict(clinical.attrs)
    return out


def unmap_cohort(cohort) -> pd.DataFrame:
    """One row per patient in schema names: clinical columns, then outcome columns."""
    flat = cohort.clinical.reset_index()
    if cohort.outcomes is not None:
        outcomes = cohort.outcomes.reindex(cohort.clinical.index).reset_index(drop=True)
        clash = [c for c in outcomes.columns if c in flat.columns]
        if clash:
            raise InputError(f"outcome column {clash[0]!r} is also a clinical column")
        flat = pd.concat([flat, outcomes], axis=1)
    return flat
