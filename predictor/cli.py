"""The ``predictor`` command line: a thin shell over the package.

Every command turns an :class:`~predictor.errors.InputError` into one line on stderr and exit
code 2, without a traceback. Heavy imports happen inside the commands so ``--help`` is fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from predictor.errors import InputError
from predictor.serving import DEFAULT_BATCH_SIZE

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Predict treatment response and relapse from mutations, clones, TME and drug mechanism.",
)
DEFAULT_SIZES = "1000,10000,100000"
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks (speed and memory targets).")
app.add_typer(bench_app, name="bench")


def _fail(error: InputError) -> None:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code=InputError.exit_code)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Output study folder (must not exist).")],
    patients: Annotated[int, typer.Option("--patients", min=1, help="Number of patients.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    expression_genes: Annotated[str, typer.Option(
        "--expression-genes",
        help="Tumour RNA-seq (TPM): small (marker genes + 800 background genes), full "
             "(20,000 genes) or none.")] = "small",
) -> None:
    """Simulate a cohort as a cBioPortal study plus TME/clone/ctDNA tables and ground truth."""
    from predictor.data.simulator import simulate_study

    try:
        summary = simulate_study(n_patients=patients, seed=seed, out_dir=out,
                                 expression=expression_genes)
    except InputError as error:
        _fail(error)
    typer.echo(summary)


@app.command()
def validate(
    path: Annotated[list[Path], typer.Argument(
        help="cBioPortal study folder or CSV/TSV/Parquet table; several are pooled.")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="YAML column mapping for flat tables "
                                  "(a shipped one, e.g. conf/mappings/chowell_icb.yaml, works "
                                  "from any folder).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Also check the cohort against this model: "
                                 "inputs it lacks, values outside its training range.")
    ] = None,
) -> None:
    """Check a cohort against the schema; print a summary or one error line (exit 2).

    Several paths are checked as one pooled cohort (as ``data.path: [a, b]`` trains on them).

    With ``--model`` (a bundle folder, runs:/ or models:/ URI), the cohort is read with the
    model's column mapping (unless ``--mapping`` is given) and what ``predictor predict`` would
    warn about is listed, without predicting.
    """
    from predictor.data.cohort import outcomes_set_aside
    from predictor.data.readers import describe_cohort, read_cohort
    from predictor.resources import resolve_user_path

    try:
        predictor = None
        if model is not None:
            from predictor.serving.bundle import load_bundle

            predictor = load_bundle(model, backend="lightgbm")  # nothing to compile for a check
        chosen = (resolve_user_path(mapping) if mapping is not None else
                  predictor.manifest.get("input_mapping") if predictor is not None else None)
        with outcomes_set_aside() as unusable:  # predict ignores outcomes; training refuses
            cohort = read_cohort(path[0] if len(path) == 1 else path, mapping=chosen)
        findings = predictor.input_findings(cohort) if predictor is not None else []
    except InputError as error:
        _fail(error)
    typer.echo(describe_cohort(cohort))
    if unusable:
        first = unusable[0]
        where = f"{first['file']}, line {first['line']}: " if first.get("line") else ""
        typer.echo(f"warning: {len(unusable)} unusable outcome value(s) of "
                   f"{len({u['patient_id'] for u in unusable})} patient(s) (first: {where}"
                   f"{first['reason']}); predict ignores outcomes, training refuses them "
                   "unless data.drop_incomplete_outcomes=true", err=True)
    if predictor is not None:
        typer.echo(f"against model {model}: " + ("inputs look like its training cohort"
                                                  if not findings else
                                                  f"{len(findings)} warning(s)"))
        for finding in findings:
            typer.echo(f"warning: {finding}")


@app.command()
def predict(
    model: Annotated[str, typer.Option("--model", help="Model dir, runs:/ID/model, models:/N/V.")],
    input: Annotated[Path, typer.Option("--input", help="cBioPortal folder or CSV/TSV/Parquet.")],
    output: Annotated[Path, typer.Option("--output", help="Predictions file to write.")],
    format: Annotated[str | None, typer.Option("--format", help="csv or parquet.")] = None,
    backend: Annotated[str, typer.Option("--backend", help="compiled or lightgbm.")] = "compiled",
    explain: Annotated[int, typer.Option(
        "--explain", min=0,
        help="Top K feature contributions per head (response log-odds, relapse log hazard).",
    )] = 0,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", min=1, help="Rows/chunk.")] = DEFAULT_BATCH_SIZE,
    engine: Annotated[str, typer.Option("--engine", help="local or dask.")] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler.")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output file (never the input).")
    ] = False,
    regimens: Annotated[str | None, typer.Option(
        "--regimens",
        help="What-if: one row per patient x regimen: 'all' (the regimens the model saw for "
             "the cancer type), 'a;b+c', or a file with one regimen per line; plus the "
             "patient's own. Adds regimen, observed, rank, supported.",
    )] = None,
) -> None:
    """Score new patients in batch with a trained predictor."""
    from predictor.serving.batch import run_batch_prediction

    try:
        message = run_batch_prediction(
            model_uri=model, input_path=input, output_path=output, fmt=format, backend=backend,
            explain=explain, batch_size=batch_size, engine=engine, scheduler=scheduler,
            overwrite=overwrite, regimens=regimens,
        )
    except InputError as error:
        _fail(error)
    typer.echo(message)


@app.command()
def evaluate(
    model: Annotated[str, typer.Option("--model", help="Model dir, runs:/ID/model, models:/N/V.")],
    input: Annotated[Path, typer.Option("--input", help="Labelled cohort: cBioPortal folder or "
                                        "CSV/TSV/Parquet (read with the bundle's mapping).")],
    output: Annotated[Path, typer.Option("--output", help="New folder for report.md, "
                                         "metrics.json and plots/.")],
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="Column mapping for a flat file (default: the bundle's).")] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=1, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    log: Annotated[bool, typer.Option("--log", help="Log an MLflow evaluation run linked to "
                                      "the model (MLFLOW_TRACKING_URI).")] = False,
) -> None:
    """Evaluate a model on labelled patients: discrimination, calibration, baselines, CIs."""
    from predictor.serving.evaluate import run_evaluation

    try:
        message = run_evaluation(model, input, output, mapping=mapping, n_boot=n_boot,
                                 seed=seed, log_mlflow=log)
    except InputError as error:
        _fail(error)
    typer.echo(message)


@app.command()
def recalibrate(
    model: Annotated[str, typer.Option("--model", help="Model dir, runs:/ID/model, models:/N/V.")],
    input: Annotated[Path, typer.Option("--input", help="Labelled local cohort (any format "
                                        "the data layer reads).")],
    output: Annotated[Path, typer.Option("--output", help="New bundle folder (must not "
                                         "exist; the parent is never modified).")],
    method: Annotated[str, typer.Option(
        "--method", help="intercept (default: one parameter, safest for small samples), "
        "logistic (intercept and slope) or isotonic (needs many events).")] = "intercept",
    relapse: Annotated[bool, typer.Option(
        "--relapse", help="Also refit the relapse head's baseline hazard (Breslow).")] = False,
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="Column mapping for a flat file (default: the bundle's).")] = None,
    register: Annotated[str | None, typer.Option(
        "--register", help="Register the new bundle in MLflow as a version of this name.")
    ] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=1, help="Bootstrap resamples.")] = 1000,
) -> None:
    """Refit a model's response calibration on local labelled patients into a new bundle."""
    from predictor.serving.recalibrate import run_recalibration

    try:
        message = run_recalibration(model, input, output, method=method, relapse=relapse,
                                    mapping=mapping, register=register, n_boot=n_boot)
    except InputError as error:
        _fail(error)
    typer.echo(message)


@app.command()
def card(
    model: Annotated[str, typer.Option("--model", help="Bundle folder, runs:/ID/model or "
                                       "models:/NAME/VERSION.")],
) -> None:
    """Print a model's card: what it predicts from what, its training and metrics, its limits."""
    import shutil

    from predictor.serving.bundle import read_model_card, resolve_bundle_dir

    try:
        bundle_dir, download = resolve_bundle_dir(model)
        try:
            text = read_model_card(bundle_dir)
        finally:
            if download is not None:
                shutil.rmtree(download, ignore_errors=True)
    except InputError as error:
        _fail(error)
    typer.echo(text.rstrip("\n"))


@app.command()
def trust(
    model: Annotated[str, typer.Option("--model", help="Bundle folder, runs:/ID/model or "
                                       "models:/NAME/VERSION.")],
    yes: Annotated[bool, typer.Option(
        "--yes", help="Confirm: accept this bundle.yaml on this machine from now on.")] = False,
) -> None:
    """Show a bundle's key settings (threshold, horizons, mapping, features, label rule) and,
    with --yes, trust it on this machine (bundles made elsewhere are refused until then)."""
    from predictor.serving.review import run_trust

    try:
        text = run_trust(model, confirm=yes)
    except InputError as error:
        _fail(error)
    typer.echo(text)


@app.command()
def schema() -> None:
    """Print the documented cohort schema (tables, columns, dtypes, allowed values)."""
    from predictor.data.schema import describe_schema

    typer.echo(describe_schema())


@bench_app.command("simulate")
def bench_simulate(
    sizes: Annotated[str, typer.Option(help="Patient counts, comma-separated.")] = DEFAULT_SIZES,
    expression_genes: Annotated[str, typer.Option(
        "--expression-genes", help="Simulated RNA-seq: small, full or none.")] = "small",
) -> None:
    """Patients/s and MAF rows/s of simulating, writing and reading back a study."""
    from predictor.bench.simulate import run
    from predictor.data.simulator.expression import MODES

    if expression_genes not in MODES:
        _fail(InputError(f"--expression-genes must be one of {', '.join(MODES)}, "
                         f"got {expression_genes!r}"))
    run([int(s) for s in sizes.split(",")], expression=expression_genes)


@bench_app.command("features")
def bench_features(
    sizes: Annotated[str, typer.Option(help="Patient counts, comma-separated.")] = DEFAULT_SIZES,
    expression: Annotated[str | None, typer.Option(
        help="Time the expression family instead, on SAMPLESxGENES (e.g. 10000x20000).")] = None,
) -> None:
    """MAF rows/s and patients/s of building the feature matrix (or, with --expression, the
    RNA-seq signature scores)."""
    if expression:
        from predictor.bench.features import run_expression

        run_expression(expression)
        return
    from predictor.bench.features import run

    run([int(s) for s in sizes.split(",")])


@bench_app.command("expression")
def bench_expression(
    genes: Annotated[int, typer.Option(help="Genes (rows) of the TPM profile.")] = 20_000,
    samples: Annotated[str, typer.Option(help="Sample counts, comma-separated.")] = "100,1000",
) -> None:
    """Seconds and peak memory of writing and reading a genes x samples TPM profile."""
    from predictor.bench.expression import run

    run(genes, [int(s) for s in samples.split(",")])


@bench_app.command("predict")
def bench_predict(
    rows: Annotated[int, typer.Option(help="Rows of the large batch.")] = 1_000_000,
    trees: Annotated[int, typer.Option(help="Trees in the benchmark model.")] = 500,
    quick: Annotated[bool, typer.Option(
        "--quick", help="At most 100,000 rows, fewer repeats (about 2 minutes).")] = False,
    bundle: Annotated[Path | None, typer.Option(
        "--bundle", help="Measure this real bundle instead (with --input, on --rows rows).")
    ] = None,
    source: Annotated[Path | None, typer.Option(
        "--input", help="Patients in the bundle's input format, tiled to --rows rows.")
    ] = None,
    regimens: Annotated[int | None, typer.Option(
        "--regimens", min=1, max=10,
        help="Only the what-if benchmark: --regimens all with this many candidates per "
             "patient on --rows/N patients vs plain predict on --rows patients.")] = None,
) -> None:
    """Compiled core vs lightgbm.Booster.predict, and end-to-end CLI throughput."""
    from predictor.bench.predict import run

    run(rows=rows, trees=trees, quick=quick, bundle=bundle, source=source, regimens=regimens)


@bench_app.command("wide")
def bench_wide(
    columns: Annotated[str, typer.Option(help="Column counts, comma-separated.")] = (
        "2500,5000,10000"),
    rows: Annotated[int, typer.Option(help="Rows (patients) per file.")] = 40,
) -> None:
    """Seconds to read and validate very wide flat files (should grow linearly)."""
    from predictor.bench.wide import run

    run([int(c) for c in columns.split(",")], rows=rows)


def _configure_logging() -> None:
    """Warnings of the library reach the user as ``warning: ...`` lines on stderr."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s",
                        stream=sys.stderr)
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.ERROR, "error")
    logging.addLevelName(logging.INFO, "progress")
    logging.getLogger("predictor.progress").setLevel(logging.INFO)  # off a terminal: lines


def main() -> None:
    from predictor.files import exit_cleanly_on_sigterm

    _configure_logging()
    exit_cleanly_on_sigterm()
    try:
        app()
    except InputError as error:  # raised outside a command body (e.g. while importing config)
        print(f"error: {error}", file=sys.stderr)
        sys.exit(InputError.exit_code)


if __name__ == "__main__":
    main()
