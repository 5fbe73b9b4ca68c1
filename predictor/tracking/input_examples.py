"""The pyfunc's input example in the cohort file's own columns (``SAMPLE_ID``, ``Drug`` ...).

Built from the synthetic schema-named example (typical values, made-up ids; no real row) by
running the bundle's column mapping backwards: schema column -> source column, mapped values
-> their codes (``Male`` -> ``1``), regimen -> its drug code. So a user sees, in the MLflow
UI, a request shaped like a row of their file.
"""

from __future__ import annotations

import pandas as pd

from predictor.data.mappings import FlatMapping


def _inverse(value_map: dict) -> dict:
    inverse: dict = {}
    for code, value in value_map.items():
        inverse.setdefault(value, code)  # several codes may share a value: the first one
    return inverse


def source_example(schema_example: pd.DataFrame, mapping: FlatMapping,
                   numeric_ids: bool) -> pd.DataFrame:
    """``schema_example`` renamed and recoded into the mapping's source columns.

    ``numeric_ids``: the training file's ids are numbers (row ids such as Chowell's
    ``SAMPLE_ID``), so the example's ids are 1, 2, ... rather than ``example-1``.
    """
    n = len(schema_example)
    out: dict[str, list] = {
        mapping.id_column: [float(i + 1) for i in range(n)] if numeric_ids
        else list(schema_example["patient_id"])}
    for name, src in mapping.columns.items():
        if name not in schema_example.columns:
            continue
        values = list(schema_example[name])
        if name in mapping.value_maps:
            inverse = _inverse(mapping.value_maps[name])
            values = [inverse.get(v) for v in values]
        out[src] = values
    if mapping.regimen_column and "regimen" in schema_example.columns:
        inverse = _inverse(mapping.regimen_map)
        out[mapping.regimen_column] = [inverse.get(v) for v in schema_example["regimen"]]
    for src in mapping.features:
        if src in schema_example.columns:
            out[src] = list(schema_example[src])
    frame = pd.DataFrame(out)
    for column in frame.columns:  # codes are numbers: one float column (missing = NaN)
        numeric = pd.to_numeric(frame[column], errors="coerce")
        if column != mapping.id_column and numeric.notna().sum() == frame[column].notna().sum():
            frame[column] = numeric.astype("float64")
    return frame
