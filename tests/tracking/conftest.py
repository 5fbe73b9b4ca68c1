"""A real ``mlflow server`` (sqlite backend, local artifact store) for the tracking tests.

Started once per test session on a free localhost port, stopped (with its worker processes) at
the end. The tests talk to it over HTTP exactly as a user's tracking server would be used.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import stop_process_group

STARTUP_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI of a running MLflow tracking server with its own empty store."""
    root = tmp_path_factory.mktemp("mlflow_server")
    executable = Path(sys.executable).with_name("mlflow")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "mlflow"]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in the teardown below
    process = subprocess.Popen(
        [*command, "server",
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(root / 'server.log').read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not become healthy in time")
            time.sleep(0.5)
        yield url
    finally:
        # The server runs uvicorn workers and a job runner: stop the whole session we started.
        stop_process_group(process, grace_s=5)
        log.close()


@pytest.fixture
def tracking_env(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point MLflow (and the app's default URI) at the test server for one test."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.delenv("PREDICTOR_MLFLOW_PARENT_RUN_ID", raising=False)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)
    yield mlflow_server
    mlflow.set_tracking_uri(previous)
