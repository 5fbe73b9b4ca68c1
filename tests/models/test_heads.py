"""The head registry: every head names a class with the heads' interface and a target kind."""

from __future__ import annotations

import pytest

from predictor.models import heads


@pytest.mark.parametrize("name", list(heads.HEADS))
def test_every_head_loads_its_class_with_the_heads_interface(name: str) -> None:
    kind = heads.head(name)
    assert kind.name == name and kind.target in (heads.BINARY, heads.SURVIVAL)
    cls = kind.model_class()
    for method in ("fit", "save", "load", "blend_raw", "contribution_matrix"):
        assert callable(getattr(cls, method)), (name, method)
    scorer = "predict_proba" if kind.target == heads.BINARY else "predict_risk"
    assert callable(getattr(cls, scorer))


def test_an_unknown_head_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: response, relapse"):
        heads.head("toxicity")


def test_served_columns_follow_the_target_kind() -> None:
    assert heads.head("response").output_columns([6]) == ["response_probability",
                                                          "response_predicted"]
    assert heads.head("relapse").output_columns([6, 12.5]) == [
        "relapse_risk", "relapse_free_probability_6m", "relapse_free_probability_12.5m"]
    death = heads.HeadKind("death", heads.SURVIVAL, "predictor.models.relapse.RelapseModel")
    assert death.output_columns([24.0]) == ["death_risk", "death_free_probability_24m"]
