"""The learners of a run, built from config by ``_target_``: the enabled heads and the
baselines they are compared with, all cross-validated on the same folds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from predictor.errors import InputError
from predictor.evaluation.harness import MODEL, Learner
from predictor.models.heads import HEADS


def enabled_heads(cfg: DictConfig) -> dict[str, bool]:
    """``cfg.heads`` with every head present (absent = enabled)."""
    heads = cfg.get("heads") or {}
    return {head: bool(heads.get(head, True)) for head in HEADS}


def make_learners(cfg: DictConfig) -> list[Learner]:
    """Each enabled head (``cfg.model.<head>``) followed by its baselines
    (``cfg.model.baselines.<head>``: name -> ``_target_`` node; null entries are skipped)."""
    seed = int(cfg.seed)
    learners: list[Learner] = []
    baselines = cfg.model.get("baselines") or {}
    for head, enabled in enabled_heads(cfg).items():
        if not enabled:
            continue
        learners.append(Learner(MODEL, head, _factory(cfg.model[head])))
        named = baselines.get(head) or {}
        if not isinstance(named, Mapping):
            raise InputError(f"model.baselines.{head} must map names to estimators, e.g. "
                             "{tmb_only: {_target_: predictor.models.baselines.TMBOnly}}")
        for name, node in named.items():
            if node is not None:
                _check_target(f"model.baselines.{head}.{name}", node)
                learners.append(Learner(str(name), head, _factory(node, seed=seed)))
    if not learners:
        raise InputError("both heads are disabled (heads.response and heads.relapse)")
    return learners


def make_feature_factory(cfg: DictConfig) -> Callable[[], Any]:
    """A fresh, unfitted feature pipeline per call (one per CV fold)."""
    return _factory(cfg.features)


def _check_target(key: str, node: Any) -> None:
    """A baseline names an importable estimator class (fails before any fitting)."""
    from hydra.utils import get_class

    target = node.get("_target_") if isinstance(node, Mapping) else None
    try:
        get_class(str(target))
    except Exception:  # hydra raises ImportError, ValueError ... depending on the case
        raise InputError(f"{key}: unknown estimator class {target!r} (give _target_: "
                         "module.Class)") from None


def _factory(node: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: instantiate(node, **kwargs)
