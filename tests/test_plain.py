"""plain(): one YAML/JSON-safe conversion for configs, mappings and bundle manifests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from predictor.plain import plain


def test_plain_values_for_yaml_and_json() -> None:
    node = OmegaConf.create({"a": "${b}", "b": [1, 2], "c": {"d": (1, 2)}})
    assert plain(node) == {"a": [1, 2], "b": [1, 2], "c": {"d": [1, 2]}}
    value = {1: "Male", "x": np.float32(0.5), "arr": np.arange(2), "p": Path("m.yaml"),
             "nan": float("nan"), "na": pd.NA, ("t",): 1, "s": {3}}
    out = plain(value)
    assert out == {1: "Male", "x": 0.5, "arr": [0, 1], "p": "m.yaml", "nan": None, "na": None,
                   "('t',)": 1, "s": [3]}
    assert type(out["x"]) is float
    assert math.isnan(plain(np.float64("nan")))  # numpy NaN stays NaN, as bundles wrote it
