"""MLflow's own model server scores rows of the cohort file as they are (real processes).

A Chowell model (small trees) is trained into a real ``mlflow server`` and registered; then
``mlflow models serve --env-manager local`` serves ``models:/<name>/1`` on 127.0.0.1 and is
called over HTTP with rows copied from ``test.csv`` (the file's own columns: ``SAMPLE_ID``,
``CancerType``, ``Drug`` ...) and with the same rows in schema names. Both must equal
``predictor predict`` on the same rows to 1e-9.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.processes import stop_process_group

pytestmark = pytest.mark.slow

NAME = "chowell-serve"
N_ROWS = 5


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, frame: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
    split = json.loads(frame.to_json(orient="split", index=False))  # NaN -> null
    payload = {"dataframe_split": split, **({"params": params} if params else {})}
    body = json.dumps(payload).encode()
    request = urllib.request.Request(f"{url}/invocations", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return pd.DataFrame(json.loads(response.read())["predictions"])


@pytest.fixture(scope="module")
def served(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    repo = Path(__file__).resolve().parents[2]
    data = repo.parent / "shared" / "data" / "chowell_icb"
    if not data.is_dir():
        pytest.skip("../shared/data is not available")
    work = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "PREDICTOR_PROGRESS": "plain",
           # as in an activated environment: the server starts `uvicorn` from PATH
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PREDICTOR_MLFLOW_PARENT_RUN_ID", None)
    train = subprocess.run(
        [sys.executable, "-m", "predictor.train", "+experiment=chowell_icb", "evaluation=fast",
         "model.response.n_estimators=60", "model.relapse.n_estimators=60", "compile=false",
         f"data.path={data / 'train.csv'}", f"data.test_path={data / 'test.csv'}",
         f"data.mapping={repo / 'conf/mappings/chowell_icb.yaml'}",
         f"hydra.run.dir={work / 'run'}", "tracking.experiment_name=serve",
         f"tracking.registered_model_name={NAME}"],
        cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert train.returncode == 0, train.stderr[-3000:]
    assert train.stdout.strip().splitlines()[-1] == f"model_uri: models:/{NAME}/1"
    rows = pd.read_csv(data / "test.csv").head(N_ROWS)
    rows.to_csv(work / "rows.csv", index=False)
    predicted = subprocess.run(
        [sys.executable, "-m", "predictor.cli", "predict", "--model", str(work / "run/model"),
         "--input", str(work / "rows.csv"), "--output", str(work / "pred.csv")],
        cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert predicted.returncode == 0, predicted.stderr[-2000:]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(mlflow_bin), "models", "serve", "-m", f"models:/{NAME}/1", "--env-manager",
         "local", "-h", "127.0.0.1", "-p", str(port)],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (work / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "mlflow models serve did not start"
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    break
            time.sleep(0.5)
        yield {"url": url, "rows": rows, "expected": pd.read_csv(work / "pred.csv"),
               "work": work, "bundle": work / "run/model"}
    finally:
        stop_process_group(process)
        log.close()


def _same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert [str(i) for i in got["patient_id"]] == [str(i) for i in expected["patient_id"]]
    for column in ("response_probability", "relapse_risk"):
        np.testing.assert_allclose(got[column].to_numpy(float),
                                   expected[column].to_numpy(float), rtol=0, atol=1e-9)


def test_rows_of_the_cohort_file_score_as_predictor_predict(served: dict) -> None:
    started = time.perf_counter()
    got = _post(served["url"], served["rows"])  # SAMPLE_ID, CancerType, Drug ... as in the file
    served["work"].joinpath("latency_s.txt").write_text(f"{time.perf_counter() - started:.3f}\n")
    _same(got, served["expected"])


def test_a_csv_row_of_the_file_posted_as_it_is(served: dict) -> None:
    """The README's ``head -2 test.csv | curl -H 'Content-Type: text/csv' ...``."""
    text = (served["work"] / "rows.csv").read_text()
    request = urllib.request.Request(f"{served['url']}/invocations", data=text.encode(),
                                     headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=120) as response:
        got = pd.DataFrame(json.loads(response.read())["predictions"])
    _same(got, served["expected"])


def test_rows_in_schema_names_score_the_same(served: dict) -> None:
    from predictor.serving.bundle import load_bundle
    from predictor.serving.pyfunc_model import bundle_flat_mapping, rows_to_cohort

    mapping = bundle_flat_mapping(load_bundle(served["bundle"]).manifest)
    schema_rows = rows_to_cohort(served["rows"], mapping).clinical.reset_index()
    assert "patient_id" in schema_rows.columns and "SAMPLE_ID" not in schema_rows.columns
    _same(_post(served["url"], schema_rows), served["expected"])


def test_signature_and_example_document_both_namings(served: dict, mlflow_server: str) -> None:
    import mlflow

    mlflow.set_tracking_uri(mlflow_server)
    info = mlflow.models.get_model_info(f"models:/{NAME}/1")
    names = set(info.signature.inputs.input_names())
    assert {"SAMPLE_ID", "CancerType", "Drug", "patient_id", "cancer_type", "regimen"} <= names
    assert "source columns" in info.metadata["predictor_input"] or \
        "own columns" in info.metadata["predictor_input"]
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/1",
                                                     dst_path=str(served["work"] / "m")))
    example = json.loads((local / "input_example.json").read_text())
    assert "SAMPLE_ID" in example["columns"] and "Drug" in example["columns"]
    assert "patient_id" not in example["columns"]


def test_regimens_param_over_http(served: dict) -> None:
    """``params: {"regimens": ...}`` returns the what-if rows ``predictor predict --regimens``
    writes for the same rows."""
    work = served["work"]
    out = work / "whatif.csv"
    done = subprocess.run(
        [sys.executable, "-m", "predictor.cli", "predict", "--model", str(served["bundle"]),
         "--input", str(work / "rows.csv"), "--output", str(out),
         "--regimens", "nivolumab;nivolumab+ipilimumab"],
        cwd=work, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = pd.read_csv(out)
    got = _post(served["url"], served["rows"],
                {"regimens": "nivolumab;nivolumab+ipilimumab"})
    assert got["regimen"].tolist() == expected["regimen"].tolist()
    assert got["rank"].tolist() == expected["rank"].tolist()
    _same(got, expected)


def test_python_caller_with_a_frame_read_from_the_cohort_file(served: dict,
                                                             mlflow_server: str) -> None:
    """``mlflow.pyfunc.load_model(uri).predict(frame)`` in Python, with the frame
    ``pandas.read_csv`` gives (int64 ``SAMPLE_ID``, ``Drug``, ``Stage``, ``Platelets`` ...):
    MLflow refuses int64 for a ``double`` column by its own rules, so the caller conforms the
    frame to the signature first; the result equals ``predictor predict`` to 1e-9."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from predictor.serving.pyfunc_input import conform_to_signature

    mlflow.set_tracking_uri(mlflow_server)
    rows = pd.read_csv(served["work"] / "rows.csv")
    integers = [c for c in rows.columns if rows[c].dtype == "int64"]
    assert {"SAMPLE_ID", "Drug", "Stage", "Platelets"} <= set(integers)
    model = mlflow.pyfunc.load_model(f"models:/{NAME}/1")
    with pytest.raises(MlflowException, match="int64"):
        model.predict(rows)  # MLflow's rule: int64 -> double is not a safe cast
    conformed = conform_to_signature(rows, model)
    assert all(conformed[c].dtype == "float64" for c in integers if c != "Response"
               and c in set(model.metadata.get_input_schema().input_names()))
    _same(model.predict(conformed), served["expected"])
    # Rows in schema names with an integer patient_id (a string column of the signature).
    from predictor.serving.bundle import load_bundle
    from predictor.serving.pyfunc_model import bundle_flat_mapping, rows_to_cohort

    mapping = bundle_flat_mapping(load_bundle(served["bundle"]).manifest)
    schema_rows = rows_to_cohort(served["rows"], mapping).clinical.reset_index()
    schema_rows["patient_id"] = schema_rows["patient_id"].astype("int64")
    _same(model.predict(conform_to_signature(schema_rows, model)), served["expected"])
