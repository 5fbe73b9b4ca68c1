"""``predictor predict``: score a cohort file or folder with a bundle and write predictions.

Flat files stream in chunks of ``batch_size`` rows (bounded memory, rich progress bar on
stderr); cBioPortal folders are read whole. The output is written to a temp file in the output
folder and renamed at the end, so no failure leaves a partial file; the input is never touched.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from predictor.errors import InputError
from predictor.serving import DEFAULT_BATCH_SIZE
from predictor.serving.io import (
    PredictionWriter,
    check_output_path,
    count_rows,
    output_format,
    prefetch,
)

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")


def run_batch_prediction(
    model_uri: str,
    input_path: str | Path,
    output_path: str | Path,
    fmt: str | None = None,
    backend: str = "compiled",
    explain: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str = "local",
    scheduler: str | None = None,
    overwrite: bool = False,
    regimens: str | list[str] | None = None,
) -> str:
    """Predict every patient of ``input_path`` and write ``output_path``; return a summary.

    An existing output file is replaced (atomically, at the end) only with ``overwrite``.
    ``regimens`` (``--regimens``: ``"all"``, ``"a;b;c"``, a file of names, or a list) writes
    one row per patient x candidate regimen instead (:mod:`predictor.serving.regimens`).
    """
    from predictor.serving.bundle import load_bundle, read_manifest, resolve_bundle_dir

    started = time.perf_counter()
    input_path, output_path = Path(input_path), Path(output_path)
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (use 'local' or 'dask')")
    if backend not in ("compiled", "lightgbm"):
        raise InputError(f"unknown backend {backend!r} (use 'compiled' or 'lightgbm')")
    if batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {batch_size}")
    if explain < 0:
        raise InputError(f"--explain must be 0 or more, got {explain}")
    if regimens is not None and engine != "local":
        raise InputError("--regimens runs on the local engine (drop --engine dask)")
    _check_input(input_path)
    fmt = output_format(output_path, fmt)
    output_path = check_output_path(input_path, output_path, overwrite)
    landmark = None
    if engine == "dask":
        from predictor.serving.dask_engine import run_dask

        bundle_dir, download = resolve_bundle_dir(model_uri)
        try:
            rows, used = run_dask(bundle_dir, input_path, output_path, fmt=fmt,
                                  backend=backend, explain=explain, scheduler=scheduler,
                                  overwrite=overwrite)
            landmark = _landmark_day(read_manifest(bundle_dir))
        finally:
            if download is not None:
                import shutil

                shutil.rmtree(download, ignore_errors=True)
    else:
        predictor = load_bundle(model_uri, backend=backend)
        if regimens is not None:  # the bundle and every name are checked before any reading
            from predictor.serving.regimens import check_bundle, resolve_regimens

            regimens = resolve_regimens(regimens, check_bundle(predictor).drugs or {})
        rows = _run_local(predictor, input_path, output_path, fmt, explain, batch_size,
                          overwrite, regimens)
        used = predictor.backend
        landmark = _landmark_day(predictor.manifest)
    seconds = time.perf_counter() - started
    note = "" if landmark is None else (
        f"; landmark model: relapse-free probabilities are for the months after day "
        f"{landmark:g} of treatment")
    what = "predictions" if regimens is None else "what-if predictions (patient x regimen)"
    return (f"wrote {rows} {what} to {output_path} ({fmt}, {used} backend, "
            f"{engine} engine, {seconds:.1f} s{note})")


def _landmark_day(manifest: dict) -> float | None:
    """The landmark day of a bundle whose relapse head is a landmark model, else None."""
    if not (manifest.get("heads") and "relapse" in manifest["heads"]):
        return None
    day = (manifest.get("label_rule") or {}).get("landmark_day")
    return None if day is None else float(day)


def _check_input(path: Path) -> None:
    from predictor.data.tables import FLAT_SUFFIXES

    if not path.exists():
        raise InputError("input not found", file=path)
    if path.is_file():
        if path.suffix.lower() not in FLAT_SUFFIXES:
            raise InputError(f"unknown input file type {path.suffix!r} (use a cBioPortal "
                             "folder or .csv/.tsv/.parquet)", file=path)
        if path.stat().st_size == 0:
            raise InputError("input file is empty", file=path)


def _run_local(predictor, input_path: Path, output: Path, fmt: str, explain: int,
               batch_size: int, overwrite: bool = False,
               regimens: str | list[str] | None = None) -> int:
    from predictor.data.cohort import outcomes_ignored
    from predictor.data.readers import iter_cohorts, streamed_files

    mapping = predictor.manifest.get("input_mapping")
    no_known = patients = 0  # --regimens: patients of a cancer type without known regimens
    with outcomes_ignored(), PredictionWriter(output, fmt, overwrite) as writer, \
            _progress(streamed_files(input_path, mapping)) as progress:
        pending = 0
        for chunk, cohort in enumerate(prefetch(iter_cohorts(input_path, mapping, batch_size))):
            if regimens is None:
                frame = predictor.predict(cohort, explain=explain)
            else:
                from predictor.serving.regimens import predict_regimens

                frame, count = predict_regimens(predictor, cohort, regimens, explain=explain,
                                                warn=False)
                no_known += count
            if len(frame):
                writer.write(frame)
            patients += len(cohort)
            pending += len(cohort)
            if chunk > 0 or progress.total is not None:  # a one-chunk input says nothing
                progress.advance(steps=pending)
                pending = 0
        if patients == 0:
            raise InputError("input has no patients (only a header?)", file=input_path)
        if no_known:
            from predictor.serving.regimens import warn_no_known

            warn_no_known(no_known)
        if writer.rows == 0:
            raise InputError("no patient has a candidate regimen (no regimen of their own and "
                             "none known for their cancer type)", file=input_path)
        writer.commit()
        return writer.rows


def _total_rows(files: list[Path]) -> int | None:
    counts = [count_rows(p) for p in files]
    return None if any(c is None for c in counts) else int(sum(counts))  # type: ignore[arg-type]


def _progress(files: list[Path]):
    """Patients predicted so far: a bar on a terminal (the input pre-counted for the time
    left), else one ``progress:`` line per chunk from the second chunk on (stderr; a small
    input that fits one chunk prints nothing) (:mod:`predictor.progress`)."""
    from predictor.progress import Progress, use_bar

    total = _total_rows(files) if use_bar() else None
    return Progress("patients predicted", total)
