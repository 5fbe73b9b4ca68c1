"""``predictor bench features``: MAF rows/s, patients/s and peak memory of the feature build.

Why: feature engineering is the step that reads every MAF row, so it sets the throughput of
training and batch prediction. Target: 10M MAF rows (about 100k simulated patients) in under
60 s on 2 cores and under 4 GB. Each size simulates a cohort (not timed), then times
``fit`` and ``transform`` of the default pipeline separately; memory is the peak resident set
size sampled during the build.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

TARGET_SECONDS_PER_10M_ROWS = 60.0
TARGET_PEAK_GB = 4.0
TARGET_EXPRESSION_SECONDS = 30.0  # 10,000 samples x 20,000 genes


class PeakRSS:
    """Samples the process's resident set size in a thread; ``peak`` in bytes."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._process = psutil.Process()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    gc.collect()
    with PeakRSS() as mem:
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
    return result, elapsed, mem.peak


def measure(n_patients: int, seed: int = 0) -> dict:
    """Simulate ``n_patients`` and time the default pipeline's fit and transform on them."""
    from predictor.data.simulator import simulate_cohort
    from predictor.features.pipeline import build_feature_pipeline
    from predictor.resources import config_dir

    cohort, _ = simulate_cohort(n_patients, seed)
    cohort = cohort.without_outcomes()
    rows = 0 if cohort.mutations is None else len(cohort.mutations)
    import yaml

    with open(config_dir() / "features" / "default.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    base_rss = psutil.Process().memory_info().rss
    pipeline, fit_s, fit_peak = _timed(lambda: build_feature_pipeline(**config).fit(cohort))
    X, transform_s, transform_peak = _timed(lambda: pipeline.transform(cohort))
    return {
        "patients": n_patients,
        "maf_rows": rows,
        "features": X.shape[1],
        "fit_s": fit_s,
        "transform_s": transform_s,
        "rows_per_s": rows / transform_s if transform_s > 0 else float("inf"),
        "patients_per_s": n_patients / transform_s if transform_s > 0 else float("inf"),
        "input_gb": base_rss / 1e9,
        "peak_gb": max(fit_peak, transform_peak) / 1e9,
    }


def run(sizes: list[int]) -> None:
    """Print one line per cohort size and whether the 10M-rows/60 s and 4 GB targets hold."""
    print(f"{'patients':>9} {'MAF rows':>11} {'feats':>5} {'fit s':>7} {'transf s':>8} "
          f"{'rows/s':>11} {'patients/s':>10} {'RSS in GB':>9} {'peak GB':>7}")
    for n in sizes:
        r = measure(n)
        print(f"{r['patients']:>9} {r['maf_rows']:>11,} {r['features']:>5} {r['fit_s']:>7.2f} "
              f"{r['transform_s']:>8.2f} {r['rows_per_s']:>11,.0f} {r['patients_per_s']:>10,.0f} "
              f"{r['input_gb']:>9.2f} {r['peak_gb']:>7.2f}")
        if r["maf_rows"]:
            per_10m = max(r["fit_s"], r["transform_s"]) * 1e7 / r["maf_rows"]
            ok = per_10m < TARGET_SECONDS_PER_10M_ROWS and r["peak_gb"] < TARGET_PEAK_GB
            print(f"          -> {per_10m:.1f} s per 10M MAF rows (target < "
                  f"{TARGET_SECONDS_PER_10M_ROWS:.0f} s), peak {r['peak_gb']:.2f} GB (target < "
                  f"{TARGET_PEAK_GB:.0f} GB): {'OK' if ok else 'MISSED'}")
        gc.collect()


def expression_cohort(n_samples: int, n_genes: int, seed: int = 0) -> Any:
    """A cohort of ``n_samples`` patients with a float32 TPM-like matrix (lognormal, a third of
    values 0 as in real RNA-seq) over ``n_genes`` genes that include every signature gene."""
    import numpy as np
    import pandas as pd

    from predictor.data.cohort import Cohort
    from predictor.data.expression import Expression
    from predictor.features.knowledge import load_expression_signatures

    library = load_expression_signatures()
    genes = sorted({g.split("|")[0] for s in library["signatures"].values() for g in s["genes"]})
    genes += [f"GENE{i}" for i in range(max(0, n_genes - len(genes)))]
    rng = np.random.default_rng(seed)
    values = np.empty((len(genes), n_samples), dtype=np.float32)
    for start in range(0, len(genes), 1000):  # in blocks: no float64 copy of the matrix
        block = rng.standard_normal((min(1000, len(genes) - start), n_samples),
                                    dtype=np.float32)
        block *= 2.0
        np.exp(block, out=block)
        block[rng.random(block.shape, dtype=np.float32) < 1 / 3] = 0.0
        values[start:start + len(block)] = block
    ids = [f"P{i}" for i in range(n_samples)]
    clinical = pd.DataFrame({"patient_id": ids, "cancer_type": "Melanoma"})
    return Cohort.from_tables(clinical=clinical,
                              expression=Expression(values, genes, ids, "tpm"))


def measure_expression(n_samples: int, n_genes: int, seed: int = 0) -> dict:
    """Time the expression family's fit and transform on a simulated matrix."""
    import yaml

    from predictor.features.pipeline import build_feature_pipeline
    from predictor.resources import config_dir

    cohort = expression_cohort(n_samples, n_genes, seed)
    with open(config_dir() / "features" / "default.yaml", encoding="utf-8") as handle:
        options = dict(yaml.safe_load(handle)["families"]["expression"])
    options["enabled"] = True
    base_rss = psutil.Process().memory_info().rss
    pipeline, fit_s, fit_peak = _timed(
        lambda: build_feature_pipeline(families={"expression": options}).fit(cohort))
    X, transform_s, transform_peak = _timed(lambda: pipeline.transform(cohort))
    return {"samples": n_samples, "genes": cohort.expression.shape[0], "features": X.shape[1],
            "fit_s": fit_s, "transform_s": transform_s, "input_gb": base_rss / 1e9,
            "peak_gb": max(fit_peak, transform_peak) / 1e9}


def run_expression(shape: str) -> None:
    """``shape`` is ``SAMPLESxGENES``; prints timings and whether the targets hold."""
    n_samples, n_genes = (int(x) for x in shape.lower().split("x"))
    r = measure_expression(n_samples, n_genes)
    print(f"{'samples':>8} {'genes':>6} {'feats':>5} {'fit s':>7} {'transf s':>8} "
          f"{'RSS in GB':>9} {'peak GB':>7}")
    print(f"{r['samples']:>8} {r['genes']:>6} {r['features']:>5} {r['fit_s']:>7.2f} "
          f"{r['transform_s']:>8.2f} {r['input_gb']:>9.2f} {r['peak_gb']:>7.2f}")
    scale = 1e4 * 2e4 / (r["samples"] * r["genes"])
    per_target = (r["fit_s"] + r["transform_s"]) * scale
    ok = per_target < TARGET_EXPRESSION_SECONDS and r["peak_gb"] < TARGET_PEAK_GB
    print(f"          -> fit + transform {per_target:.1f} s per 10,000 x 20,000 (target < "
          f"{TARGET_EXPRESSION_SECONDS:.0f} s), peak {r['peak_gb']:.2f} GB (target < "
          f"{TARGET_PEAK_GB:.0f} GB): {'OK' if ok else 'MISSED'}")


if __name__ == "__main__":  # pragma: no cover
    import sys

    run([int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "1000,10000").split(",")])
