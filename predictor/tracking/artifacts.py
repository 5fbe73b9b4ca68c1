"""Fetch a logged model from an MLflow store (``runs:/`` and ``models:/`` URIs).

The serving layer calls :func:`download_bundle` to resolve a ``--model`` URI; everything that
touches MLflow's process-wide state stays here, in the tracking layer. MLflow is imported
inside the functions, so commands that never see an MLflow URI do not pay for the import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from predictor.errors import InputError
from predictor.tracking.mlflow_run import DEFAULT_TRACKING_URI

PROGRESS_BAR_ENV = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def download_bundle(uri: str, hash_tag: str | None) -> tuple[Path, str | None]:
    """Download ``runs:/...`` or ``models:/...`` into a new temporary folder (the caller
    deletes it) and return it with the value of tag ``hash_tag`` of the model version (of the
    run, for ``runs:/``), or None. A ``models:/`` alias, stage or ``latest`` is resolved to one
    version first, so the tag and the files belong to the same version.

    The store: ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlruns.db`` when that file exists in
    the working folder; a URI that resolves to nothing is an InputError.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    tracking = os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking:  # the training default, but only when that store exists here
        if not Path(DEFAULT_TRACKING_URI.removeprefix("sqlite:///")).is_file():
            raise InputError(f"cannot resolve {uri!r}: no MLflow store ({DEFAULT_TRACKING_URI} "
                             "in the working folder); set MLFLOW_TRACKING_URI")
        tracking = DEFAULT_TRACKING_URI
    registry = os.environ.get("MLFLOW_REGISTRY_URI") or tracking
    target = Path(tempfile.mkdtemp(prefix="predictor-bundle-"))
    try:
        with _quiet_loggers("mlflow", "alembic"), _mlflow_uris(tracking, registry):
            concrete, recorded = _recorded_tag(uri, hash_tag, tracking, registry)
            mlflow.artifacts.download_artifacts(artifact_uri=concrete, dst_path=str(target),
                                                tracking_uri=tracking, registry_uri=registry)
    except (MlflowException, OSError, ValueError) as error:
        shutil.rmtree(target, ignore_errors=True)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"model URI {uri!r} resolves to nothing ({first[:200]})") from None
    return target, recorded


def _recorded_tag(uri: str, tag: str | None, tracking: str, registry: str
                  ) -> tuple[str, str | None]:
    """(URI of one concrete version, its ``tag`` value or None). Anything MLflow cannot
    resolve here is left to the download, which reports it."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    if tag is None:
        return uri, None
    client = MlflowClient(tracking_uri=tracking, registry_uri=registry)
    try:
        if uri.startswith("runs:/"):
            run_id = uri.removeprefix("runs:/").split("/", 1)[0]
            return uri, client.get_run(run_id).data.tags.get(tag)
        rest = uri.removeprefix("models:/").rstrip("/")
        if "@" in rest:
            name, alias = rest.split("@", 1)
            version = client.get_model_version_by_alias(name, alias)
        else:
            name, _, ref = rest.partition("/")
            if not name or not ref or "/" in ref:
                return uri, None
            if ref.isdigit():
                version = client.get_model_version(name, ref)
            else:
                found = _versions_for(client, name, ref)
                if not found:
                    return uri, None
                version = max(found, key=lambda v: int(v.version))
        return f"models:/{version.name}/{version.version}", (version.tags or {}).get(tag)
    except MlflowException:
        return uri, None


def _versions_for(client, name: str, ref: str) -> list:
    """Versions ``models:/NAME/latest`` or ``models:/NAME/<stage>`` may mean."""
    import warnings

    if ref.lower() == "latest":
        escaped = name.replace("'", "\\'")
        return list(client.search_model_versions(f"name='{escaped}'"))
    with warnings.catch_warnings():  # stages are deprecated, but MLflow still resolves them
        warnings.simplefilter("ignore", FutureWarning)
        return list(client.get_latest_versions(name, stages=[ref]))


@contextlib.contextmanager
def _mlflow_uris(tracking: str, registry: str) -> Iterator[None]:
    """Point MLflow's process-wide URIs at ``tracking``/``registry`` for one download.

    Why: ``models:/`` resolution in MLflow 3 reads the global registry URI and ignores the
    ``registry_uri`` argument, and a library caller may have set another global URI. The
    previous globals are restored afterwards (module attributes, not the environment).
    """
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved = (getattr(tracking_utils, "_tracking_uri", None),
             getattr(registry_utils, "_registry_uri", None))
    bar = os.environ.get(PROGRESS_BAR_ENV)
    tracking_utils._tracking_uri = tracking
    registry_utils._registry_uri = registry
    if bar is None:  # MLflow's download bar would clutter the CLI's stderr
        os.environ[PROGRESS_BAR_ENV] = "false"
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved
        if bar is None:
            os.environ.pop(PROGRESS_BAR_ENV, None)


@contextlib.contextmanager
def _quiet_loggers(*names: str) -> Iterator[None]:
    """MLflow logs store migrations at INFO on stderr; the CLI promises one error line."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
