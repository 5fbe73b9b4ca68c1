"""The ``predictor`` command line: a thin shell over the package.

Every command turns an :class:`~predictor.errors.InputError` into one line on stderr and exit
code 2, without a traceback. Heavy imports happen inside the commands so ``--help`` is fast.
Plain click (not typer): typer builds a pydantic adapter per parameter at parse time, a tenth
of a second of every one-patient ``predictor predict``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from predictor.errors import InputError
from predictor.serving import DEFAULT_BATCH_SIZE

DEFAULT_SIZES = "1000,10000,100000"
PATH = click.Path(path_type=Path)
# Options that predict, evaluate and recalibrate share (one spelling, one help text).
MODEL = click.option("--model", required=True, help="Model dir, runs:/ID/model, models:/N/V.")
MAPPING = click.option("--mapping", type=PATH, default=None,
                       help="Column mapping for a flat file (default: the bundle's).")
N_BOOT = click.option("--n-boot", type=click.IntRange(min=1), default=1000,
                      help="Bootstrap resamples.")
_SETTINGS = {"show_default": True, "max_content_width": 100}


class _Command(click.Command):
    """Listed with its whole first help paragraph (click cuts it at the terminal width)."""

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help or " ".join((self.help or "").split("\n\n")[0].split())


class _Group(click.Group):
    """Lists its commands in the order they are defined here, not alphabetically."""

    command_class = _Command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_Group, no_args_is_help=True, context_settings=_SETTINGS,
             help="Predict treatment response and relapse from mutations, clones, TME and drug "
                  "mechanism.")
def app() -> None:
    pass


def _fail(error: InputError) -> None:
    click.echo(f"error: {error}", err=True)
    raise click.exceptions.Exit(InputError.exit_code)


@app.command()
@click.option("--out", type=PATH, required=True, help="Output study folder (must not exist).")
@click.option("--patients", type=click.IntRange(min=1), default=1000, help="Number of patients.")
@click.option("--seed", type=int, default=0, help="Random seed.")
@click.option("--expression-genes", default="small",
              help="Tumour RNA-seq (TPM): small (marker genes + 800 background genes), full "
                   "(20,000 genes) or none.")
def simulate(out: Path, patients: int, seed: int, expression_genes: str) -> None:
    """Simulate a cohort as a cBioPortal study plus TME/clone/ctDNA tables and ground truth."""
    from predictor.data.simulator import simulate_study

    try:
        summary = simulate_study(n_patients=patients, seed=seed, out_dir=out,
                                 expression=expression_genes)
    except InputError as error:
        _fail(error)
    click.echo(summary)


@app.command()
@click.argument("path", nargs=-1, required=True, type=PATH)
@click.option("--mapping", type=PATH, default=None,
              help="YAML column mapping for flat tables (a shipped one, e.g. "
                   "conf/mappings/chowell_icb.yaml, works from any folder).")
@click.option("--model", default=None,
              help="Also check the cohort against this model: inputs it lacks, values outside "
                   "its training range.")
def validate(path: tuple[Path, ...], mapping: Path | None, model: str | None) -> None:
    """Check a cohort against the schema; print a summary or one error line (exit 2).

    PATH: cBioPortal study folder or CSV/TSV/Parquet table; several are pooled.

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
            cohort = read_cohort(path[0] if len(path) == 1 else list(path), mapping=chosen)
        findings = predictor.input_findings(cohort) if predictor is not None else []
    except InputError as error:
        _fail(error)
    click.echo(describe_cohort(cohort))
    if unusable:
        first = unusable[0]
        where = f"{first['file']}, line {first['line']}: " if first.get("line") else ""
        click.echo(f"warning: {len(unusable)} unusable outcome value(s) of "
                   f"{len({u['patient_id'] for u in unusable})} patient(s) (first: {where}"
                   f"{first['reason']}); predict ignores outcomes, training refuses them "
                   "unless data.drop_incomplete_outcomes=true", err=True)
    if predictor is not None:
        click.echo(f"against model {model}: " + ("inputs look like its training cohort"
                                                  if not findings else
                                                  f"{len(findings)} warning(s)"))
        for finding in findings:
            click.echo(f"warning: {finding}")


@app.command()
@MODEL
@click.option("--input", "input", type=PATH, required=True,
              help="cBioPortal folder or CSV/TSV/Parquet.")
@click.option("--output", type=PATH, required=True, help="Predictions file to write.")
@click.option("--format", "format", default=None, help="csv or parquet.")
@click.option("--backend", default="compiled", help="compiled or lightgbm.")
@click.option("--explain", type=click.IntRange(min=0), default=0,
              help="Top K feature contributions per head (response log-odds, relapse log hazard).")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE,
              help="Rows/chunk.")
@click.option("--engine", default="local", help="local or dask.")
@click.option("--scheduler", default=None, help="Dask scheduler.")
@click.option("--overwrite", is_flag=True, default=False,
              help="Replace an existing output file (never the input).")
@click.option("--regimens", default=None,
              help="What-if: one row per patient x regimen: 'all' (the regimens the model saw "
                   "for the cancer type), 'a;b+c', or a file with one regimen per line; plus the "
                   "patient's own. Adds regimen, observed, rank, supported.")
def predict(model: str, input: Path, output: Path, format: str | None, backend: str,
            explain: int, batch_size: int, engine: str, scheduler: str | None, overwrite: bool,
            regimens: str | None) -> None:
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
    click.echo(message)


@app.command()
@MODEL
@click.option("--input", "input", type=PATH, required=True,
              help="Labelled cohort: cBioPortal folder or CSV/TSV/Parquet (read with the "
                   "bundle's mapping).")
@click.option("--output", type=PATH, required=True,
              help="New folder for report.md, metrics.json and plots/.")
@MAPPING
@N_BOOT
@click.option("--seed", type=int, default=0, help="Bootstrap seed.")
@click.option("--log", is_flag=True, default=False,
              help="Log an MLflow evaluation run linked to the model (MLFLOW_TRACKING_URI).")
def evaluate(model: str, input: Path, output: Path, mapping: Path | None, n_boot: int,
             seed: int, log: bool) -> None:
    """Evaluate a model on labelled patients: discrimination, calibration, baselines, CIs."""
    from predictor.serving.evaluate import run_evaluation

    try:
        message = run_evaluation(model, input, output, mapping=mapping, n_boot=n_boot,
                                 seed=seed, log_mlflow=log)
    except InputError as error:
        _fail(error)
    click.echo(message)


@app.command()
@MODEL
@click.option("--input", "input", type=PATH, required=True,
              help="Labelled local cohort (any format the data layer reads).")
@click.option("--output", type=PATH, required=True,
              help="New bundle folder (must not exist; the parent is never modified).")
@click.option("--method", default="intercept",
              help="intercept (default: one parameter, safest for small samples), logistic "
                   "(intercept and slope) or isotonic (needs many events).")
@click.option("--relapse", is_flag=True, default=False,
              help="Also refit the relapse head's baseline hazard (Breslow).")
@MAPPING
@click.option("--register", default=None,
              help="Register the new bundle in MLflow as a version of this name.")
@N_BOOT
def recalibrate(model: str, input: Path, output: Path, method: str, relapse: bool,
                mapping: Path | None, register: str | None, n_boot: int) -> None:
    """Refit a model's response calibration on local labelled patients into a new bundle."""
    from predictor.serving.recalibrate import run_recalibration

    try:
        message = run_recalibration(model, input, output, method=method, relapse=relapse,
                                    mapping=mapping, register=register, n_boot=n_boot)
    except InputError as error:
        _fail(error)
    click.echo(message)


@app.command()
@click.option("--model", required=True,
              help="Bundle folder, runs:/ID/model or models:/NAME/VERSION.")
def card(model: str) -> None:
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
    click.echo(text.rstrip("\n"))


@app.command()
@click.option("--model", required=True,
              help="Bundle folder, runs:/ID/model or models:/NAME/VERSION.")
@click.option("--yes", is_flag=True, default=False,
              help="Confirm: accept this bundle.yaml on this machine from now on.")
def trust(model: str, yes: bool) -> None:
    """Show a bundle's key settings (threshold, horizons, mapping, features, label rule) and,
    with --yes, trust it on this machine (bundles made elsewhere are refused until then)."""
    from predictor.serving.review import run_trust

    try:
        text = run_trust(model, confirm=yes)
    except InputError as error:
        _fail(error)
    click.echo(text)


@app.command()
def schema() -> None:
    """Print the documented cohort schema (tables, columns, dtypes, allowed values)."""
    from predictor.data.schema import describe_schema

    click.echo(describe_schema())


@app.group("bench", cls=_Group, no_args_is_help=True,
           help="Benchmarks (speed and memory targets).")
def bench_app() -> None:
    pass


@bench_app.command("simulate")
@click.option("--sizes", default=DEFAULT_SIZES, help="Patient counts, comma-separated.")
@click.option("--expression-genes", default="small",
              help="Simulated RNA-seq: small, full or none.")
def bench_simulate(sizes: str, expression_genes: str) -> None:
    """Patients/s and MAF rows/s of simulating, writing and reading back a study."""
    from predictor.bench.simulate import run
    from predictor.data.simulator.expression import MODES

    if expression_genes not in MODES:
        _fail(InputError(f"--expression-genes must be one of {', '.join(MODES)}, "
                         f"got {expression_genes!r}"))
    run([int(s) for s in sizes.split(",")], expression=expression_genes)


@bench_app.command("features")
@click.option("--sizes", default=DEFAULT_SIZES, help="Patient counts, comma-separated.")
@click.option("--expression", default=None,
              help="Time the expression family instead, on SAMPLESxGENES (e.g. 10000x20000).")
def bench_features(sizes: str, expression: str | None) -> None:
    """MAF rows/s and patients/s of building the feature matrix (or, with --expression, the
    RNA-seq signature scores)."""
    if expression:
        from predictor.bench.features import run_expression

        run_expression(expression)
        return
    from predictor.bench.features import run

    run([int(s) for s in sizes.split(",")])


@bench_app.command("expression")
@click.option("--genes", type=int, default=20_000, help="Genes (rows) of the TPM profile.")
@click.option("--samples", default="100,1000", help="Sample counts, comma-separated.")
def bench_expression(genes: int, samples: str) -> None:
    """Seconds and peak memory of writing and reading a genes x samples TPM profile."""
    from predictor.bench.expression import run

    run(genes, [int(s) for s in samples.split(",")])


@bench_app.command("predict")
@click.option("--rows", type=int, default=1_000_000, help="Rows of the large batch.")
@click.option("--trees", type=int, default=500, help="Trees in the benchmark model.")
@click.option("--quick", is_flag=True, default=False,
              help="At most 100,000 rows, fewer repeats (about 2 minutes).")
@click.option("--bundle", type=PATH, default=None,
              help="Measure this real bundle instead (with --input, on --rows rows).")
@click.option("--input", "source", type=PATH, default=None,
              help="Patients in the bundle's input format, tiled to --rows rows.")
@click.option("--regimens", type=click.IntRange(min=1, max=10), default=None,
              help="Only the what-if benchmark: --regimens all with this many candidates per "
                   "patient on --rows/N patients vs plain predict on --rows patients.")
def bench_predict(rows: int, trees: int, quick: bool, bundle: Path | None,
                  source: Path | None, regimens: int | None) -> None:
    """Compiled core vs lightgbm.Booster.predict, and end-to-end CLI throughput."""
    from predictor.bench.predict import run

    run(rows=rows, trees=trees, quick=quick, bundle=bundle, source=source, regimens=regimens)


@bench_app.command("wide")
@click.option("--columns", default="2500,5000,10000", help="Column counts, comma-separated.")
@click.option("--rows", type=int, default=40, help="Rows (patients) per file.")
def bench_wide(columns: str, rows: int) -> None:
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
