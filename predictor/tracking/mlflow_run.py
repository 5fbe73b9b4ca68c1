"""Where runs go and what every run carries: tracking URI, experiment, nesting and tags.

The tracking URI is, in order: the config's ``tracking.uri``, ``$MLFLOW_TRACKING_URI``, then
``sqlite:///mlruns.db`` in the working directory (the same default the serving layer uses to
resolve ``runs:/`` and ``models:/`` URIs). A sweep's jobs become children of the sweep's parent
run, whose id the Hydra callback leaves in ``$PREDICTOR_MLFLOW_PARENT_RUN_ID``.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

import predictor
from predictor.errors import InputError
from predictor.resources import source_checkout

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
# MLflow 3's experiment-kind tag: the UI opens such an experiment on its training runs, not on
# the GenAI (traces) page. Values from the MLflow UI: genai_development, custom_model_development.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
PARENT_RUN_ENV = "PREDICTOR_MLFLOW_PARENT_RUN_ID"
_BATCH = 100  # MLflow accepts up to 100 params per log_batch call


def resolve_tracking_uri(configured: str | None = None) -> str:
    """Config value, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlruns.db`` (cwd)."""
    if configured:
        return str(configured)
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def git_commit(repo: Path | None = None) -> str | None:
    """The checked-out commit of the source tree, or None outside a git checkout.

    An installed wheel has no source tree: asking git there would report whatever repository
    the environment happens to live in, so it gives None.
    """
    root = repo or source_checkout()
    if root is None:
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit or None


def standard_tags(data_fingerprint: str | None, extra: Mapping[str, str] | None = None
                  ) -> dict[str, str]:
    """Tags every training run carries: code version, data fingerprint, package version."""
    tags = {"predictor_version": predictor.__version__}
    commit = git_commit()
    if commit:
        tags["git_commit"] = commit
        tags["mlflow.source.git.commit"] = commit
    if data_fingerprint:
        tags["data_fingerprint"] = data_fingerprint
    tags.update(dict(extra or {}))
    return tags


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for servers and other stores)."""
    return local_store_path(uri) if uri.startswith("sqlite:///") else None


def local_store_path(uri: str) -> Path | None:
    """The file a ``sqlite:///`` URI names, or the folder of a file store; None for servers."""
    from urllib.parse import unquote, urlparse

    if uri.startswith("sqlite:///"):
        name = unquote(uri[len("sqlite:///"):].split("?", 1)[0])
        return None if name in ("", ":memory:") else Path(name)
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and uri:
        return Path(uri)
    return None


def check_local_store(uri: str) -> None:
    """A local store (sqlite file, file store folder) must be writable, checked before MLflow
    starts: MLflow retries a store it cannot open for minutes and then prints a traceback."""
    import tempfile

    path = local_store_path(uri)
    if path is None:
        return
    path = path.expanduser()
    if path.exists() and path.is_file():
        if not os.access(path, os.R_OK | os.W_OK):
            raise InputError(f"cannot use the MLflow tracking store {uri!r}: the file is not "
                             "writable", file=path)
        folder = path.parent
    elif uri.startswith("sqlite:///"):
        folder = path.parent
    else:
        folder = path
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if not existing.is_dir():
        problem = f"{existing} is not a folder"
    else:
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as error:
            problem = f"cannot write in {existing} ({error.strerror or error})"
    if problem is not None:
        raise InputError(f"cannot use the MLflow tracking store {uri!r}: {problem}")


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """An exclusive lock next to a sqlite store (``mlruns.db.lock``) while it is created.

    Two trainings started together on a fresh file would otherwise both create MLflow's tables
    and one dies with ``table ... already exists``; the second now waits for the first.
    Other stores (a tracking server) need no lock.
    """
    path = sqlite_path(uri)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def use_experiment(uri: str, experiment_name: str) -> str:
    """Point MLflow at ``uri`` and ``experiment_name`` (created under the store lock, tagged as
    classic model training); returns the experiment id."""
    mlflow.set_tracking_uri(uri)
    with store_lock(uri):
        experiment = mlflow.set_experiment(experiment_name)
        if experiment.tags.get(EXPERIMENT_KIND_TAG) is None:
            MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG,
                                              EXPERIMENT_KIND)
    return experiment.experiment_id


@contextlib.contextmanager
def tracked_run(
    *,
    uri: str,
    experiment_name: str,
    run_name: str,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """Start an MLflow run (a child of the sweep's parent run when there is one)."""
    use_experiment(uri, experiment_name)
    parent = parent_run_id or os.environ.get(PARENT_RUN_ENV) or None
    with mlflow.start_run(run_name=run_name, parent_run_id=parent, tags=dict(tags or {})) as run:
        yield run


def log_params(run_id: str, params: Mapping[str, str]) -> None:
    """Log many params in batches (one request per 100 instead of one per param)."""
    client = MlflowClient()
    items = [Param(k, v) for k, v in sorted(params.items())]
    for start in range(0, len(items), _BATCH):
        client.log_batch(run_id, params=items[start:start + _BATCH])


def log_metrics(run_id: str, metrics: Mapping[str, float], step: int = 0) -> dict[str, float]:
    """Log finite metrics in batches; returns what was logged (NaN/inf are skipped)."""
    client = MlflowClient()
    clean = {k: float(v) for k, v in metrics.items()
             if v is not None and math.isfinite(float(v))}
    now = int(time.time() * 1000)
    items = [Metric(k, v, now, step) for k, v in sorted(clean.items())]
    for start in range(0, len(items), _BATCH):
        client.log_batch(run_id, metrics=items[start:start + _BATCH])
    return clean


def set_tags(run_id: str, tags: Mapping[str, str]) -> None:
    MlflowClient().log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
