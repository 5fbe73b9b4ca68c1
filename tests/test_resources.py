"""Shipped configs are found in a checkout and in an installed wheel; user paths resolve from
the working directory first, then from the checkout or the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from predictor import resources, training
from predictor.errors import InputError
from predictor.tracking import mlflow_run

REPO = Path(__file__).resolve().parents[1]
MAPPING = "conf/mappings/chowell_icb.yaml"


def data_config(path: str) -> DictConfig:
    return OmegaConf.create({"_target_": "predictor.training.data.CohortData",
                             "path": path, "mapping": None, "test_fraction": 0,
                             "test_path": None, "truth_file": None})


def load_data(data_cfg: DictConfig, seed: int):  # type: ignore[no-untyped-def]
    return instantiate(data_cfg).load(seed)


def default_data_config() -> DictConfig:
    with initialize_config_dir(config_dir=str(resources.config_dir()), version_base="1.3"):
        return compose(config_name="config").data


# ---------------------------------------------------------------------------- checkout
def test_a_checkout_uses_its_own_conf_and_experiments() -> None:
    assert resources.source_checkout() == REPO
    assert resources.config_dir() == REPO / "conf"
    assert (resources.config_dir() / "experiment" / "chowell_icb.yaml").is_file()
    assert resources.resource_root() == REPO


def test_without_a_checkout_the_packaged_copy_is_used_and_git_is_not_asked(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "PACKAGE_DIR", tmp_path / "site-packages" / "predictor")
    assert resources.source_checkout() is None
    assert resources.config_dir() == resources.PACKAGED_ROOT / "conf"
    monkeypatch.setattr(mlflow_run, "source_checkout", lambda: None)
    assert mlflow_run.git_commit() is None


# ---------------------------------------------------------------------------- user paths
def test_a_relative_path_that_exists_in_the_working_directory_wins(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / MAPPING).parent.mkdir(parents=True)
    (tmp_path / MAPPING).write_text("id_column: ID\n")
    monkeypatch.chdir(tmp_path)
    assert resources.resolve_user_path(MAPPING) == tmp_path / MAPPING
    assert training.resolve_path(MAPPING) == tmp_path / MAPPING


def test_otherwise_it_comes_from_the_repository(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert resources.resolve_user_path(MAPPING) == REPO / MAPPING
    assert training.resolve_path("data/demo") == REPO / "data" / "demo"
    assert resources.resolve_user_path(str(tmp_path / "x")) == tmp_path / "x"  # absolute: kept
    assert resources.resolve_user_path("~/x") == Path.home() / "x"


def test_a_path_found_nowhere_is_a_one_line_error_naming_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert resources.resolve_user_path("no_such_study") == tmp_path / "no_such_study"
    with pytest.raises(InputError, match="no such file or folder") as error:
        load_data(data_config("no_such_study"), seed=0)
    assert str(tmp_path / "no_such_study") in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_demo_cohort_says_how_to_simulate_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data_cfg = default_data_config()
    assert resources.is_demo_cohort(data_cfg.path)
    (tmp_path / "package").mkdir()
    monkeypatch.setattr(resources, "resource_root", lambda: tmp_path / "package")  # a wheel
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"predictor simulate .*--out data/demo") as error:
        load_data(data_cfg, seed=0)
    assert str(error.value).startswith(str(tmp_path / "data" / "demo"))
    with pytest.raises(InputError, match="no such file or folder"):  # other paths: as before
        load_data(data_config("data/other"), seed=0)


# ---------------------------------------------------------------------------- wheel
SKIP_TOP = {".git", ".venv", "data", "tests", "docs", "outputs", "multirun", "mlruns",
            "mlruns.db", "mlartifacts", "build", "dist"}


def copy_sources(dest: Path) -> Path:
    """The repository without data, caches and build leftovers (conf/experiment stays a link),
    so that building writes nothing into the checkout."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = SKIP_TOP if Path(folder) == REPO else set()
        return {n for n in names if n in skip or n == "__pycache__" or n.endswith(".egg-info")
                or n.startswith(".")}

    return Path(shutil.copytree(REPO, dest, symlinks=True, ignore=ignore))


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def build_and_install(tmp_path: Path) -> Path:
    """Build a wheel offline, check what is in it, install it alone into a folder."""
    src = copy_sources(tmp_path / "src")
    built = run(["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "-w", str(tmp_path / "dist"), str(src)], cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr  # old setuptools: run `make`
    wheel = next((tmp_path / "dist").glob("predictor-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    packaged = "predictor/_resources/conf/"
    for name in ("config.yaml", "experiment/chowell_icb.yaml", "knowledge/drugs.yaml",
                 "knowledge/gene_sets.yaml", "mappings/chowell_icb.yaml"):
        assert packaged + name in names
    assert not [n for n in names if n.startswith("predictor/") and n.endswith((".txt", ".tsv"))]
    assert not [n for n in names if "data/demo/" in n]  # the 7 MB demo cohort stays out
    site = tmp_path / "site"
    installed = run(["-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site),
                     str(wheel)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return site


PROBE = """
import json, predictor
from predictor import resources
from predictor.features.knowledge import DEFAULT_DRUGS, load_drugs, load_gene_sets, resolve_path
from predictor.tracking.mlflow_run import git_commit
print(json.dumps({"module": predictor.__file__, "conf": str(resources.config_dir()),
                  "drugs": str(resolve_path(DEFAULT_DRUGS)), "n_drugs": len(load_drugs()),
                  "n_gene_sets": len(load_gene_sets()), "commit": git_commit()}))
"""


@pytest.mark.slow
def test_an_installed_wheel_trains_from_its_packaged_configs(tmp_path: Path) -> None:
    site = build_and_install(tmp_path)
    work = tmp_path / "work"  # not the checkout: the editable copy must not be importable here
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}

    probe = run(["-c", PROBE], cwd=work, env=env)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.splitlines()[-1])
    assert Path(found["module"]).is_relative_to(site)
    assert Path(found["conf"]) == site / "predictor" / "_resources" / "conf"
    assert Path(found["drugs"]).is_relative_to(site)
    assert found["n_drugs"] > 0 and found["n_gene_sets"] > 0 and found["commit"] is None

    for overrides, name in (([], "demo"), (["+experiment=chowell_icb"], "chowell_icb")):
        composed = run(["-m", "predictor.train", "--cfg", "job", *overrides], cwd=work, env=env)
        assert composed.returncode == 0, composed.stderr
        cfg = yaml.safe_load(composed.stdout)
        assert cfg["name"] == name
    assert cfg["data"]["mapping"] == MAPPING and cfg["features"]["families"]

    missing = run(["-m", "predictor.train", "tracking=disabled"], cwd=work, env=env)
    assert missing.returncode == 2
    errors = [line for line in missing.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in missing.stderr
    assert str(work / "data" / "demo") in errors[0] and "predictor simulate" in errors[0]

    # the command the message names, then training on the cohort in the working directory
    simulated = run(["-m", "predictor.cli", "simulate", "--patients", "200", "--seed", "1",
                     "--out", "data/demo"], cwd=work, env=env)
    assert simulated.returncode == 0, simulated.stderr
    trained = run(["-m", "predictor.train", "+experiment=demo_fast", "tracking=disabled",
                   "compile=false", "evaluation.plots=false"], cwd=work, env=env)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert trained.stdout.splitlines()[-1] == f"model_uri: {work / 'outputs/demo_fast/model'}"
