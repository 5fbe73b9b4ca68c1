"""cBioPortal study folders <-> :class:`Cohort` (format in docs/ARCHITECTURE.md).

Reading maps the cBioPortal attributes we understand to schema columns, keeps every other
attribute (lower-cased) as an extra clinical column, and routes outcome-like attributes
(``DFS_STATUS``, ``OUTCOME_*``, ...) to the outcomes table so they can never become model
inputs. Writing is
atomic: the study is built in a temporary folder next to ``out_dir`` and renamed at the end.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from predictor.data import schema as S
from predictor.data.cohort import Cohort, outcomes_wanted
from predictor.data.expression_io import (
    find_expression_profile,
    read_expression_table,
    write_expression_profile,
    zscore_profiles,
)
from predictor.data.lines import physical_line
from predictor.data.mappings import numeric_extras, schema_first
from predictor.data.tables import CBIO_NULL_VALUES, read_arrow, read_delimited, write_delimited
from predictor.errors import InputError
from predictor.files import occupied, temp_dir_beside

log = logging.getLogger(__name__)

PATIENT_FILE = "data_clinical_patient.txt"
SAMPLE_FILE = "data_clinical_sample.txt"
MUTATION_FILE = "data_mutations.txt"
CNA_FILE = "data_cna.txt"
SEG_FILE = "data_cna.seg"
PANEL_FILE = "data_gene_panel_matrix.txt"
EXTRA_FILES = {"tme": "data_tme.txt", "clones": "data_clones.txt", "ctdna": "data_ctdna.txt"}

# cBioPortal attribute -> clinical schema column (first listed wins when several are present).
PATIENT_ATTRIBUTES = {
    "PATIENT_ID": "patient_id",
    "CANCER_TYPE": "cancer_type",
    "REGIMEN": "regimen",
    "LINE_OF_THERAPY": "line_of_therapy",
    "LINES_OF_TX": "line_of_therapy",
    "PRIOR_SYSTEMIC_THERAPY": "prior_systemic_therapy",
    "AGE": "age",
    "SEX": "sex",
    "NLR": "nlr",
    "ALBUMIN": "albumin",
    "COHORT": "cohort",
}
OUTCOME_ATTRIBUTES = {
    "BEST_RESPONSE": "best_response",
    "RESPONDER": "responder",
    "DURABLE_CLINICAL_BENEFIT": "responder",
    "PFS_MONTHS": "pfs_months",
    "PFS_STATUS": "pfs_event",
    "OS_MONTHS": "os_months",
    "OS_STATUS": "os_event",
}
SAMPLE_ATTRIBUTES = {
    "SAMPLE_ID": "sample_id",
    "PATIENT_ID": "patient_id",
    "GENE_PANEL": "panel",
    "TUMOR_PURITY": "purity",
    "PLOIDY": "ploidy",
}
# Attributes that describe what happened after treatment: kept with the outcomes, never inputs.
OUTCOME_LIKE = re.compile(
    r"^(OS|PFS|DFS|DSS|RFS|EFS|TTP|TTF|PFI|DFI|DMFS)_|RESPONSE|RESPONDER|BENEFIT|VITAL_STATUS"
    r"|RECURRENCE|RELAPSE|PROGRESSION|DEATH|SURVIVAL",
    re.IGNORECASE,
)
# Written before other outcome columns so that reading them back keeps them outcomes.
OUTCOME_PREFIX = "OUTCOME_"
STATUS_WORDS = {
    "LIVING": 0, "ALIVE": 0, "CENSORED": 0, "NOT PROGRESSED": 0, "NO PROGRESSION": 0,
    "DISEASEFREE": 0, "DISEASE FREE": 0,
    "DECEASED": 1, "DEAD": 1, "PROGRESSION": 1, "PROGRESSED": 1, "RECURRED": 1,
    "RECURRED/PROGRESSED": 1, "EVENT": 1,
}
YES_NO = {"YES": 1, "Y": 1, "TRUE": 1, "1": 1, "NO": 0, "N": 0, "FALSE": 0, "0": 0,
          "NE": None, "NA": None, "NOT EVALUABLE": None}
# Binary clinical columns read from YES/NO (also Y/N, TRUE/FALSE, 1/0; NE/NA -> missing).
YES_NO_CLINICAL = ("prior_systemic_therapy",)
CLINICAL_NUMERIC = [c.name for c in S.CLINICAL.columns if c.dtype != "str"]
MAF_NUMERIC = ("t_ref_count", "t_alt_count", "n_ref_count", "n_alt_count", "ccf", "t_depth",
               "n_depth", "Start_Position", "End_Position")
SEG_COLUMNS = {"ID": "sample_id", "chrom": "chrom", "loc.start": "start", "loc.end": "end",
               "num.mark": "num_mark", "seg.mean": "seg_mean"}


# ============================================================================ reading
def read_cbioportal(folder: Path, *, panel_sizes: dict | None = None) -> Cohort:
    """Read a cBioPortal study folder (clinical, MAF, CNA, segments, panels, expression, our
    extras). The expression profile is found through its meta file (see
    :func:`predictor.data.expression_io.find_expression_profile`).

    ``panel_sizes`` ({panel id: megabases}) is stored in ``cohort.meta["panel_sizes"]`` for the
    TMB features.
    """
    folder = Path(folder)
    if not folder.exists():
        raise InputError("no such file or folder", file=folder)
    if not folder.is_dir():
        raise InputError("expected a cBioPortal study folder", file=folder)
    study = read_meta(folder / "meta_study.txt") if (folder / "meta_study.txt").exists() else {}
    patient_path, sample_path = folder / PATIENT_FILE, folder / SAMPLE_FILE
    if not patient_path.exists() and not sample_path.exists():
        raise InputError(f"not a cBioPortal study: no {PATIENT_FILE} or {SAMPLE_FILE}",
                         file=folder)
    patients = _read_clinical(patient_path) if patient_path.exists() else None
    samples_raw = _read_clinical(sample_path) if sample_path.exists() else None
    if patients is None:
        patients = _patients_from_samples(samples_raw)
    if not len(patients):
        raise InputError("no patients (only a header)", file=patients.attrs.get("source"))
    clinical, outcomes = _split_patients(patients)
    samples = None
    if samples_raw is not None:
        samples, sample_extras = _split_samples(samples_raw)
        clinical = _add_sample_attributes(clinical, sample_extras)
        panel_path = folder / PANEL_FILE
        if panel_path.exists():
            samples = _panels_from_matrix(samples, panel_path)
    if "cancer_type" not in clinical.columns or clinical["cancer_type"].isna().any():
        clinical = _fill_cancer_type(clinical, study)
    clinical = numeric_extras(clinical)
    clinical = schema_first(clinical)
    tables: dict = {"clinical": clinical, "samples": samples, "outcomes": outcomes}
    maf = _find_mutation_file(folder)
    if maf is not None:
        tables["mutations"] = read_maf(maf)
    if (folder / CNA_FILE).exists():
        tables["cna"] = read_cna(folder / CNA_FILE)
    seg = segment_file(folder, study)
    if seg is not None:
        tables["segments"] = read_segments(seg)
    for name, filename in EXTRA_FILES.items():
        if (folder / filename).exists():
            tables[name] = read_delimited(folder / filename, numeric=_numeric_columns(name))
    metas = _metas(folder)
    profile = find_expression_profile(folder, metas)
    if profile is not None:
        tables["expression"] = read_expression_table(profile[0], profile[1])
    meta: dict = {"study": study, "source": str(folder)}
    if profile is not None and zscore_profiles(metas):
        meta["expression_ignored"] = zscore_profiles(metas)
    if panel_sizes:
        meta["panel_sizes"] = {str(k): float(v) for k, v in panel_sizes.items()}
    name = study.get("cancer_study_identifier") or folder.name
    return Cohort.from_tables(**tables, name=name, meta=meta)


GENOME_ALIASES = {"grch37": "hg19", "grch38": "hg38", "hg19": "hg19", "hg38": "hg38",
                  "grcm38": "mm10", "mm10": "mm10"}


def segment_file(folder: Path, study: dict[str, str]) -> Path | None:
    """The ``.seg`` file to read: a study usually ships one per genome build (cBioPortal's
    ``data_cna_hg19.seg`` / ``data_cna_hg38.seg``), the same samples twice, so exactly one is
    read: the one whose build (its meta file's ``reference_genome_id``, else its name) is the
    study's ``reference_genome`` (cBioPortal's default: hg19). Several files of that build are
    refused rather than guessed; when no file has it, the first is read with a warning."""
    files = sorted(p for p in folder.glob("*.seg") if p.is_file())
    if len(files) <= 1:
        return files[0] if files else None
    wanted = _genome(study.get("reference_genome")) or "hg19"
    builds = _segment_builds(folder)
    matching = [p for p in files if (builds.get(p.name) or _genome_in_name(p.name)) == wanted]
    if len(matching) == 1:
        return matching[0]
    if matching:
        raise InputError(f"several .seg files for genome {wanted}: "
                         f"{', '.join(p.name for p in matching)} (keep one)", file=folder)
    log.warning("%s: no .seg file for the study's genome %s among %s; reading %s", folder,
                wanted, ", ".join(p.name for p in files), files[0].name)
    return files[0]


def _metas(folder: Path) -> dict[Path, dict[str, str]]:
    """Every data meta file of the study (not ``meta_study.txt``), parsed."""
    return {path: read_meta(path) for path in sorted(folder.glob("meta_*.txt"))
            if path.name != "meta_study.txt"}


def _segment_builds(folder: Path) -> dict[str, str]:
    """``data_filename`` -> genome build, from the folder's SEG meta files."""
    builds: dict[str, str] = {}
    for path in sorted(folder.glob("meta_*.txt")):
        meta = read_meta(path)
        if meta.get("datatype", "").upper() == "SEG" and meta.get("data_filename"):
            build = _genome(meta.get("reference_genome_id"))
            if build:
                builds[meta["data_filename"]] = build
    return builds


def _genome(name: str | None) -> str | None:
    return GENOME_ALIASES.get(str(name or "").strip().lower()) if name else None


def _genome_in_name(filename: str) -> str | None:
    """The build a file name spells (``data_cna_hg38.seg`` -> hg38), if any."""
    found = {GENOME_ALIASES[m.lower()] for m in
             re.findall(r"(?i)(grch3[78]|hg19|hg38|grcm38|mm10)", filename)}
    return found.pop() if len(found) == 1 else None


def read_meta(path: Path) -> dict[str, str]:
    """A cBioPortal ``key: value`` meta file as a dict."""
    meta: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise InputError("expected 'key: value'", file=path, line=number)
        meta[key.strip()] = value.strip()
    return meta


def _numeric_columns(table: str) -> list[str]:
    return [c.name for c in S.SCHEMAS[table].columns if c.dtype != "str"]


def _read_clinical(path: Path) -> pd.DataFrame:
    df = read_delimited(path, null_values=CBIO_NULL_VALUES)
    df.columns = [c.upper() for c in df.columns]
    if len(set(df.columns)) != len(df.columns):
        raise InputError("duplicate attribute names (case-insensitive) in the header",
                         file=path)
    return df


def _patients_from_samples(samples: pd.DataFrame) -> pd.DataFrame:
    """Studies without a patient file: one patient per distinct PATIENT_ID of the samples."""
    if "PATIENT_ID" not in samples.columns:
        raise InputError("missing required column 'PATIENT_ID'",
                         file=samples.attrs.get("source"), column="PATIENT_ID")
    out = pd.DataFrame({"PATIENT_ID": pd.unique(samples["PATIENT_ID"].dropna())})
    out.attrs = {"source": samples.attrs.get("source")}
    return out


def _rename_first(df: pd.DataFrame, attributes: dict[str, str]) -> tuple[dict, list[str]]:
    """Schema column -> source attribute (first alias present wins) and the unmapped rest."""
    chosen: dict[str, str] = {}
    for attr, name in attributes.items():
        if attr in df.columns and name not in chosen:
            chosen[name] = attr
    used = set(chosen.values())
    return chosen, [c for c in df.columns if c not in used]


def _split_patients(patients: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Patient file -> clinical table (inputs) and outcomes table (never inputs)."""
    attrs = dict(patients.attrs)
    if "PATIENT_ID" not in patients.columns:
        raise InputError("missing required column 'PATIENT_ID'", file=attrs.get("source"),
                         column="PATIENT_ID")
    clinical_cols, rest = _rename_first(patients, PATIENT_ATTRIBUTES)
    outcome_cols, rest = _rename_first(patients[rest], OUTCOME_ATTRIBUTES)
    clinical = pd.DataFrame({name: patients[attr] for name, attr in clinical_cols.items()})
    for name in YES_NO_CLINICAL:  # cBioPortal studies spell binary attributes YES/NO
        if name in clinical.columns:
            clinical[name] = _codes(patients, clinical_cols[name], YES_NO, status=False)
    wanted = outcomes_wanted()  # prediction neither parses nor checks outcome columns
    outcome_values = {"patient_id": patients["PATIENT_ID"]}
    if wanted:
        outcome_values.update((name, _outcome_values(patients, attr))
                              for name, attr in outcome_cols.items())
    extras = {}  # collected, then joined once: column-by-column inserts are quadratic
    for attr in rest:
        if attr == "PATIENT_ID":
            continue
        if attr.startswith(OUTCOME_PREFIX):
            outcome_values[attr[len(OUTCOME_PREFIX):].lower()] = patients[attr]
        elif OUTCOME_LIKE.search(attr):
            outcome_values[attr.lower()] = patients[attr]
        else:
            extras[attr.lower()] = patients[attr]
    if extras:
        extra = pd.DataFrame(extras, index=patients.index)
        clinical = pd.concat([clinical.drop(columns=[c for c in extra.columns
                                                     if c in clinical.columns]), extra], axis=1)
    outcomes = pd.DataFrame(outcome_values if wanted else
                            {"patient_id": patients["PATIENT_ID"]})
    clinical.attrs = {**attrs, "source_columns": _source_names(clinical_cols, clinical)}
    outcomes.attrs = {**attrs, "source_columns": _source_names(outcome_cols, outcomes)}
    has_outcomes = len(outcomes.columns) > 1
    if has_outcomes:
        outcomes = numeric_extras(outcomes, skip=S.OUTCOMES.names)
    return clinical, (outcomes if has_outcomes else None)


def _source_names(mapped: dict[str, str], table: pd.DataFrame) -> dict[str, str]:
    """Schema/lower-cased column -> the file's attribute name, for error messages."""
    names = {c: c.upper() for c in table.columns}
    names.update(mapped)
    return names


def _outcome_values(df: pd.DataFrame, attr: str) -> pd.Series:
    """cBioPortal encodings -> schema values (``1:PROGRESSION`` -> 1, ``NE`` -> missing)."""
    col = df[attr]
    if attr.endswith("_STATUS"):
        return _codes(df, attr, STATUS_WORDS, status=True)
    if attr in ("DURABLE_CLINICAL_BENEFIT", "RESPONDER"):
        return _codes(df, attr, YES_NO, status=False)
    if attr == "BEST_RESPONSE":
        return col.astype("string").str.strip().str.upper()
    return col


def _codes(df: pd.DataFrame, attr: str, words: dict, *, status: bool) -> pd.Series:
    text = df[attr].astype("string").str.strip().str.upper()
    text = text.mask(text == "", pd.NA)
    if status:
        prefixed = text.str.extract(r"^([01])\s*:", expand=False)
        words = {**words, "0": 0, "1": 1}
        coded = prefixed.astype("Float64").where(prefixed.notna(), text.map(words))
    else:
        coded = text.map(words)
    known = text.isna() | text.isin([k for k, v in words.items() if v is None])
    if status:
        known = known | prefixed.notna()
    bad = (coded.isna() & ~known).to_numpy()
    if bad.any():
        pos = np.flatnonzero(bad)
        allowed = "0:..., 1:..." if status else "YES, NO, NE"
        S.fail_at(df, S.OUTCOMES, pos, attr,
                f"unknown value {df[attr].iloc[pos[0]]!r} (expected {allowed})")
    return pd.to_numeric(coded, errors="coerce").astype("Float64")


def _split_samples(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample file -> samples table and the other sample attributes (with ``patient_id``)."""
    attrs = dict(raw.attrs)
    for required in ("SAMPLE_ID", "PATIENT_ID"):
        if required not in raw.columns:
            raise InputError(f"missing required column {required!r}", file=attrs.get("source"),
                             column=required)
    cols, rest = _rename_first(raw, SAMPLE_ATTRIBUTES)
    samples = pd.DataFrame({name: raw[attr] for name, attr in cols.items()})
    samples.attrs = {**attrs, "source_columns": dict(cols)}
    extras = pd.DataFrame({"patient_id": raw["PATIENT_ID"].astype("string")})
    for attr in rest:
        extras[attr] = raw[attr]
    return samples, extras


def _add_sample_attributes(clinical: pd.DataFrame, extras: pd.DataFrame) -> pd.DataFrame:
    """Per-sample attributes become patient columns, from each patient's first sample."""
    if len(extras.columns) == 1:
        return clinical
    first = extras.drop_duplicates("patient_id", keep="first").set_index("patient_id")
    ids = clinical["patient_id"].astype("string")
    out = clinical.copy()
    out.attrs = dict(clinical.attrs)
    for attr in first.columns:
        values = first[attr].reindex(ids.to_numpy()).reset_index(drop=True)
        values.index = out.index
        if attr == "CANCER_TYPE":
            if "cancer_type" not in out.columns:
                out["cancer_type"] = values
            else:
                out["cancer_type"] = out["cancer_type"].fillna(values)
            continue
        name = attr.lower()
        if name not in out.columns and not OUTCOME_LIKE.search(attr):
            out[name] = values
    return out


def _fill_cancer_type(clinical: pd.DataFrame, study: dict) -> pd.DataFrame:
    """Cancer type from the sample's ONCOTREE_CODE, else from meta_study's type_of_cancer."""
    out = clinical
    if "cancer_type" not in out.columns:
        out["cancer_type"] = pd.Series(pd.NA, index=out.index, dtype="string")
    if "oncotree_code" in out.columns:
        out["cancer_type"] = out["cancer_type"].fillna(out["oncotree_code"])
    if study.get("type_of_cancer"):
        out["cancer_type"] = out["cancer_type"].fillna(study["type_of_cancer"])
    if out["cancer_type"].isna().all():
        raise InputError("no cancer type: add CANCER_TYPE (patient or sample attribute), "
                         "ONCOTREE_CODE, or type_of_cancer in meta_study.txt",
                         file=clinical.attrs.get("source"), column="CANCER_TYPE")
    return out


def _panels_from_matrix(samples: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Fill ``panel`` from the gene panel matrix's ``mutations`` column."""
    matrix = read_delimited(path)
    if "SAMPLE_ID" not in matrix.columns or "mutations" not in matrix.columns:
        return samples
    panel = pd.Series(matrix["mutations"].to_numpy(), index=matrix["SAMPLE_ID"].to_numpy())
    panel = panel[~panel.index.duplicated()]
    from_matrix = samples["sample_id"].astype("string").map(panel)
    out = samples.copy()
    out.attrs = dict(samples.attrs)
    if "panel" in out.columns:
        out["panel"] = out["panel"].fillna(from_matrix)
    else:
        out["panel"] = from_matrix.astype("string")
    return out


def _find_mutation_file(folder: Path) -> Path | None:
    candidates = sorted(folder.glob("data_mutations*.txt"))
    if not candidates:
        return None
    for meta in sorted(folder.glob("meta_mutations*.txt")):
        name = read_meta(meta).get("data_filename")
        if name and (folder / name).exists():
            return folder / name
    if len(candidates) > 1:
        log.warning("%s: several mutation files, reading %s", folder, candidates[0].name)
    return candidates[0]


def read_maf(path: Path) -> pd.DataFrame:
    """A MAF (``#version`` lines allowed); every column kept, counts numeric."""
    return read_delimited(path, numeric=MAF_NUMERIC)


CNA_TEXT_COLUMNS = ("Hugo_Symbol", "Entrez_Gene_Id", "Cytoband")


def read_cna(path: Path) -> pd.DataFrame:
    """Wide GISTIC table -> long ``sample_id, Hugo_Symbol, cna`` (missing values dropped).

    ``-1.5`` (hemizygous deletion, used by MSK studies) is read as ``-1`` (shallow loss).
    Sample columns are parsed by Arrow, so 100k samples stay fast.
    """
    table, first_line = read_arrow(path, text=CNA_TEXT_COLUMNS)
    if "Hugo_Symbol" not in table.column_names:
        raise InputError("missing required column 'Hugo_Symbol'", file=path, column="Hugo_Symbol")
    sample_cols = [c for c in table.column_names if c not in CNA_TEXT_COLUMNS]
    genes = pd.Series(table.column("Hugo_Symbol").to_pylist(), dtype="string").str.strip()
    if genes.isna().any():
        line = physical_line(path, first_line,
                             first_line + int(np.flatnonzero(genes.isna().to_numpy())[0]))
        raise InputError("value is missing", file=path, line=line, column="Hugo_Symbol")
    dup = genes.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(f"gene {genes.iloc[i]!r} appears twice", file=path,
                         line=physical_line(path, first_line, first_line + i),
                         column="Hugo_Symbol")
    values = np.empty((len(sample_cols), table.num_rows))  # samples x genes
    for j, name in enumerate(sample_cols):
        values[j] = _cna_numbers(table.column(name), path, first_line, name)
    values[values == -1.5] = -1  # cBioPortal's hemizygous deletion: a shallow loss
    bad = ~np.isnan(values) & ~np.isin(values, (-2, -1, 0, 1, 2))
    if bad.any():
        j, i = (int(k[0]) for k in np.nonzero(bad))
        raise InputError(f"discrete copy number must be -2, -1.5, -1, 0, 1 or 2, got "
                         f"{values[j, i]:g}", file=path,
                         line=physical_line(path, first_line, first_line + i),
                         column=sample_cols[j])
    sample_idx, gene_idx = np.nonzero(~np.isnan(values))
    long = pd.DataFrame({
        "sample_id": pd.array(np.asarray(sample_cols, dtype=object)[sample_idx], dtype="string"),
        "Hugo_Symbol": pd.array(genes.to_numpy(dtype=object)[gene_idx], dtype="string"),
        "cna": pd.array(values[sample_idx, gene_idx].astype("int64"), dtype="Int64"),
    })
    long.attrs["source"] = str(path)
    return long


def _cna_numbers(column: pa.ChunkedArray, path: Path, first_line: int, name: str) -> np.ndarray:
    """A CNA column as float64 (NaN = missing); a non-number names its line and sample."""
    if pa.types.is_floating(column.type):
        return column.to_numpy(zero_copy_only=False)
    text = pd.Series(column.to_pylist(), dtype="string")
    numbers = pd.to_numeric(text, errors="coerce")
    bad = (numbers.isna() & text.notna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"discrete copy number must be a number, got {text.iloc[i]!r}",
                         file=path, line=physical_line(path, first_line, first_line + i),
                         column=name)
    return numbers.to_numpy(dtype="float64", na_value=np.nan)


def read_segments(path: Path) -> pd.DataFrame:
    """A ``.seg`` file with schema column names."""
    df = read_delimited(path, numeric=("loc.start", "loc.end", "num.mark", "seg.mean"),
                        rename=SEG_COLUMNS)
    df.attrs["source_columns"] = {v: k for k, v in SEG_COLUMNS.items()}
    return df


# ============================================================================ writing
PATIENT_HEADER = {  # schema column -> (attribute, display name, datatype)
    "patient_id": ("PATIENT_ID", "Patient Identifier", "STRING"),
    "cancer_type": ("CANCER_TYPE", "Cancer Type", "STRING"),
    "regimen": ("REGIMEN", "Regimen", "STRING"),
    "line_of_therapy": ("LINE_OF_THERAPY", "Line of Therapy", "NUMBER"),
    "prior_systemic_therapy": ("PRIOR_SYSTEMIC_THERAPY", "Prior Systemic Therapy", "NUMBER"),
    "age": ("AGE", "Age", "NUMBER"),
    "sex": ("SEX", "Sex", "STRING"),
    "nlr": ("NLR", "Neutrophil-to-Lymphocyte Ratio", "NUMBER"),
    "albumin": ("ALBUMIN", "Albumin", "NUMBER"),
    "cohort": ("COHORT", "Cohort", "STRING"),
    "best_response": ("BEST_RESPONSE", "Best Overall Response", "STRING"),
    "responder": ("RESPONDER", "Responder", "NUMBER"),
    "pfs_months": ("PFS_MONTHS", "Progression Free Survival (Months)", "NUMBER"),
    "pfs_event": ("PFS_STATUS", "Progression Free Status", "STRING"),
    "os_months": ("OS_MONTHS", "Overall Survival (Months)", "NUMBER"),
    "os_event": ("OS_STATUS", "Overall Survival Status", "STRING"),
}
SAMPLE_HEADER = {
    "patient_id": ("PATIENT_ID", "Patient Identifier", "STRING"),
    "sample_id": ("SAMPLE_ID", "Sample Identifier", "STRING"),
    "panel": ("GENE_PANEL", "Gene Panel", "STRING"),
    "purity": ("TUMOR_PURITY", "Tumor Purity", "NUMBER"),
    "ploidy": ("PLOIDY", "Ploidy", "NUMBER"),
}
STATUS_LABELS = {"pfs_event": ("0:CENSORED", "1:PROGRESSION"),
                 "os_event": ("0:LIVING", "1:DECEASED")}


def write_cbioportal(
    cohort: Cohort,
    out_dir: Path,
    *,
    extra_files: dict[str, pd.DataFrame] | None = None,
) -> None:
    """Write ``cohort`` as a cBioPortal study folder, atomically; ``out_dir`` must be new/empty.

    ``extra_files`` ({file name: table}) are written as TSV next to the study (e.g. a
    simulator's ``ground_truth.tsv``); no reader loads them into a cohort. Expression is
    written as a cBioPortal profile: ``data_mrna_seq_tpm.txt`` + ``meta_mrna_seq_tpm.txt`` for
    TPM (RSEM, FPKM and unknown units get their own names, see ``expression_io.PROFILES``).

    The TME, clone and ctDNA tables (``data_tme.txt``, ``data_clones.txt``, ``data_ctdna.txt``)
    have no cBioPortal data type, so they get no meta file: cBioPortal's validator and importer
    only look at files a meta file names, so the study stays valid for them, and our reader
    finds these tables by file name.
    """
    out_dir = Path(out_dir)
    if occupied(out_dir):
        raise InputError("output folder exists and is not empty; choose a new folder",
                         file=out_dir)
    tmp = temp_dir_beside(out_dir)
    try:
        _write_study(cohort, tmp, extra_files or {})
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_study(cohort: Cohort, folder: Path, extra_files: dict[str, pd.DataFrame]) -> None:
    study_id = _study_id(cohort)
    _write_meta(folder / "meta_study.txt", _study_meta(cohort, study_id))
    patients = _patient_frame(cohort)
    _write_clinical(folder / PATIENT_FILE, patients, PATIENT_HEADER, n_header=4)
    _write_meta(folder / "meta_clinical_patient.txt", {
        "cancer_study_identifier": study_id, "genetic_alteration_type": "CLINICAL",
        "datatype": "PATIENT_ATTRIBUTES", "data_filename": PATIENT_FILE})
    samples = _sample_frame(cohort)
    _write_clinical(folder / SAMPLE_FILE, samples, SAMPLE_HEADER, n_header=5)
    _write_meta(folder / "meta_clinical_sample.txt", {
        "cancer_study_identifier": study_id, "genetic_alteration_type": "CLINICAL",
        "datatype": "SAMPLE_ATTRIBUTES", "data_filename": SAMPLE_FILE})
    if "panel" in samples.columns and samples["panel"].notna().any():
        matrix = pd.DataFrame({"SAMPLE_ID": samples["sample_id"], "mutations": samples["panel"]})
        _write_tsv(folder / PANEL_FILE, matrix)
        _write_meta(folder / "meta_gene_panel_matrix.txt", {
            "cancer_study_identifier": study_id, "genetic_alteration_type": "GENE_PANEL_MATRIX",
            "datatype": "GENE_PANEL_MATRIX", "data_filename": PANEL_FILE})
    if cohort.mutations is not None:
        _write_tsv(folder / MUTATION_FILE, cohort.mutations)
        _write_meta(folder / "meta_mutations.txt", {
            "cancer_study_identifier": study_id, "genetic_alteration_type": "MUTATION_EXTENDED",
            "datatype": "MAF", "stable_id": "mutations", "show_profile_in_analysis_tab": "true",
            "profile_name": "Mutations", "profile_description": "Somatic mutations.",
            "data_filename": MUTATION_FILE})
    if cohort.cna is not None:
        _write_tsv(folder / CNA_FILE, _wide_cna(cohort.cna))
        _write_meta(folder / "meta_cna.txt", {
            "cancer_study_identifier": study_id,
            "genetic_alteration_type": "COPY_NUMBER_ALTERATION", "datatype": "DISCRETE",
            "stable_id": "cna", "show_profile_in_analysis_tab": "true",
            "profile_name": "Putative copy-number alterations",
            "profile_description": "Discrete copy number (GISTIC).", "data_filename": CNA_FILE})
    if cohort.segments is not None:
        inverse = {v: k for k, v in SEG_COLUMNS.items()}
        _write_tsv(folder / SEG_FILE, cohort.segments.rename(columns=inverse))
        _write_meta(folder / "meta_cna_seg.txt", {
            "cancer_study_identifier": study_id,
            "genetic_alteration_type": "COPY_NUMBER_ALTERATION", "datatype": "SEG",
            "reference_genome_id": "hg19", "description": "Copy-number segments.",
            "data_filename": SEG_FILE})
    if cohort.expression is not None:
        write_expression_profile(cohort.expression, folder, study_id)
    for name, filename in EXTRA_FILES.items():  # read by name, so no meta file (see above)
        table = getattr(cohort, name)
        if table is not None:
            _write_tsv(folder / filename, table)
    for filename, table in extra_files.items():
        if Path(filename).name != filename or filename.startswith(("data_", "meta_")):
            raise InputError(f"extra file name {filename!r} must be a plain file name that "
                             "does not start with data_ or meta_")
        _write_tsv(folder / filename, table)


def _study_id(cohort: Cohort) -> str:
    study = cohort.meta.get("study", {}) if isinstance(cohort.meta, dict) else {}
    raw = study.get("cancer_study_identifier") or cohort.name or "cohort"
    return re.sub(r"[^A-Za-z0-9_]", "_", str(raw))


def _study_meta(cohort: Cohort, study_id: str) -> dict[str, str]:
    study = dict(cohort.meta.get("study", {})) if isinstance(cohort.meta, dict) else {}
    types = cohort.clinical["cancer_type"].dropna() if "cancer_type" in cohort.clinical else []
    common = types.mode().iloc[0] if len(types) and types.nunique() == 1 else "mixed"
    meta = {
        "type_of_cancer": str(common).lower().replace(" ", "_"),
        "cancer_study_identifier": study_id,
        "name": cohort.name,
        "description": f"{len(cohort)} patients written by predictor.",
    }
    meta.update({k: str(v) for k, v in study.items() if "\n" not in str(v)})
    meta["cancer_study_identifier"] = study_id
    return meta


def _write_meta(path: Path, meta: dict[str, str]) -> None:
    path.write_text("".join(f"{k}: {v}\n" for k, v in meta.items()))


def _write_tsv(path: Path, df: pd.DataFrame | pa.Table,
               header_lines: list[str] | None = None) -> None:
    with open(path, "wb") as handle:
        for line in header_lines or []:
            handle.write((line + "\n").encode())
        try:
            write_delimited(df, handle)
        except InputError as error:  # name the file being written (not the temporary folder)
            raise InputError(error.message, file=path.name, column=error.column) from None


def _patient_frame(cohort: Cohort) -> pd.DataFrame:
    """Clinical + outcomes in cBioPortal attribute names and encodings."""
    out = cohort.clinical.reset_index()
    if cohort.outcomes is not None:
        outcomes = cohort.outcomes.reindex(cohort.clinical.index).reset_index(drop=True)
        for name in outcomes.columns:
            values = outcomes[name]
            if name in STATUS_LABELS:
                zero, one = STATUS_LABELS[name]
                numbers = values.astype("Float64")
                values = pd.Series(pd.NA, index=values.index, dtype="string")
                values[(numbers == 0).fillna(False).to_numpy()] = zero
                values[(numbers == 1).fillna(False).to_numpy()] = one
            if name not in PATIENT_HEADER and not OUTCOME_LIKE.search(str(name)):
                name = OUTCOME_PREFIX.lower() + str(name)  # read back as an outcome
            if name in out.columns:
                raise InputError(f"outcome column {name!r} is also a clinical column")
            out[name] = values
    return out


def _sample_frame(cohort: Cohort) -> pd.DataFrame:
    samples = cohort.samples
    if samples is None:  # one sample per patient, named like the patient
        ids = cohort.clinical.index.astype("string")
        samples = pd.DataFrame({"sample_id": ids, "patient_id": ids})
    cols = ["patient_id", "sample_id"] + [c for c in samples.columns
                                          if c not in ("patient_id", "sample_id")]
    return samples[cols].reset_index(drop=True)


def _write_clinical(path: Path, df: pd.DataFrame, known: dict, n_header: int) -> None:
    """A clinical file with cBioPortal's ``#`` header lines (names, descriptions, types, ...)."""
    names, display, types = [], [], []
    for col in df.columns:
        if col in known:
            attr, label, dtype = known[col]
        else:
            attr = str(col).upper()
            label = str(col).replace("_", " ").title()
            dtype = "NUMBER" if pd.api.types.is_numeric_dtype(df[col]) else "STRING"
        names.append(attr)
        display.append(label)
        types.append(dtype)
    if len(set(names)) != len(names):
        raise InputError(f"two clinical columns would share an attribute name in {path.name}")
    header = ["#" + "\t".join(display), "#" + "\t".join(display), "#" + "\t".join(types)]
    if n_header == 5:  # the older sample format also states each attribute's level
        header.append("#" + "\t".join(["SAMPLE"] * len(names)))
    header.append("#" + "\t".join(["1"] * len(names)))
    renamed = df.copy()
    renamed.columns = names
    _write_tsv(path, renamed, header)


def _wide_cna(cna: pd.DataFrame) -> pa.Table:
    """Long CNA -> GISTIC wide table (``NA`` where a sample has no value for a gene)."""
    cna = cna[cna["cna"].notna()]
    genes = pd.Index(pd.unique(cna["Hugo_Symbol"].astype("string")))
    samples = pd.Index(pd.unique(cna["sample_id"].astype("string")))
    values = np.zeros((len(samples), len(genes)), dtype="int64")
    present = np.zeros(values.shape, dtype=bool)
    rows = samples.get_indexer(cna["sample_id"].astype("string"))
    cols = genes.get_indexer(cna["Hugo_Symbol"].astype("string"))
    values[rows, cols] = cna["cna"].astype("int64").to_numpy()
    present[rows, cols] = True
    arrays = [pa.array(list(genes), type=pa.string())]
    arrays += [pa.array(values[j], mask=~present[j]) for j in range(len(samples))]
    return pa.Table.from_arrays(arrays, names=["Hugo_Symbol", *map(str, samples)])
