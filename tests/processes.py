"""Stopping the server processes tests start (mlflow server, mlflow models serve, ui).

They run worker processes of their own, so each is started in a new session and the whole
process group is stopped: SIGTERM, then SIGKILL when it has not ended within ``grace_s``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen, grace_s: float = 10) -> None:
    """Stop ``process`` (started with ``start_new_session=True``) and everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
