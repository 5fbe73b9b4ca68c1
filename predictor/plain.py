"""Plain Python values for YAML and JSON: one conversion for configs, mappings and bundles."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def plain(value: Any) -> Any:
    """A YAML/JSON-safe copy of ``value``.

    OmegaConf nodes become dicts/lists (interpolations resolved); mappings, lists, tuples and
    sets are copied recursively (mapping keys stay scalars, e.g. value maps like ``{1: Male}``;
    other keys become text); numpy scalars and arrays become Python numbers and lists; paths
    become text; a Python NaN and ``pd.NA`` become None.
    """
    import numpy as np
    import pandas as pd

    if type(value).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return plain(OmegaConf.to_container(value, resolve=True))
    if isinstance(value, Mapping):
        return {(plain(k) if isinstance(k, str | int | float | bool | np.generic) else str(k)):
                plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()  # a NaN numpy scalar stays NaN (YAML .nan), as bundles wrote it
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value
