"""Config -> MLflow params: flattening, the 500-character limit and patient-id redaction."""

from __future__ import annotations

from predictor.tracking.params import (
    MAX_PARAM_LENGTH,
    REDACTED,
    config_params,
    flatten,
    mentions_any,
    safe_tags,
)


def test_flatten_uses_dotted_paths_and_keeps_lists_whole() -> None:
    tree = {"model": {"response": {"num_leaves": 15}, "baselines": {"response": ["a", "b"]}},
            "empty": {}, "seed": 3}
    flat = flatten(tree)
    assert flat == {"model.response.num_leaves": 15, "model.baselines.response": ["a", "b"],
                    "empty": "{}", "seed": 3}


def test_long_values_are_truncated_to_the_mlflow_limit() -> None:
    params = config_params({"x": "a" * 2000, "y": None})
    assert len(params["x"]) == MAX_PARAM_LENGTH
    assert params["x"].endswith("[truncated]")
    assert params["y"] == "None"


def test_values_naming_a_patient_are_redacted() -> None:
    ids = ["P-0001", "P-0002"]
    params = config_params({"data": {"exclude": ["P-0002"], "path": "data/demo"}}, ids)
    assert params["data.exclude"] == REDACTED
    assert params["data.path"] == "data/demo"
    tags = safe_tags({"note": "drop P-0001 later", "ok": "fine", "none": None}, ids)
    assert tags == {"note": REDACTED, "ok": "fine"}


def test_numeric_row_ids_do_not_redact_every_number() -> None:
    params = config_params({"seed": 5, "n_boot": 1000, "note": "P-7"}, ["5", "1000", "P-7"])
    assert params == {"seed": "5", "n_boot": "1000", "note": REDACTED}


def test_id_matching_is_by_token_not_substring() -> None:
    assert not mentions_any("P-00010", {"P-0001"})
    assert mentions_any("[P-0001, x]", {"P-0001"})
    assert not mentions_any("anything", set())
