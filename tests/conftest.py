"""Shared pytest fixtures: paths to the hand-written data fixtures and to ../shared/data."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_FIXTURES = REPO_ROOT / "tests" / "data" / "fixtures"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def tiny_study(tmp_path: Path) -> Path:
    """A private copy of the tiny cBioPortal study (with ``#`` header lines) to read or edit."""
    return Path(shutil.copytree(DATA_FIXTURES / "study_headers", tmp_path / "study"))


@pytest.fixture
def tiny_plain_study(tmp_path: Path) -> Path:
    """A private copy of the tiny cBioPortal study without ``#`` header lines."""
    return Path(shutil.copytree(DATA_FIXTURES / "study_plain", tmp_path / "study_plain"))


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests using it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def private_trust_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session signs and verifies bundles with its own key (``serving.trust``),
    never the developer's ``~/.config/predictor`` one; CLI subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("predictor_config")
    saved = os.environ.get("PREDICTOR_CONFIG_DIR")
    os.environ["PREDICTOR_CONFIG_DIR"] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop("PREDICTOR_CONFIG_DIR", None)
    else:
        os.environ["PREDICTOR_CONFIG_DIR"] = saved
