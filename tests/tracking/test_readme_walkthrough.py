"""README's MLflow walkthrough, run as written (all but looking at the UI in a browser).

The commands are read from README.md, not copied here, so the README cannot drift from what
runs: ``export`` lines set the environment, the two trainings run one after the other (with
speed-only overrides appended: fewer trees, no compile, no plots), ``mlflow ui`` and
``mlflow models serve`` start as real processes on free 127.0.0.1 ports, the REST call of
step 2 and the ``curl`` of step 4 run through bash, and the Python of step 5 runs in a fresh
interpreter. Only the ports (5000, 5001) and the relative data path change.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import stop_process_group

pytestmark = [pytest.mark.slow, pytest.mark.shared]

REPO = Path(__file__).resolve().parents[2]
# Speed only: fewer trees and inner folds, fewer resamples, no compiled library, no plots.
FAST = ("model.response.n_estimators=40 model.relapse.n_estimators=40 "
        "model.response.inner_folds=2 model.relapse.inner_folds=2 evaluation.n_boot=20 "
        "compile=false evaluation.plots=false")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def walkthrough_blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block of README's walkthrough, dedented, with
    continuation lines joined."""
    text = (REPO / "README.md").read_text()
    section = text.split("**Walkthrough**", 1)[1].split("**Team use", 1)[0]
    blocks = []
    for lang, body in re.findall(r"^ *```(bash|python)\n(.*?)^ *```", section,
                                         re.S | re.M):
        code = textwrap.dedent(body).replace("\\\n", " ")
        blocks.append((lang, code))
    return blocks


def _commands(code: str) -> list[str]:
    lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in code.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _export(command: str, env: dict) -> None:
    assert command.startswith("export "), command
    name, value = command.removeprefix("export ").split("=", 1)
    env[name] = value.replace("$PATH", env.get("PATH", ""))


def _wait(url: str, process: subprocess.Popen, log: Path, deadline: float) -> None:
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{url} did not answer: {log.read_text()[-2000:]}"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.3)


@contextlib.contextmanager
def _background(command: str, env: dict, cwd: Path, log: Path) -> Iterator[subprocess.Popen]:
    out = open(log, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(["bash", "-c", command], env=env, cwd=cwd,
                               stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        stop_process_group(process)
        out.close()


def test_the_walkthrough_runs_as_written(shared_data: Path, tmp_path: Path) -> None:
    ui_port, serve_port = _free_port(), _free_port()
    venv = Path(sys.executable).parent.parent

    def as_here(code: str) -> str:
        return (code.replace("$PWD/.venv", str(venv)).replace("../shared/data", str(shared_data))
                .replace("5000", str(ui_port)).replace("5001", str(serve_port)))

    blocks = [(lang, as_here(code)) for lang, code in walkthrough_blocks()]
    assert [lang for lang, _ in blocks] == ["bash", "bash", "bash", "bash", "python"]
    (_, setup), (_, search), (_, serve), (_, call), (_, python) = blocks
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREDICTOR_"))}
    env["PREDICTOR_PROGRESS"] = "plain"
    serve_env = dict(env)  # the second terminal's
    for command in _commands(serve)[:-1]:
        _export(command, serve_env)
    ui = None
    for command in _commands(setup):
        if command.startswith("export "):
            _export(command, env)
        elif command.startswith("predictor-train "):
            result = subprocess.run(["bash", "-c", f"{command} {FAST}"], env=env, cwd=tmp_path,
                                    capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, result.stderr[-3000:]
            last = result.stdout.strip().splitlines()[-1]
            assert last == f"model_uri: models:/chowell/{'2' if 'nl7' in command else '1'}"
        else:
            assert command.startswith("mlflow ui "), command
            ui = command
    assert ui is not None
    with _background(ui, env, tmp_path, tmp_path / "ui.log") as ui_process, \
            _background(_commands(serve)[-1], serve_env, tmp_path,
                        tmp_path / "serve.log") as serve_process:
        deadline = time.monotonic() + 240
        _wait(f"http://127.0.0.1:{ui_port}/health", ui_process, tmp_path / "ui.log", deadline)
        # Step 2 without a browser: the REST call the README shows, as written.
        found = subprocess.run(["bash", "-c", _commands(search)[0]], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
        runs = json.loads(found.stdout)["runs"]
        names = [r["info"]["run_name"] for r in runs]
        assert sorted(names) == ["chowell_icb", "chowell_icb_nl7"]
        metrics = [{m["key"]: m["value"] for m in r["data"]["metrics"]} for r in runs]
        for values in metrics:
            assert {"cv/roc_auc", "cv/harrell_c", "test/roc_auc", "test/harrell_c",
                    "test/roc_auc_ci_low", "baseline/loris/test/roc_auc"} <= set(values)
            assert 0.5 < values["test/roc_auc"] < 1
        aucs = [values["cv/roc_auc"] for values in metrics]
        assert aucs == sorted(aucs, reverse=True)  # ordered by the headline metric
        assert all(r["info"]["status"] == "FINISHED" for r in runs)
        datasets = {d["dataset"]["name"] for r in runs for d in r["inputs"]["dataset_inputs"]}
        assert {"training_cohort", "test_cohort"} <= datasets

        _wait(f"http://127.0.0.1:{serve_port}/ping", serve_process, tmp_path / "serve.log",
              deadline)
        answered = subprocess.run(["bash", "-c", _commands(call)[0]], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=120)
        predictions = json.loads(answered.stdout)["predictions"]
        assert len(predictions) == 1 and str(predictions[0]["patient_id"]) == "1"
        assert 0 < predictions[0]["response_probability"] < 1

    # Step 5, the Python a user would paste, in a fresh interpreter against the same store.
    ran = subprocess.run([sys.executable, "-c", python], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    printed = ran.stdout.splitlines()
    assert printed[0].split() == ["patient_id", "response_probability", "relapse_risk"]
    assert len(printed) == 6 and printed[1].split()[:2] == ["0", "1"]  # 5 rows, SAMPLE_ID 1..
