"""Checked reads of model files (a missing or corrupt file names itself); writes go through
:mod:`predictor.files`, so a crash never leaves a half-written model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from predictor.errors import InputError
from predictor.files import write_json, write_text_atomic

__all__ = ["check_model_file", "read_json", "write_json_atomic", "write_text_atomic"]

FORMAT_VERSION = 1


def write_json_atomic(path: Path, obj: Any) -> Path:
    """JSON with sorted keys so identical models give identical files (hashable bundles)."""
    return write_json(path, obj)


def read_json(path: Path) -> dict:
    """Read a model JSON file; a missing or corrupt file is a user error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", file=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a valid JSON model file ({exc.msg if hasattr(exc, 'msg') else exc})",
                         file=path) from exc


def check_model_file(path: Path) -> Path:
    """A LightGBM model file must exist before we hand it to LightGBM (clearer error)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("model file not found", file=path)
    return path
