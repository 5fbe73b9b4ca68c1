"""Hypothesis strategies shared by the property-based reader tests (tests/data and
tests/serving): fuzzed cells, tables of known and junk column names, and raw bytes."""

from __future__ import annotations

from hypothesis import strategies as st

FLAT_COLUMNS = ["patient_id", "cancer_type", "age", "sex", "nlr", "albumin", "regimen",
                "line_of_therapy", "prior_systemic_therapy", "cohort", "TMB", "platelets",
                "best_response", "responder", "pfs_months", "pfs_event", "os_months",
                "os_event"]

# Cells that have broken readers before, and plain ones so that some rows are valid.
CELLS = st.one_of(
    st.sampled_from(["", " ", "NA", "NaN", "nan", "None", "[Not Available]", "inf", "-inf",
                     "Infinity", "1e308", "-1e308", "1e-320", "0", "1", "-1", "2", "-2", "3.5",
                     "-3.5", "0.5", "1.5", "12", "1,5", "1;2", '"', '""', "'", "\\", "#",
                     "Male", "Female", "NSCLC", "Melanoma", "PR", "CR", "SD", "PD", "NE", "XX",
                     "YES", "NO", "1:PROGRESSION", "0:CENSORED", "0:LIVING", "1:DECEASED",
                     "P1", "P2", "P3", "P1-T1", "P2-T1", "EGFR", "TP53", "KRAS",
                     "Missense_Mutation", "Silent", "Frame_Shift_Del", "nivolumab",
                     "pembrolizumab", "é", "日本", "\u00a0", "\ufeff", "x" * 300]),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
)


def _table_text(columns: list[str], rows: list[list[str]], delimiter: str) -> str:
    width = len(columns)
    lines = [delimiter.join(columns)]
    lines += [delimiter.join((row + [""] * width)[:width]) for row in rows]
    return "\n".join(lines) + "\n"


def tables(column_pool: list[str], required: list[str], max_rows: int = 6):
    """Header (mostly known column names, sometimes junk) and rows of fuzzed cells."""
    name = st.one_of(st.sampled_from(column_pool), st.text(min_size=0, max_size=6))
    header = st.lists(name, min_size=0, max_size=len(column_pool) + 2).map(
        lambda cols: (required + cols) if cols and cols[0] != "" else cols)
    return header.flatmap(lambda cols: st.tuples(
        st.just(cols), st.lists(st.lists(CELLS, min_size=0, max_size=len(cols) + 1),
                                max_size=max_rows)))


def raw_bytes():
    return st.one_of(st.binary(max_size=200),
                     st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace")),
                     st.sampled_from([b"\xff\xfe", b"\xef\xbb\xbf", b"\x00\x00", b"\n\n\n"]))
