"""One training per output folder: a second run with the same ``name`` is refused in one line.

Two trainings writing ``outputs/<name>`` at once would mix one run's ``.hydra`` config with the
other's overrides, interleave ``train.log`` and overwrite each other's bundle. A Hydra callback
takes an exclusive lock on ``<run dir>/.lock`` before Hydra writes anything there (``on_run_start``
runs before the job's folder is set up) and holds it until the process ends; the second run
exits with code 2 and says which folder is busy and how to pick another. Sweeps write to their
own timestamped folders and are not locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from pathlib import Path
from typing import IO, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from predictor.errors import InputError

LOCK_FILE = ".lock"


def lock_output_dir(folder: Path) -> IO[str]:
    """Lock ``folder`` (created if needed) for this process; InputError if another holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_FILE, "a+")  # noqa: SIM115 - held open until the run ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise InputError(f"output folder {folder} is in use by another training (pid {holder}); "
                         "wait for it, or give this run another name=... or "
                         "hydra.run.dir=...") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class OutputFolderLock(Callback):
    """Hydra callback: lock ``hydra.run.dir`` for a single run (see the module docstring)."""

    def __init__(self) -> None:
        self._handle: IO[str] | None = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(str(config.hydra.run.dir))
        try:
            self._handle = lock_output_dir(folder)
        except InputError as error:  # Hydra only warns when a callback raises: exit here
            print(f"error: {error}", file=sys.stderr)
            sys.exit(InputError.exit_code)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
