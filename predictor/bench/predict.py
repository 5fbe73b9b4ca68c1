"""``predictor bench predict``: compiled core vs ``lightgbm.Booster.predict``, and the CLI.

Why: the compiled core exists for speed, so its claims are measured, in one process, on the
same data: rows/s at 1 and 2 threads for batches of 1, 1,000 and ``rows`` rows, single-row
latency, and end-to-end ``predictor predict`` throughput on a ``rows``-row Parquet file with
``--backend compiled`` vs ``--backend lightgbm``. Targets: compiled >= 4x LightGBM at 2 threads
on large batches, single-row latency <= 20 us and >= 4x, end-to-end >= 2.5x, one patient's CLI
run <= 2x ``python -c "import numpy, pandas"`` (alternating runs). ``--bundle DIR --input
FILE`` measures a real bundle instead (target >= 1.5x end to end at 100k rows).

The end-to-end part runs on three bundles built from one simulated cohort: the issue's
"500-tree model" (both heads refit with exactly ``trees`` rounds) with trees only, the same with
the heads' default linear blend (its numpy part costs both backends alike), and the small bundle
the default training settings give (early stopping picks far fewer rounds).
When treelite and tl2cgen are installed (``pip install .[bench]``) a tl2cgen-compiled library of
the same model is measured too (2 threads, large batch); otherwise that row says it was skipped.
``quick=True`` uses at most 100,000 rows, fewer repeats and 2 inner folds (about 2 minutes).
At that size the CLI time is mostly start-up (imports, bundle load), so only the full 1M-row
run measures the end-to-end target.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

N_FEATURES = 40
N_TRAIN = 20_000
BATCHES = (1, 1_000)
TARGET_SPEEDUP = 4.0
TARGET_LATENCY_US = 20.0
TARGET_E2E = 2.5
TARGET_REAL = 1.5  # a real (small, early-stopped) bundle, 100k rows
TARGET_STARTUP = 2.0  # one patient: at most this many times `import numpy, pandas`
TARGET_LATENCY_RATIO = 4.0  # single row: compiled at least this much faster than LightGBM
STARTUP_ROWS = 100  # the CLI on this few rows measures its start-up


def synthetic(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """~40 numeric features (10% NaN, 4 categorical codes) and a binary label."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, N_FEATURES))
    X[:, -4:] = rng.integers(0, 8, size=(rows, 4))
    logit = X[:, :8] @ rng.normal(size=8) + np.sin(X[:, 8] * 2) + (X[:, -1] == 3)
    y = (logit + rng.normal(size=rows) > 0).astype(float)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, y


def train_model(trees: int, out: Path) -> Path:
    import lightgbm as lgb

    X, y = synthetic(N_TRAIN, seed=1)
    data = lgb.Dataset(X, y, categorical_feature=list(range(N_FEATURES - 4, N_FEATURES)))
    params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "verbose": -1,
              "num_threads": 2, "seed": 0, "deterministic": True}
    booster = lgb.train(params, data, num_boost_round=trees)
    path = out / "model.txt"
    booster.save_model(str(path))
    return path


def _rows_per_s(fn: Callable[[np.ndarray], object], X: np.ndarray, min_seconds: float,
                max_repeats: int) -> float:
    fn(X)  # warm-up (thread pools, caches)
    done, started = 0, time.perf_counter()
    while True:
        fn(X)
        done += 1
        elapsed = time.perf_counter() - started
        if done >= max_repeats or elapsed >= min_seconds:
            return done * len(X) / elapsed


def _latency_us(fn: Callable[[np.ndarray], object], row: np.ndarray, calls: int) -> float:
    for _ in range(100):
        fn(row)
    timings = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter()
        fn(row)
        timings[i] = time.perf_counter() - t0
    return float(np.median(timings) * 1e6)


def core_benchmark(rows: int, trees: int, work: Path, quick: bool = False) -> list[dict]:
    """Rows/s of both backends for each thread count and batch size."""
    from predictor.serving.compiled import LightGBMScorer, compile_booster, load_scorer

    model = train_model(trees, work)
    X, _ = synthetic(rows, seed=2)
    t0 = time.perf_counter()
    info = compile_booster(model, work / "compiled", X[:1000], name="bench")
    compile_s = time.perf_counter() - t0
    compiled = load_scorer(model, work / "compiled", "bench")
    lgbm = LightGBMScorer(model)
    diff = float(np.max(np.abs(compiled.raw_score(X[:100_000]) - lgbm.raw_score(X[:100_000]))))
    results = [{"what": "compile", "seconds": compile_s, "backend": info.backend,
                "max_abs_diff": diff}]
    for threads in (1, 2):
        for batch in (*BATCHES, rows):
            part = np.ascontiguousarray(X[:batch])
            big = batch >= 100_000
            reps = 2 if big else (500 if quick else 2000)
            min_s = 0.0 if big else (0.3 if quick else 1.0)
            speed = {}
            for name, scorer in (("compiled", compiled), ("lightgbm", lgbm)):
                def fn(data, s=scorer, t=threads):
                    return s.raw_score(data, n_jobs=t)
                speed[name] = _rows_per_s(fn, part, min_s, reps)
            results.append({"what": "throughput", "threads": threads, "batch": batch,
                            "compiled": speed["compiled"], "lightgbm": speed["lightgbm"]})
    row = np.ascontiguousarray(X[:1])
    calls = 1000 if quick else 5000
    results.append({"what": "latency",
                    "compiled": _latency_us(lambda d: compiled.raw_score(d, n_jobs=1), row, calls),
                    "lightgbm": _latency_us(lambda d: lgbm.raw_score(d, n_jobs=1), row, calls)})
    results.append(tl2cgen_benchmark(model, np.ascontiguousarray(X), lgbm, work))
    return results


def tl2cgen_benchmark(model: Path, X: np.ndarray, lgbm, work: Path, threads: int = 2) -> dict:
    """Rows/s of a tl2cgen-compiled library of the same model (``threads`` threads, batch
    ``X``) and its max |raw diff| vs LightGBM; ``skipped`` when treelite/tl2cgen are missing."""
    try:
        import tl2cgen
        import treelite
    except ImportError as error:
        return {"what": "tl2cgen", "skipped": f"not installed ({error.name}); "
                "pip install '.[bench]'"}
    t0 = time.perf_counter()
    tmodel = treelite.frontend.load_lightgbm_model(str(model))
    lib = work / "tl2cgen" / "model.so"
    lib.parent.mkdir(parents=True, exist_ok=True)
    tl2cgen.export_lib(tmodel, toolchain="gcc", libpath=str(lib),
                       params={"parallel_comp": 2 * threads}, nthread=threads)
    compile_s = time.perf_counter() - t0
    predictor = tl2cgen.Predictor(str(lib), nthread=threads)

    def fn(data: np.ndarray) -> np.ndarray:
        return np.asarray(predictor.predict(tl2cgen.DMatrix(data, dtype="float64"),
                                            pred_margin=True)).reshape(len(data))

    probe = X[:100_000]
    diff = float(np.max(np.abs(fn(probe) - lgbm.raw_score(probe))))
    speed = _rows_per_s(fn, X, 0.0, 2)
    lgbm_speed = _rows_per_s(lambda d: lgbm.raw_score(d, n_jobs=threads), X, 0.0, 2)
    return {"what": "tl2cgen", "threads": threads, "batch": len(X), "rows_per_s": speed,
            "lightgbm": lgbm_speed, "max_abs_diff": diff, "compile_s": compile_s,
            "versions": f"treelite {treelite.__version__}, tl2cgen {tl2cgen.__version__}"}


def e2e_benchmark(rows: int, work: Path, trees: int = 500, quick: bool = False) -> dict | str:
    """Wall time of ``predictor predict`` on a ``rows``-row Parquet file, both backends, for
    bundles whose heads have ``trees`` trees each (trees only; with the linear blend) and for
    the default (early-stopped) bundle."""
    try:
        bundles = _bench_bundles(work, trees, quick)
    except ImportError as error:  # simulator or feature pipeline not available
        return f"skipped: {error}"
    flat = _flat_file(rows, work / "patients.parquet")
    tiny = _flat_file(STARTUP_ROWS, work / "tiny.parquet")
    one = _flat_file(1, work / "one.parquet")
    results: dict = {"startup": startup_benchmark(bundles["default"], one, work)}
    for label, bundle in bundles.items():
        times: dict = {"trees": bundle_trees(bundle)}
        for backend in ("compiled", "lightgbm"):
            times[backend] = _cli_seconds(bundle, flat, backend, work)
            # start-up (imports, bundle load) is paid once per run by either backend
            times[f"startup_{backend}"] = _cli_seconds(bundle, tiny, backend, work)
            times[f"stages_{backend}"] = stage_breakdown(
                bundle, flat, backend, max_rows=100_000 if quick else 200_000)
        results[label] = times
    return results


def _cli_seconds(bundle: Path, flat: Path, backend: str, work: Path) -> float:
    """Wall time of one ``predictor predict`` process on ``flat``."""
    out = work / f"pred_{backend}.parquet"
    seconds = _timed_predict(bundle, flat, out, backend)
    out.unlink(missing_ok=True)
    return seconds


def _timed_predict(bundle: Path, flat: Path, out: Path, backend: str, *extra: str) -> float:
    """Wall time of one ``predictor predict`` process writing ``out`` (``extra``: more
    options)."""
    cmd = [sys.executable, "-m", "predictor.cli", "predict", "--model", str(bundle),
           "--input", str(flat), "--output", str(out), "--backend", backend, *extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def startup_benchmark(bundle: Path, one: Path, work: Path, repeats: int = 5) -> dict:
    """Median wall time of ``predictor predict`` (compiled) on a one-patient file and of
    ``python -c "import numpy, pandas"``, run alternately so both see the same machine load."""
    base, cli = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy, pandas"], check=True)
        base.append(time.perf_counter() - t0)
        cli.append(_cli_seconds(bundle, one, "compiled", work))
    return {"numpy_pandas": float(np.median(base)), "cli": float(np.median(cli)),
            "repeats": repeats}


def real_bundle_benchmark(bundle: Path, source: Path, rows: int, work: Path,
                          repeats: int = 2) -> dict:
    """A real bundle on ``rows`` patients: ``source`` (a file in the bundle's input format)
    tiled to ``rows`` rows with fresh ids and without outcome columns. CLI wall time of both
    backends (alternating, best of ``repeats``), per-stage seconds, one-patient start-up."""
    import pandas as pd
    import yaml

    manifest = yaml.safe_load((bundle / "bundle.yaml").read_text())
    mapping = manifest.get("input_mapping") or {}
    id_column = mapping.get("id_column", "patient_id")
    parquet = source.suffix.lower() in (".parquet", ".pq")
    base = pd.read_parquet(source) if parquet else pd.read_csv(
        source, sep="\t" if source.suffix.lower() == ".tsv" else ",", dtype=str,
        keep_default_na=False)
    base = base.drop(columns=[c for c in (mapping.get("outcomes") or {}).values()
                              if c in base.columns])
    reps = -(-rows // len(base))
    flat = pd.concat([base] * reps, ignore_index=True).iloc[:rows]
    flat[id_column] = [f"R{i:08d}" for i in range(rows)]
    suffix = ".parquet" if parquet else ".csv"
    big, one = work / f"real{suffix}", work / f"real_one{suffix}"
    for frame, path in ((flat, big), (flat.iloc[:1], one)):
        frame.to_parquet(path, index=False) if parquet else frame.to_csv(path, index=False)
    times: dict = {"trees": bundle_trees(bundle), "rows": rows, "startup_rows": 1}
    for backend in ("compiled", "lightgbm"):
        times[backend] = float("inf")
    for _ in range(repeats):
        for backend in ("compiled", "lightgbm"):
            times[backend] = min(times[backend], _cli_seconds(bundle, big, backend, work))
    for backend in ("compiled", "lightgbm"):
        times[f"startup_{backend}"] = _cli_seconds(bundle, one, backend, work)
        times[f"stages_{backend}"] = stage_breakdown(bundle, big, backend, max_rows=rows)
    times["startup"] = startup_benchmark(bundle, one, work)
    return times


def bundle_trees(bundle: Path) -> dict[str, int]:
    """Trees per head of a bundle (the scoring share of end-to-end time grows with them)."""
    return {head: sum(1 for line in (bundle / head / "model.txt").open()
                      if line.startswith("Tree="))
            for head in ("response", "relapse") if (bundle / head / "model.txt").is_file()}


def stage_breakdown(bundle: Path, flat: Path, backend: str,
                    max_rows: int = 200_000) -> dict[str, float]:
    """Seconds per stage (read + validate, features, scoring, write) on the first rows, each
    as ``predictor predict`` runs it: chunks read with outcomes ignored, ``features`` the
    bundle pipeline's ``transform`` of a chunk (what ``experiments/chunk_stages.py`` times,
    before and after a change, with a pipeline built the way :func:`_bench_bundles` builds it).
    """
    import io
    import logging

    from predictor.data.cohort import outcomes_ignored
    from predictor.data.readers import iter_flat_chunks
    from predictor.serving.bundle import load_bundle

    logging.disable(logging.WARNING)
    with outcomes_ignored():
        try:
            predictor = load_bundle(bundle, backend=backend)
            mapping = predictor.manifest.get("input_mapping")
            # One small chunk first: lazy imports and first-call costs are start-up, not per row.
            warm = next(iter_flat_chunks(flat, mapping, 100))
            predictor.predict_frame(predictor.pipeline.transform(warm)).to_parquet(io.BytesIO())
            stages = {"read": 0.0, "features": 0.0, "score": 0.0, "write": 0.0, "rows": 0.0}
            chunks = iter_flat_chunks(flat, mapping, 100_000)
            while stages["rows"] < max_rows:
                t0 = time.perf_counter()
                cohort = next(chunks, None)
                t1 = time.perf_counter()
                if cohort is None:
                    break
                X = predictor.pipeline.transform(cohort.without_outcomes())
                t2 = time.perf_counter()
                frame = predictor.predict_frame(X)
                t3 = time.perf_counter()
                frame.to_parquet(io.BytesIO())
                t4 = time.perf_counter()
                for key, value in zip(("read", "features", "score", "write"),
                                      (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    stages[key] += value
                stages["rows"] += len(frame)
            return stages
        finally:
            logging.disable(logging.NOTSET)


def _bench_bundles(work: Path, trees: int, quick: bool, patients: int = 2000,
                   which: tuple[str, ...] = ("full_trees", "full", "default"),
                   regimens: list[str] | None = None) -> dict[str, Path]:
    """Three real bundles (default features, both heads) on one simulated cohort, like
    ``predictor-train`` would write: ``full_trees`` with exactly ``trees`` rounds per head and no
    linear part (what the compiled core accelerates), ``full`` the same with the default linear
    blend (computed in numpy on either backend), and ``default`` with the heads' default
    settings (inner-fold early stopping picks the rounds). ``which``: which of them;
    ``regimens``: the regimen list stored for every cancer type (what-if benchmark)."""
    import yaml

    from predictor.data.labels import ResponseRule, relapse_target, response_labels
    from predictor.data.simulator import simulate_cohort
    from predictor.features.pipeline import build_feature_pipeline
    from predictor.models.relapse import RelapseModel
    from predictor.models.response import ResponseModel
    from predictor.resources import config_dir

    conf = config_dir()
    cfg = yaml.safe_load((conf / "features" / "default.yaml").read_text())
    cfg["families"]["mutation"]["gene_sets"] = str(conf / "knowledge" / "gene_sets.yaml")
    cfg["families"]["mechanism"]["knowledge_base"] = str(conf / "knowledge" / "drugs.yaml")
    cohort, _ = simulate_cohort(patients, 0)
    pipeline = build_feature_pipeline(cfg).fit(cohort)
    X = pipeline.transform(cohort)
    cats = pipeline.categorical_features_
    labels = response_labels(cohort.outcomes, ResponseRule())
    target = relapse_target(cohort.outcomes, "pfs")
    folds = {"inner_folds": 2} if quick else {}
    bundles = {}
    document = None
    if regimens is not None:
        types = cohort.clinical["cancer_type"].astype("string").dropna().unique()
        document = {"by_cancer_type": {str(t): list(regimens) for t in types}}
    for label in which:
        params = {**folds, "n_estimators": trees} if label != "default" else dict(folds)
        if label == "full_trees":
            params["tree_weight"] = 1.0
        with _all_rounds(label != "default"):
            response = ResponseModel(**params).fit(X, labels, cats)
            relapse = RelapseModel(**params).fit(X, target["time"], target["event"], cats)
        bundles[label] = _save(work / f"bundle_{label}", pipeline, response, relapse, cohort, X,
                               document)
        got = bundle_trees(bundles[label])
        if label != "default" and set(got.values()) != {trees}:
            raise RuntimeError(f"{trees}-tree bundle has {got} trees, expected {trees} per head")
    return bundles


# ---------------------------------------------------------------------------- what-if regimens
BENCH_REGIMENS = ("osimertinib", "erlotinib", "dabrafenib+trametinib", "sotorasib",
                  "pembrolizumab", "nivolumab+ipilimumab", "carboplatin+pemetrexed",
                  "carboplatin+pemetrexed+pembrolizumab", "docetaxel", "atezolizumab")
TARGET_REGIMENS = 2.0  # --regimens all: rows/s at least half of plain predict's


def regimen_benchmark(rows: int, work: Path, n_regimens: int = 10,
                      quick: bool = False, train_patients: int = 2000) -> dict:
    """``predictor predict --regimens all`` on ``rows / n_regimens`` patients (``n_regimens``
    candidates each, so ``rows`` output rows) vs plain ``predictor predict`` on ``rows``
    patients, compiled backend, the default (early-stopped) bundle of one simulated cohort,
    run alternately in one process tree. The bundle's regimen list gives every cancer type the
    same ``n_regimens`` regimens and every patient's own regimen is one of them, so each
    patient has exactly ``n_regimens`` rows."""
    import pandas as pd

    regimens = list(BENCH_REGIMENS[:n_regimens])
    if len(regimens) < n_regimens:
        raise ValueError(f"at most {len(BENCH_REGIMENS)} regimens")
    bundle = _bench_bundles(work, 0, quick, patients=train_patients, which=("default",),
                            regimens=regimens)["default"]
    patients = max(rows // n_regimens, 1)
    plain = _flat_file(rows, work / "plain.parquet")
    whatif = work / "whatif.parquet"
    table = pd.read_parquet(plain).iloc[:patients].copy()
    table["regimen"] = [regimens[i % n_regimens] for i in range(patients)]
    table.to_parquet(whatif, index=False)
    times = {"plain": float("inf"), "regimens": float("inf")}
    out_rows = 0
    for _ in range(1 if quick else 2):  # alternating, best of the repeats
        times["plain"] = min(times["plain"], _cli_seconds(bundle, plain, "compiled", work))
        seconds, out_rows = _cli_regimens(bundle, whatif, work)
        times["regimens"] = min(times["regimens"], seconds)
    result = {"patients_plain": rows, "patients_regimens": patients, "rows_regimens": out_rows,
              "n_regimens": n_regimens, "trees": bundle_trees(bundle), **times}
    result["full_tables"] = full_tables_benchmark(bundle, regimens,
                                                  2_000 if quick else 10_000)
    return result


def full_tables_benchmark(bundle: Path, regimens: list[str], patients: int) -> dict:
    """In process, on a simulated cohort with every table (MAF, CNA, clones, TME, ctDNA),
    which the flat-file CLI run lacks: seconds of ``Predictor.predict`` (features + scoring,
    one row per patient) and of ``predict_regimens`` with ``regimens`` for everybody (the
    mechanism family then also matches alterations for each regimen), compiled backend."""
    import logging

    import pandas as pd

    from predictor.data.regimens import with_regimen
    from predictor.data.simulator import simulate_cohort
    from predictor.serving.bundle import load_bundle

    cohort, _ = simulate_cohort(patients, 3)
    # every patient's own regimen is one of the candidates: exactly len(regimens) rows each
    own = [regimens[i % len(regimens)] for i in range(len(cohort))]
    cohort = with_regimen(cohort.without_outcomes(), pd.Series(own, index=cohort.patient_ids))
    predictor = load_bundle(bundle, backend="compiled")
    logging.disable(logging.WARNING)
    try:
        predictor.predict(cohort.subset(cohort.patient_ids[:50]))  # first-call costs
        t0 = time.perf_counter()
        plain = predictor.predict(cohort)
        t1 = time.perf_counter()
        whatif = predictor.predict_regimens(cohort, regimens)
        t2 = time.perf_counter()
    finally:
        logging.disable(logging.NOTSET)
    return {"patients": len(plain), "rows": len(whatif), "plain": t1 - t0,
            "regimens": t2 - t1}


def _cli_regimens(bundle: Path, flat: Path, work: Path) -> tuple[float, int]:
    """Wall time and output rows of one ``predictor predict --regimens all`` process."""
    import pyarrow.parquet as pq

    out = work / "pred_regimens.parquet"
    seconds = _timed_predict(bundle, flat, out, "compiled", "--regimens", "all")
    n = pq.ParquetFile(out).metadata.num_rows
    out.unlink(missing_ok=True)
    return seconds, n


def _all_rounds(on: bool):
    """While active, the heads refit with all ``n_estimators`` rounds instead of the mean
    early-stopping iteration of their inner folds (out-of-fold scores, hence calibration,
    threshold and the linear part's penalty, still come from the inner folds). Early stopping
    cannot simply be switched off: LightGBM reports the best validation iteration even when it
    never stops."""
    import contextlib
    from unittest import mock

    from predictor.models import lgbm

    if not on:
        return contextlib.nullcontext()
    original = lgbm.choose_rounds

    def choose_all(folds, setup, matrix, n_estimators, early_stopping_rounds):
        _, oof, best = original(folds, setup, matrix, n_estimators, early_stopping_rounds)
        return int(n_estimators), oof, best

    return mock.patch.object(lgbm, "choose_rounds", choose_all)


def _save(out: Path, pipeline, response, relapse, cohort, X, regimens=None) -> Path:
    from predictor.data.regimens import regimens_by_cancer_type
    from predictor.serving.bundle import save_bundle

    if regimens is None:
        regimens = {"by_cancer_type": regimens_by_cancer_type(cohort.clinical)}
    return save_bundle(out, feature_pipeline=pipeline,
                       heads={"response": response, "relapse": relapse}, input_mapping=None,
                       label_rule={"source": "best_response"}, horizons=(6, 12, 24),
                       metadata={"fingerprint": cohort.fingerprint()}, probe_cohort=cohort,
                       training_features=X, regimens=regimens)


def _flat_file(rows: int, path: Path) -> Path:
    """``rows`` patients in schema names (clinical columns of a simulated cohort, tiled)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from predictor.data.mappings import unmap_cohort
    from predictor.data.simulator import simulate_cohort

    cohort, _ = simulate_cohort(1000, 1)
    base = unmap_cohort(cohort.without_outcomes())
    reps = -(-rows // len(base))
    flat = pd.concat([base] * reps, ignore_index=True).iloc[:rows]
    flat["patient_id"] = [f"B{i:08d}" for i in range(rows)]
    pq.write_table(pa.Table.from_pandas(flat, preserve_index=False), path)
    return path


def run(rows: int = 1_000_000, trees: int = 500, quick: bool = False,
        bundle: Path | None = None, source: Path | None = None,
        regimens: int | None = None) -> None:
    """Run every benchmark and print one rich table; with ``bundle`` and ``source``, only
    the real-bundle benchmark (:func:`real_bundle_benchmark`) on ``rows`` patients; with
    ``regimens`` (candidates per patient), only the what-if benchmark
    (:func:`regimen_benchmark`) on ``rows`` output rows."""
    from rich.console import Console
    from rich.table import Table

    if quick:
        rows = min(rows, 100_000)
    console = Console(width=max(Console().width, 130))
    if regimens is not None:
        with tempfile.TemporaryDirectory(prefix="predictor-bench-") as tmp:
            result = regimen_benchmark(rows, Path(tmp), regimens, quick)
        console.print(regimen_table(result))
        return
    if bundle is not None:
        if source is None:
            raise ValueError("a real bundle needs --input, a file of patients to tile")
        with tempfile.TemporaryDirectory(prefix="predictor-bench-") as tmp:
            times = real_bundle_benchmark(Path(bundle), Path(source), rows, Path(tmp))
        table = Table(title=f"predictor bench predict --bundle {bundle} ({rows:,} rows)")
        for col in ("measure", "compiled", "lightgbm", "speed-up", "target"):
            table.add_column(col, justify="right")
        _e2e_rows(table, rows, "real", times)
        _startup_row(table, times["startup"])
        console.print(table)
        return
    with tempfile.TemporaryDirectory(prefix="predictor-bench-") as tmp:
        work = Path(tmp)
        console.print(f"training a {trees}-tree model on {N_TRAIN} rows, {N_FEATURES} features")
        core = core_benchmark(rows, trees, work, quick)
        console.print(f"end-to-end CLI on {rows} rows (both backends, three bundles)")
        e2e = e2e_benchmark(rows, work, trees, quick)
    title = f"predictor bench predict ({rows:,} rows, {trees} trees{', quick' if quick else ''})"
    table = Table(title=title)
    for col in ("measure", "compiled", "lightgbm", "speed-up", "target"):
        table.add_column(col, justify="right")
    compiled_big = None
    for item in core:
        if item["what"] == "compile":
            table.add_row("compile time (s)", f"{item['seconds']:.2f}", "", "", "")
            table.add_row("max |raw diff| (100k rows)", f"{item['max_abs_diff']:.1e}", "",
                          item["backend"], "<= 1e-9")
        elif item["what"] == "throughput":
            ratio = item["compiled"] / item["lightgbm"]
            target = (f">= {TARGET_SPEEDUP:g}x" if item["threads"] == 2
                      and item["batch"] == rows else "")
            if item["threads"] == 2 and item["batch"] == rows:
                compiled_big = item["compiled"]
            table.add_row(f"rows/s, {item['threads']} thr, batch {item['batch']:,}",
                          f"{item['compiled']:,.0f}", f"{item['lightgbm']:,.0f}",
                          f"{ratio:.1f}x", target)
        elif item["what"] == "latency":
            table.add_row("single-row latency (us)", f"{item['compiled']:.1f}",
                          f"{item['lightgbm']:.1f}",
                          f"{item['lightgbm'] / item['compiled']:.1f}x",
                          f"<= {TARGET_LATENCY_US:g} us, >= {TARGET_LATENCY_RATIO:g}x")
        elif "skipped" in item:
            table.add_row("tl2cgen", f"skipped: {item['skipped']}", "", "", "")
        else:
            vs = (f"; lleaves/tl2cgen {compiled_big / item['rows_per_s']:.1f}x"
                  if compiled_big else "")
            table.add_row(f"tl2cgen rows/s, {item['threads']} thr, batch {item['batch']:,} "
                          f"({item['versions']}; compile {item['compile_s']:.0f} s)",
                          f"{item['rows_per_s']:,.0f}", f"{item['lightgbm']:,.0f}",
                          f"{item['rows_per_s'] / item['lightgbm']:.1f}x{vs}", "")
            table.add_row("tl2cgen max |raw diff| (100k rows)", f"{item['max_abs_diff']:.1e}",
                          "", "", "")
    if isinstance(e2e, dict):
        _startup_row(table, e2e.pop("startup"))
        for label, times in e2e.items():
            _e2e_rows(table, rows, label, times)
    else:
        table.add_row("CLI end-to-end", e2e, "", "", "")
    console.print(table)


def _e2e_rows(table, rows: int, label: str, times: dict) -> None:
    n = next(iter(times["trees"].values()))
    name = {"full_trees": f"{n}-tree bundle, trees only",
            "full": f"{n}-tree bundle with the linear blend",
            "real": "the given bundle"}.get(label, "default early-stopped bundle")
    target = {"full_trees": f">= {TARGET_E2E:g}x" if rows >= 1_000_000
              else f">= {TARGET_E2E:g}x at 1M rows",
              "real": f">= {TARGET_REAL:g}x at 100k rows"}.get(label, "(reference)")
    trees = ", ".join(f"{k} {v}" for k, v in times["trees"].items())
    table.add_row(f"CLI end-to-end rows/s, {name} (trees: {trees})",
                  f"{rows / times['compiled']:,.0f}", f"{rows / times['lightgbm']:,.0f}",
                  f"{times['lightgbm'] / times['compiled']:.2f}x", target)
    table.add_row(f"  start-up s (CLI on {times.get('startup_rows', STARTUP_ROWS)} rows)",
                  f"{times['startup_compiled']:.2f}", f"{times['startup_lightgbm']:.2f}", "", "")
    a, b = times["stages_compiled"], times["stages_lightgbm"]
    for stage in ("read", "features", "score", "write"):
        table.add_row(f"  {stage} s per 100k rows", f"{a[stage] / a['rows'] * 1e5:.2f}",
                      f"{b[stage] / b['rows'] * 1e5:.2f}",
                      f"{b[stage] / max(a[stage], 1e-9):.1f}x", "")


def _startup_row(table, startup: dict) -> None:
    ratio = startup["cli"] / startup["numpy_pandas"]
    table.add_row(f"one patient: CLI s vs `python -c \"import numpy, pandas\"` s "
                  f"(median of {startup['repeats']}, alternating)",
                  f"{startup['cli']:.2f}", f"{startup['numpy_pandas']:.2f}", f"{ratio:.2f}x",
                  f"<= {TARGET_STARTUP:g}x")


def regimen_table(result: dict):
    """The what-if benchmark's rows/s, plain vs ``--regimens all``, and their ratio."""
    from rich.table import Table

    plain = result["patients_plain"] / result["plain"]
    whatif = result["rows_regimens"] / result["regimens"]
    trees = ", ".join(f"{k} {v}" for k, v in result["trees"].items())
    table = Table(title=f"predictor bench predict --regimens {result['n_regimens']} "
                        f"(compiled backend; trees: {trees})")
    for col in ("measure", "rows", "seconds", "rows/s", "target"):
        table.add_column(col, justify="right")
    table.add_row("predict, one row per patient", f"{result['patients_plain']:,}",
                  f"{result['plain']:.1f}", f"{plain:,.0f}", "")
    table.add_row(f"predict --regimens all ({result['patients_regimens']:,} patients x "
                  f"{result['n_regimens']})", f"{result['rows_regimens']:,}",
                  f"{result['regimens']:.1f}", f"{whatif:,.0f}", "")
    table.add_row("plain rows/s / what-if rows/s", "", "", f"{plain / whatif:.2f}x",
                  f"<= {TARGET_REGIMENS:g}x")
    full = result.get("full_tables")
    if full:
        a, b = full["patients"] / full["plain"], full["rows"] / full["regimens"]
        table.add_row("in process, every table (MAF, CNA, ...): Predictor.predict",
                      f"{full['patients']:,}", f"{full['plain']:.2f}", f"{a:,.0f}", "")
        table.add_row(f"  predict_regimens ({full['patients']:,} x {result['n_regimens']})",
                      f"{full['rows']:,}", f"{full['regimens']:.2f}", f"{b:,.0f}", "")
        table.add_row("  plain rows/s / what-if rows/s", "", "", f"{a / b:.2f}x", "")
    return table
