"""Bundle trust (serving.trust): the attacks of a hostile bundle, and what a user can still do.

1. Native code: a compiled object in a bundle is loaded only if this machine built it; a
   swapped object (with its sidecar and the manifest's sha256 list updated to match) is never
   executed, the text model is compiled again and predicts what LightGBM predicts.
2. ``bundle.yaml``: an edit (threshold, ...) is refused with one line naming
   ``predictor trust --model``; after the user has reviewed and confirmed it, it loads. The
   MLflow registry's manifest hash tag vouches for ``models:/`` on any machine.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from predictor.cli import app
from predictor.errors import InputError
from predictor.serving import trust
from predictor.serving.bundle import load_bundle
from predictor.serving.compiled import sha256_file
from predictor.tracking.tags import MANIFEST_TAG

from .conftest import register_bundle

runner = CliRunner()


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    return frame.select_dtypes("number").to_numpy(dtype=np.float64)


def _rehash(bundle: Path) -> None:
    """What an attacker does after editing files: make bundle.yaml's sha256 list match."""
    manifest = yaml.safe_load((bundle / "bundle.yaml").read_text())
    for rel in manifest["files"]:
        manifest["files"][rel] = sha256_file(bundle / rel)
    (bundle / "bundle.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def _edit_manifest(bundle: Path, **changes) -> None:
    manifest = yaml.safe_load((bundle / "bundle.yaml").read_text())
    manifest.update(changes)
    (bundle / "bundle.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def own_trust_list(private_trust_key, tmp_path, monkeypatch) -> None:
    """The session's key (bundles of the fixtures stay signed) with a trust list of this test
    only: what one test trusts must not make another's edited bundle acceptable."""
    trust.local_key()  # the session's, created on first use
    folder = tmp_path / "config"
    folder.mkdir(mode=0o700)
    shutil.copy2(private_trust_key / trust.KEY_FILE, folder / trust.KEY_FILE)
    monkeypatch.setenv(trust.CONFIG_ENV, str(folder))


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A private compiled-library cache for one test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg_cache"))
    return tmp_path / "xdg_cache" / "predictor" / "compiled"


@pytest.fixture
def other_machine(tmp_path, monkeypatch) -> Path:
    """From here on the tests run as another user/machine: a fresh key."""
    folder = tmp_path / "other_config"
    monkeypatch.setenv(trust.CONFIG_ENV, str(folder))
    return folder


# ---------------------------------------------------------------------------- the key
def test_key_is_private_and_created_once(tmp_path, monkeypatch):
    monkeypatch.setenv(trust.CONFIG_ENV, str(tmp_path / "cfg"))
    key = trust.local_key()
    path = trust.key_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(key) == 32 and trust.local_key() == key
    os.chmod(path, 0o644)  # readable by others: not a secret any more
    with pytest.raises(InputError, match="chmod 600"):
        trust.local_key()


def test_canonical_hash_ignores_layout_not_values():
    manifest = {"threshold": 0.27, "heads": ["response"], "files": {"a": "1"}}
    reordered = yaml.safe_load(yaml.safe_dump(dict(reversed(manifest.items())),
                                              default_flow_style=True))
    assert trust.manifest_sha256(reordered) == trust.manifest_sha256(manifest)
    assert trust.manifest_sha256({**manifest, "threshold": 0.97}) != \
        trust.manifest_sha256(manifest)


def test_fresh_bundle_is_signed_here(bundle_dir):
    manifest = yaml.safe_load((bundle_dir / "bundle.yaml").read_text())
    assert trust.trust_source(bundle_dir, manifest) == "signed here"
    sidecar = json.loads((bundle_dir / "compiled" / "response.json").read_text())
    assert trust.library_status(sidecar) == "built_here"
    assert "bundle.sig" not in manifest["files"]


# ---------------------------------------------------------------------------- item 1
@pytest.mark.parametrize("sidecar_mac", ["kept", "removed"])
def test_swapped_compiled_object_is_never_loaded(bundle_dir, tmp_path, sim_cohort, cache,
                                                 sidecar_mac, caplog):
    """compiled/response.o replaced by relapse.o (built on this very machine), sidecar and
    manifest hashes updated: refused until trusted, then compiled again from the text model."""
    evil = tmp_path / "evil"
    shutil.copytree(bundle_dir, evil)
    shutil.copyfile(evil / "compiled" / "relapse.o", evil / "compiled" / "response.o")
    sidecar = json.loads((evil / "compiled" / "response.json").read_text())
    sidecar["library_sha256"] = sha256_file(evil / "compiled" / "response.o")
    if sidecar_mac == "removed":  # looks like an object compiled elsewhere
        sidecar["mac"] = sidecar["key_id"] = None
    (evil / "compiled" / "response.json").write_text(json.dumps(sidecar))
    _rehash(evil)
    with pytest.raises(InputError, match="predictor trust --model"):
        load_bundle(evil)
    # Even a user who reviewed the (unchanged) settings and trusted the manifest only vouches
    # for text and JSON/YAML: the object is still not run.
    assert runner.invoke(app, ["trust", "--model", str(evil), "--yes"]).exit_code == 0
    with caplog.at_level(logging.INFO, logger="predictor.serving.compiled"):
        compiled = load_bundle(evil, backend="compiled")
    assert compiled.response.scorer.backend == "compiled"
    assert compiled.response.scorer.library.parent == cache  # rebuilt from model.txt
    assert compiled.relapse.scorer.library.parent == evil / "compiled"  # genuine: reused
    if sidecar_mac == "kept":
        assert any("MAC is wrong" in r.getMessage() for r in caplog.records)
    reference = load_bundle(evil, backend="lightgbm")
    a, b = compiled.predict(sim_cohort), reference.predict(sim_cohort)
    np.testing.assert_allclose(_numeric(a), _numeric(b), rtol=0, atol=1e-9)


def test_bundle_from_another_machine_recompiles_after_trust(bundle_dir, tmp_path, sim_cohort,
                                                            cache, other_machine):
    copy = tmp_path / "colleague"
    shutil.copytree(bundle_dir, copy)
    refused = runner.invoke(app, ["card", "--model", str(copy)])
    line = _one_error_line(refused)
    assert "not signed on this machine" in line and f"predictor trust --model {copy}" in line
    shown = runner.invoke(app, ["trust", "--model", str(copy)])
    assert shown.exit_code == 0 and "signed by another machine's key" in shown.stdout
    assert "not trusted yet" in shown.stdout
    with pytest.raises(InputError, match="not signed on this machine"):
        load_bundle(copy)  # showing is not trusting
    assert runner.invoke(app, ["trust", "--model", str(copy), "--yes"]).exit_code == 0
    # trust never writes into the user's folder: it records the manifest hash in its list
    assert (copy / "bundle.sig").read_bytes() == (bundle_dir / "bundle.sig").read_bytes()
    compiled = load_bundle(copy)
    for head in (compiled.response, compiled.relapse):
        assert head.scorer.backend == "compiled" and head.scorer.library.parent == cache
    np.testing.assert_allclose(_numeric(compiled.predict(sim_cohort)),
                               _numeric(load_bundle(copy, backend="lightgbm")
                                        .predict(sim_cohort)), rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------- item 2
def test_edited_threshold_is_refused_until_trusted(bundle_dir, flat_csv, tmp_path):
    edited = tmp_path / "edited"
    shutil.copytree(bundle_dir, edited)
    _edit_manifest(edited, threshold=0.97)
    _rehash(edited)
    out = tmp_path / "pred.csv"
    args = ["predict", "--model", str(edited), "--input", str(flat_csv), "--output", str(out)]
    line = _one_error_line(runner.invoke(app, args))
    assert "bundle.yaml was changed after this machine signed it" in line
    assert f"predictor trust --model {edited}" in line and not out.exists()
    card = runner.invoke(app, ["card", "--model", str(edited)])
    assert "bundle.yaml was changed" in _one_error_line(card)
    shown = runner.invoke(app, ["trust", "--model", str(edited)])
    assert shown.exit_code == 0, shown.output
    assert "threshold: 0.97" in shown.stdout and "not trusted yet" in shown.stdout
    assert runner.invoke(app, args).exit_code == 2  # still refused: nothing confirmed
    assert runner.invoke(app, ["trust", "--model", str(edited), "--yes"]).exit_code == 0
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    got = pd.read_csv(out)
    np.testing.assert_array_equal(got["response_predicted"],
                                  (got["response_probability"] >= 0.97).astype(int))
    assert runner.invoke(app, ["card", "--model", str(edited)]).exit_code == 0


@pytest.mark.parametrize("change", [
    {"horizons_months": [1.0, 2.0, 3.0]},
    {"feature_names": ["renamed"]},
    {"input_mapping": {"patient_id": "other_column"}},
    {"label_rule": {"source": "best_response", "positive": ["CR", "PR", "SD"]}},
])
def test_any_manifest_edit_is_refused(bundle_dir, tmp_path, change):
    edited = tmp_path / "edited"
    shutil.copytree(bundle_dir, edited)
    _edit_manifest(edited, **change)
    with pytest.raises(InputError, match="changed after this machine signed it"):
        load_bundle(edited)


def test_card_refuses_an_edited_card(bundle_dir, tmp_path):
    edited = tmp_path / "edited"
    shutil.copytree(bundle_dir, edited)
    card = edited / "MODEL_CARD.md"
    card.write_text(card.read_text().replace("threshold", "threshold (validated!)"))
    assert "MODEL_CARD.md" in _one_error_line(runner.invoke(app, ["card", "--model",
                                                                   str(edited)]))


def test_pyfunc_refuses_an_edited_bundle(bundle_dir, tmp_path):
    import mlflow

    from predictor.serving.pyfunc_model import PYFUNC_CODE

    model = tmp_path / "pyfunc"
    mlflow.pyfunc.save_model(str(model), python_model=str(PYFUNC_CODE),
                             artifacts={"bundle": str(bundle_dir)})
    assert mlflow.pyfunc.load_model(str(model)) is not None  # signed here: loads
    (stored,) = {p.parent for p in (model / "artifacts").rglob("bundle.yaml")}
    _edit_manifest(stored, threshold=0.97)
    with pytest.raises(Exception, match=r"bundle\.yaml was changed"):
        mlflow.pyfunc.load_model(str(model))


# ---------------------------------------------------------------------------- registry
@pytest.fixture
def registered(bundle_dir, tmp_path, monkeypatch) -> dict:
    """The bundle logged to a local store and registered as version 1 with its manifest hash
    tag (as ``log_predictor_model`` records it)."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run, version = register_bundle(client, bundle_dir, tmp_path / "art", "trust", "trusted_model")
    client.set_model_version_tag("trusted_model", version.version, MANIFEST_TAG,
                                 trust.bundle_manifest_sha256(bundle_dir))
    stored = tmp_path / "art" / run.info.run_id / "artifacts" / "model" / "artifacts" / "bundle"
    return {"uri": f"models:/trusted_model/{version.version}", "stored": stored,
            "run_uri": f"runs:/{run.info.run_id}/model"}


def test_registry_tag_vouches_on_another_machine(registered, other_machine, sim_cohort):
    from mlflow.tracking import MlflowClient

    MlflowClient().set_registered_model_alias("trusted_model", "champion", "1")
    for uri in (registered["uri"], "models:/trusted_model/latest",
                "models:/trusted_model@champion"):
        predictor = load_bundle(uri, backend="lightgbm")  # the tag of the resolved version
        assert predictor.response is not None
    with pytest.raises(InputError, match="not signed on this machine"):
        load_bundle(registered["run_uri"], backend="lightgbm")  # no run tag was recorded


def test_registry_detects_a_changed_artifact(registered):
    _edit_manifest(registered["stored"], threshold=0.97)
    _rehash(registered["stored"])
    with pytest.raises(InputError, match="MLflow registry"):
        load_bundle(registered["uri"], backend="lightgbm")
    line = _one_error_line(runner.invoke(app, ["card", "--model", registered["uri"]]))
    assert "MLflow registry" in line
    assert runner.invoke(app, ["trust", "--model", registered["uri"], "--yes"]).exit_code == 2


def test_dask_workers_accept_only_the_manifest_the_client_checked(bundle_dir, tmp_path,
                                                                   other_machine):
    """A worker may lack the client's key: it loads exactly the manifest hash it is given."""
    from predictor.serving.bundle import load_bundle_dir

    digest = trust.bundle_manifest_sha256(bundle_dir)
    assert load_bundle_dir(bundle_dir, backend="lightgbm", verified_sha256=digest) is not None
    edited = tmp_path / "edited"
    shutil.copytree(bundle_dir, edited)
    _edit_manifest(edited, threshold=0.97)
    with pytest.raises(InputError, match="changed since it was checked"):
        load_bundle_dir(edited, backend="lightgbm", verified_sha256=digest)
