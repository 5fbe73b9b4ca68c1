"""Benchmark: write a genes x samples TPM profile and read it back (cBioPortal study).

The target is 20,000 genes x 1,000 samples in a few seconds. Each step runs in a fresh Python
subprocess, so the peak memory (``ru_maxrss``) is that step's own.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 20261201


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _child(step: str, genes: int, samples: int, folder: str) -> dict:
    """Write (``write``) or read (``read``) the study in this process; its measurements."""
    import numpy as np

    if step == "write":
        import pandas as pd

        from predictor.data.cbioportal import write_cbioportal
        from predictor.data.cohort import Cohort
        from predictor.data.expression import Expression

        rng = np.random.default_rng(SEED)
        values = rng.lognormal(1.0, 2.5, size=(genes, samples)).astype(np.float32)
        values[rng.random(values.shape) < 0.2] = 0.0
        values = np.round(values, 2)  # like a real TPM file: 2-3 significant digits
        ids = [f"S{j:05d}" for j in range(samples)]
        clinical = pd.DataFrame({"patient_id": ids, "cancer_type": "Melanoma"})
        cohort = Cohort.from_tables(clinical=clinical, name="bench_expression")
        cohort.expression = Expression(values, [f"G{i}" for i in range(genes)], ids, "tpm")
        start = time.perf_counter()
        write_cbioportal(cohort, Path(folder))
        seconds = time.perf_counter() - start
    else:
        from predictor.data.readers import read_cohort

        start = time.perf_counter()
        cohort = read_cohort(Path(folder))
        seconds = time.perf_counter() - start
        assert cohort.expression is not None and cohort.expression.shape == (genes, samples)
    size = (Path(folder) / "data_mrna_seq_tpm.txt").stat().st_size
    return {"seconds": seconds, "peak_mb": _peak_mb(), "file_mb": size / 2**20}


def _measure(step: str, genes: int, samples: int, folder: Path) -> dict:
    code = ("import json, sys; from predictor.bench.expression import _child; "
            "print(json.dumps(_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), "
            "sys.argv[4])))")
    done = subprocess.run([sys.executable, "-c", code, step, str(genes), str(samples),
                           str(folder)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {step} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(genes: int, sample_counts: list[int]) -> None:
    """Print seconds, cells/s and peak memory of writing and reading each profile size."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="predictor bench expression (each step in a fresh process)")
    for col in ("genes", "samples", "file MB", "step", "seconds", "M cells/s", "peak RSS MB"):
        table.add_column(col, justify="right")
    for samples in sample_counts:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "study"
            for step in ("write", "read"):
                m = _measure(step, genes, samples, folder)
                table.add_row(f"{genes:,}", f"{samples:,}", f"{m['file_mb']:.0f}", step,
                              f"{m['seconds']:.2f}",
                              f"{genes * samples / m['seconds'] / 1e6:.1f}",
                              f"{m['peak_mb']:.0f}")
    Console().print(table)
