"""Benchmark: simulate + write a study, then read it back, at several cohort sizes.

Each measurement runs in a fresh Python subprocess, so the reported peak memory (``ru_maxrss``)
belongs to that step alone and not to whatever ran before it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 20261127


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _child(step: str, n: int, folder: str, expression: str = "small") -> dict:
    """Run one step in this process and return its measurements."""
    start = time.perf_counter()
    if step == "simulate":
        from predictor.data.simulator import simulate_study

        simulate_study(n, SEED, Path(folder), expression=expression)
        seconds = time.perf_counter() - start
        with open(Path(folder) / "data_mutations.txt", "rb") as handle:
            rows = sum(1 for _ in handle) - 1
    else:
        from predictor.data.readers import read_cohort

        cohort = read_cohort(Path(folder))
        seconds = time.perf_counter() - start
        rows = 0 if cohort.mutations is None else len(cohort.mutations)
    return {"seconds": seconds, "rows": rows, "peak_mb": _peak_mb()}


def _measure(step: str, n: int, folder: Path, expression: str) -> dict:
    code = ("import json, sys; from predictor.bench.simulate import _child; "
            "print(json.dumps(_child(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])))")
    done = subprocess.run([sys.executable, "-c", code, step, str(n), str(folder), expression],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {step} at {n} patients failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(sizes: list[int], expression: str = "small") -> None:
    """Print patients/s, MAF rows/s and peak memory of simulate+write and of read-back.

    ``expression`` is the simulated RNA-seq width (``small``, ``full`` or ``none``); the
    expression file is simulated, written and read back with the rest.
    """
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"predictor bench simulate, expression {expression} "
                        "(each step in a fresh process)")
    for col in ("patients", "MAF rows", "step", "seconds", "patients/s", "MAF rows/s",
                "peak RSS MB"):
        table.add_column(col, justify="right", no_wrap=True)
    console = Console(width=110)
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="predictor-bench-") as tmp:
            folder = Path(tmp) / "study"
            for step, label in (("simulate", "simulate+write"), ("read", "read back")):
                m = _measure(step, n, folder, expression)
                table.add_row(f"{n:,}", f"{m['rows']:,}", label, f"{m['seconds']:.1f}",
                              f"{n / m['seconds']:,.0f}", f"{m['rows'] / m['seconds']:,.0f}",
                              f"{m['peak_mb']:,.0f}")
        console.print(f"done: {n:,} patients")
    console.print(table)
