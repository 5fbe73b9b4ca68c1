"""Seconds per 100k-row chunk of the two shared per-row stages of ``predictor predict`` that
both backends pay, for the checkout on ``PYTHONPATH``, or for several checkouts alternately:

- ``read``: read + validate one chunk of a flat file (``iter_flat_chunks``: Arrow read, trim,
  pandas conversion, schema check, the cohort's tables);
- ``features``: ``transform`` of that chunk by the checkout's default feature pipeline
  (``conf/features/default.yaml``, all families, as ``predictor bench predict`` builds its
  bundles) fitted on a simulated cohort of ``--fit-patients`` (seed 0).

Why a script beside ``predictor bench predict``: the bench's per-stage numbers come from one
or two chunks on a machine others share; comparing two versions needs many repeats of one
stage, alternating the versions within one sitting. Wall time alone hides where time goes:
user and system CPU (``getrusage``) are printed too, so page faults (the kernel zero-filling a
newly allocated block) show as system time.

    python experiments/chunk_stages.py --make /tmp/p100k.parquet   # once: bench data
    python experiments/chunk_stages.py --make /tmp/p100k.csv       # the same rows as CSV
    python experiments/chunk_stages.py /tmp/p100k.parquet --checkouts OLD NEW --rounds 3

``--make`` writes the bench's flat file (simulated clinical columns in schema names, tiled to
``--rows``; a ``.csv`` suffix writes CSV). ``--checkouts`` runs this script once per checkout
per round (``PYTHONPATH`` set to it, in a fresh process) and prints each stage's median wall
seconds (and median CPU = user + system seconds) side by side with the ratios first/last;
without it, the checkout that ``import predictor`` finds is measured and its numbers printed
(``--json``: as one JSON line).

The script runs on older checkouts (down to 1b5f5bf, which has no ``predictor.resources``):
``_conf_dir`` finds ``conf/`` beside the measured package instead, the only shim.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

STAGES = ("read", "features")


def _conf_dir() -> Path:
    """The measured checkout's ``conf/``, found beside its package: 1b5f5bf has no
    ``predictor.resources``, and importing it there would silently load another checkout's
    module through an editable install's finder."""
    import predictor

    conf = Path(predictor.__file__).resolve().parent.parent / "conf"
    if not conf.is_dir():
        raise SystemExit(f"no conf/ beside {predictor.__file__}: measure a source checkout")
    return conf


def _one_checkout() -> Path:
    """The measured checkout, after checking that every loaded ``predictor`` module is its
    own (an editable install elsewhere would fill in modules the checkout lacks)."""
    import predictor

    root = Path(predictor.__file__).resolve().parent
    strays = [name for name, module in list(sys.modules.items())
              if name.startswith("predictor.") and getattr(module, "__file__", None)
              and root not in Path(module.__file__).resolve().parents]
    if strays:
        raise SystemExit(f"modules {strays[:3]} are not from {root}: set PYTHONPATH")
    return root.parent


def _pipeline(fit_patients: int):
    """The checkout's default feature pipeline fitted on a simulated cohort (seed 0)."""
    import yaml

    from predictor.data.simulator import simulate_cohort
    from predictor.features.pipeline import build_feature_pipeline

    conf = _conf_dir()
    cfg = yaml.safe_load((conf / "features" / "default.yaml").read_text())
    cfg["families"]["mutation"]["gene_sets"] = str(conf / "knowledge" / "gene_sets.yaml")
    cfg["families"]["mechanism"]["knowledge_base"] = str(conf / "knowledge" / "drugs.yaml")
    cohort, _ = simulate_cohort(fit_patients, 0)
    return build_feature_pipeline(cfg).fit(cohort)


def _timed(fn) -> tuple[object, dict[str, float]]:
    """``fn()`` and its wall, user and system seconds."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return result, {"wall": wall, "user": after.ru_utime - before.ru_utime,
                    "sys": after.ru_stime - before.ru_stime,
                    "minflt": after.ru_minflt - before.ru_minflt}


def measure(path: Path, rows: int, repeats: int, fit_patients: int) -> dict:
    """Per stage: median and minimum wall seconds, median user/system seconds of ``repeats``."""
    from predictor.data.readers import iter_flat_chunks

    logging.disable(logging.WARNING)
    pipeline = _pipeline(fit_patients)
    pipeline.transform(next(iter_flat_chunks(path, None, 100)))  # lazy imports, first calls
    runs: dict[str, list[dict]] = {stage: [] for stage in STAGES}
    for _ in range(repeats):
        cohort, read = _timed(lambda: next(iter_flat_chunks(path, None, rows)))
        features, feat = _timed(lambda c=cohort: pipeline.transform(c))
        runs["read"].append(read)
        runs["features"].append(feat)
        del cohort, features
    out = {"checkout": str(_one_checkout()), "rows": rows,
           "repeats": repeats, "n_features": len(pipeline.feature_names_)}
    for stage, times in runs.items():
        out[stage] = {"median": statistics.median(t["wall"] for t in times),
                      "min": min(t["wall"] for t in times),
                      "user": statistics.median(t["user"] for t in times),
                      "sys": statistics.median(t["sys"] for t in times),
                      "minflt": statistics.median(t["minflt"] for t in times)}
    return out


def _print(result: dict) -> None:
    print(f"{result['checkout']}: {result['rows']} rows, {result['n_features']} features, "
          f"{result['repeats']} repeats")
    for stage in STAGES:
        s = result[stage]
        print(f"  {stage:9s} median {s['median']:.3f} s, min {s['min']:.3f} s "
              f"(user {s['user']:.3f} s, sys {s['sys']:.3f} s, "
              f"{s['minflt']:.0f} minor faults)")


def compare(path: Path, checkouts: list[Path], rounds: int, extra: list[str]) -> None:
    """Each checkout once per round, in a fresh process, alternating within the round."""
    for r in range(1, rounds + 1):
        results = []
        for checkout in checkouts:
            env = {**os.environ, "PYTHONPATH": str(checkout)}
            done = subprocess.run([sys.executable, __file__, str(path), "--json", *extra],
                                  env=env, check=True, capture_output=True, text=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        for stage in STAGES:
            first, last = results[0][stage], results[-1][stage]
            cells = [f"{res[stage]['median']:.3f} s (min {res[stage]['min']:.3f}, cpu "
                     f"{res[stage]['user'] + res[stage]['sys']:.3f}, sys {res[stage]['sys']:.3f})"
                     for res in results]
            cpu = (first["user"] + first["sys"]) / max(last["user"] + last["sys"], 1e-9)
            print(f"round {r} {path.suffix[1:]:7s} {stage:9s} " + " vs ".join(cells)
                  + f" = {first['median'] / last['median']:.2f}x wall, {cpu:.2f}x cpu")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--make", action="store_true", help="write the bench file first")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--fit-patients", type=int, default=2000)
    parser.add_argument("--checkouts", type=Path, nargs="+",
                        help="measure these checkouts alternately (ratio: first / last)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    if args.make:
        from predictor.bench.predict import _flat_file

        if args.path.suffix.lower() != ".csv":
            _flat_file(args.rows, args.path)
        else:  # via a Parquet file beside it that is removed again
            import pandas as pd

            parquet = args.path.with_name(args.path.name + ".tmp.parquet")
            _flat_file(args.rows, parquet)
            pd.read_parquet(parquet).to_csv(args.path, index=False)
            parquet.unlink()
        print(f"wrote {args.path}")
        return
    if args.checkouts:
        extra = ["--rows", str(args.rows), "--repeats", str(args.repeats),
                 "--fit-patients", str(args.fit_patients)]
        compare(args.path, args.checkouts, args.rounds, extra)
        return
    result = measure(args.path, args.rows, args.repeats, args.fit_patients)
    print(json.dumps(result)) if args.json else _print(result)


if __name__ == "__main__":
    main()
