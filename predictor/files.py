"""Atomic file writes shared by every layer: a crash or a bad input never leaves a half-written
file where the user (or a later run) would read it."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from predictor.errors import InputError


def _umask() -> int:
    """The process umask (read by setting and restoring it: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets from ``open()``: ``0666`` less the umask."""
    return 0o666 & ~_umask()


def unwritable(path: Path, error: OSError) -> InputError:
    """The one-line error for a folder or file we may not write (read-only, no space, ...)."""
    reason = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "read-only file system",
              errno.ENOSPC: "no space left on device"}.get(error.errno or 0,
                                                             error.strerror or str(error))
    return InputError(f"cannot write here: {reason}", file=path)


def ensure_dir(path: Path) -> Path:
    """``mkdir -p`` that fails with one line (not a traceback) when the user may not write."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise unwritable(path, error) from None
    return path


def occupied(path: Path) -> bool:
    """``path`` exists and is not an empty folder: writing a new output folder there would
    overwrite what the user has (callers refuse it with their own one-line error)."""
    path = Path(path)
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def temp_dir_beside(path: Path) -> Path:
    """A new private folder next to ``path`` (built there, renamed into place by the caller);
    one-line error when the parent folder may not be written."""
    path = Path(path)
    ensure_dir(path.parent)
    try:
        return Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as error:
        raise unwritable(path.parent, error) from None


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it to ``path``, else delete.

    The final file gets the usual permissions (``0666`` less the umask), not the ``0600`` of
    a temporary file. The temporary file is deleted on any exception, including the
    ``SystemExit`` the CLI raises on SIGTERM (:func:`predictor.cli.main`).
    """
    path = Path(path)
    ensure_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise unwritable(path.parent, error) from None
    os.close(fd)
    try:
        yield Path(tmp)
        with contextlib.suppress(FileNotFoundError):  # a writer may have replaced the file
            os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, obj: Any, *, indent: int = 2, sort_keys: bool = True,
               newline: bool = True, default: Callable[[Any], Any] | None = None) -> Path:
    """JSON written atomically; sorted keys by default so equal objects give equal files."""
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, default=default)
    return write_text_atomic(path, text + ("\n" if newline else ""))


SIGTERM_EXIT = 128 + 15  # the shell's status for a process ended by SIGTERM


class Terminated(SystemExit):
    """SIGTERM turned into an exit (code 143): cleanup runs, and an MLflow run ends KILLED."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated(SIGTERM_EXIT)


def _may_handle_signals() -> bool:
    """Only the main thread may install a signal handler."""
    import threading

    return threading.current_thread() is threading.main_thread()


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM (sent by ``timeout``, SLURM, Kubernetes) into ``SystemExit(143)`` in the
    main thread, so that ``finally`` blocks and :func:`atomic_path` remove temporary files as
    they do on Ctrl-C. For the whole process (the CLIs); elsewhere than in the main thread this
    is a no-op. A library call that must not outlive SIGTERM uses :func:`sigterm_exits`."""
    import signal

    if _may_handle_signals():
        signal.signal(signal.SIGTERM, _on_sigterm)


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """:func:`exit_cleanly_on_sigterm` for the block only (``run_training`` called from Python:
    its MLflow run ends KILLED instead of RUNNING forever), then the default back. A no-op
    where SIGTERM already has a handler (the CLI's, or the caller's own) or off the main
    thread."""
    import signal

    if not _may_handle_signals() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
