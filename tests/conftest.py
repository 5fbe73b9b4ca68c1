"""Shared pytest fixtures: paths to the hand-written data fixtures and to ../shared/data."""

from __future__ import annotations

import shutil
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
