"""Seconds to read + validate one 100k-row chunk of a flat file (``iter_flat_chunks``: Arrow
read, trim, pandas conversion, schema check, the cohort's tables), the shared per-row stage of
``predictor predict`` that both backends pay.

Why a script beside ``predictor bench predict``: the bench's per-stage numbers come from one
or two chunks on a machine others share; comparing two versions of the reader needs many runs
of this one stage, alternating the versions. Run it once per checkout, alternately:

    python experiments/read_validate_chunk.py --make /tmp/p100k.parquet   # once: bench data
    PYTHONPATH=/path/to/old/checkout python experiments/read_validate_chunk.py /tmp/p100k.parquet
    PYTHONPATH=/path/to/new/checkout python experiments/read_validate_chunk.py /tmp/p100k.parquet

``--make`` writes the bench's flat file (simulated clinical columns in schema names, tiled to
``--rows``; a ``.csv`` suffix writes CSV). Prints the median and minimum of ``--repeats`` reads.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--make", action="store_true", help="write the bench file first")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.make:
        from predictor.bench.predict import _flat_file

        parquet = args.path.with_suffix(".parquet")
        _flat_file(args.rows, parquet)
        if args.path.suffix.lower() == ".csv":
            import pandas as pd

            pd.read_parquet(parquet).to_csv(args.path, index=False)
            parquet.unlink()
        print(f"wrote {args.path}")
        return
    from predictor.data.readers import iter_flat_chunks

    logging.disable(logging.WARNING)
    next(iter_flat_chunks(args.path, None, 100))  # lazy imports and first calls: not per row
    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        cohort = next(iter_flat_chunks(args.path, None, args.rows))
        seconds.append(time.perf_counter() - started)
        del cohort
    print(f"read + validate of {args.rows} rows: median {statistics.median(seconds):.3f} s, "
          f"min {min(seconds):.3f} s ({args.repeats} runs)")


if __name__ == "__main__":
    main()
