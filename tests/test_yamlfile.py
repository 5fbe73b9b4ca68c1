"""The libyaml reader gives the values, errors and safety of ``yaml.safe_load``."""

from __future__ import annotations

import pytest
import yaml

from predictor import yamlfile
from predictor.resources import config_dir


def test_uses_libyaml_when_pyyaml_has_it() -> None:
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML built without libyaml")
    assert yamlfile.SafeLoader is yaml.CSafeLoader


def test_same_values_as_safe_load_on_every_shipped_yaml() -> None:
    files = sorted(config_dir().rglob("*.yaml"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert repr(yamlfile.safe_load(text)) == repr(yaml.safe_load(text)), path


def test_same_values_on_a_written_manifest_shape() -> None:
    data = {"format": "x", "threshold": 0.123456789012345, "nan": float("nan"), "big": 1e300,
            "neg": -0.0, "ints": [1, -2, 10**20], "none": None, "flag": True, "date": "2024-01-02",
            "text": "a: b # c", "unicode": "Ωμέγα ✓", "long": "word " * 40,
            "nested": {1: "Male", "2": ["x", {"y": 1.5}]}, "empty": {}, "list": []}
    text = yaml.safe_dump(data, sort_keys=False)
    assert repr(yamlfile.safe_load(text)) == repr(yaml.safe_load(text))


def test_refuses_python_objects_like_safe_load() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlfile.safe_load("!!python/object/apply:os.system ['true']")


def test_errors_carry_the_line() -> None:
    with pytest.raises(yaml.YAMLError) as error:
        yamlfile.safe_load("a: 1\nb: [1, 2\nc: 3\n")
    assert error.value.problem_mark.line == 2  # 0-based, like yaml.safe_load's
