"""Atomic writes: permissions follow the umask, and SIGTERM removes the temporary file as
Ctrl-C does (issue #13, items 8 and 10)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from predictor.errors import InputError
from predictor.files import atomic_path, write_json, write_text_atomic

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from contextlib import nullcontext
    from predictor.files import atomic_path, exit_cleanly_on_sigterm, sigterm_exits
    if sys.argv[2] == "cli":
        exit_cleanly_on_sigterm()
    with sigterm_exits() if sys.argv[2] == "block" else nullcontext():
        with atomic_path(Path(sys.argv[1])) as tmp:
            tmp.write_bytes(b"x" * 1_000_000)
            print("ready", flush=True)
            time.sleep(60)
""")


def _terminated_writer(target: Path, mode: str) -> int:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), mode],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("mode", ["cli", "block"])
def test_sigterm_leaves_no_temporary_file(tmp_path: Path, mode: str) -> None:
    """The CLIs' process-wide handler and ``sigterm_exits`` (run_training from Python) alike."""
    target = tmp_path / "out.csv"
    assert _terminated_writer(target, mode) == 143
    assert list(tmp_path.iterdir()) == []


def test_sigterm_exits_restores_the_default_and_keeps_a_callers_handler() -> None:
    from predictor.files import sigterm_exits

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with sigterm_exits():
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        def own(signum: int, frame: object) -> None:
            pass

        signal.signal(signal.SIGTERM, own)
        with sigterm_exits():
            assert signal.getsignal(signal.SIGTERM) is own
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_cli_and_the_training_app_install_the_handler() -> None:
    import inspect

    from predictor import cli, train

    assert "exit_cleanly_on_sigterm()" in inspect.getsource(cli.main)
    assert "exit_cleanly_on_sigterm()" in inspect.getsource(train.main)


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_written_files_follow_the_umask(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        text = write_text_atomic(tmp_path / "report.md", "# report\n")
        data = write_json(tmp_path / "metrics.json", {"a": 1})
    finally:
        os.umask(old)
    for path in (text, data):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write here"), \
            atomic_path(blocker / "out" / "x.csv"):
        pass


def test_an_output_folder_under_a_file_is_one_line(tmp_path: Path) -> None:
    """``simulate``, ``evaluate`` and ``recalibrate`` build a folder beside the output
    (files.temp_dir_beside): one line when they may not."""
    from click.testing import CliRunner

    from predictor.cli import app

    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["simulate", "--patients", "5", "--out",
                                      str(blocker / "study")])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.strip().count("\n") == 0 and "cannot write here" in result.stderr


def test_occupied_is_anything_but_an_absent_path_or_an_empty_folder(tmp_path: Path) -> None:
    from predictor.files import occupied

    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / ".hidden").write_text("x")
    (tmp_path / "file").write_text("")
    assert not occupied(tmp_path / "absent") and not occupied(tmp_path / "empty")
    assert occupied(tmp_path / "full") and occupied(tmp_path / "file")
