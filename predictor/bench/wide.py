"""Benchmark: reading and validating very wide flat files (many pass-through columns).

Why: a 10,000-column file once took minutes because columns were converted one by one (each
step copying the frame). Reading must stay linear in the number of columns; this prints the
seconds per width so a regression shows as seconds growing faster than columns.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _write(path: Path, columns: int, rows: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, columns)).round(4),
                         columns=[f"f{i}" for i in range(columns)])
    frame.insert(0, "patient_id", [f"p{i}" for i in range(rows)])
    frame.insert(1, "cancer_type", "NSCLC")
    frame.to_csv(path, index=False)


def run(widths: list[int], rows: int = 40) -> list[dict]:
    """Seconds to read and validate (``predictor validate``'s work) each width."""
    from predictor.data.readers import describe_cohort, read_cohort

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for width in widths:
            path = Path(tmp) / f"wide_{width}.csv"
            _write(path, width, rows)
            start = time.perf_counter()
            describe_cohort(read_cohort(path))
            seconds = time.perf_counter() - start
            results.append({"columns": width, "rows": rows, "seconds": seconds})
            print(f"{width:>7} columns x {rows} rows: {seconds:6.2f} s "
                  f"({seconds / width * 1e3:.3f} ms per column)", flush=True)
    return results
