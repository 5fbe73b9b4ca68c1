"""The model heads, by name: the one list the evaluation, training and serving layers read.

A head is an estimator with the heads' interface (``fit``, ``save``/``load``, ``booster_``,
``blend_raw``, ``contribution_matrix``); its *target* says how it is fitted and scored:

- ``binary``: ``fit(X, y)``, scored by ``predict_proba(X)`` (ROC AUC, ECE, ...);
- ``survival``: ``fit(X, time, event)``, scored by ``predict_risk(X)`` (Harrell's C, IBS, ...).

Like ``FAMILIES`` for feature families: a new head of a known target kind is one entry here
and one config node (``model.<name>`` with its ``_target_``); see docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

RESPONSE = "response"
RELAPSE = "relapse"
BINARY = "binary"
SURVIVAL = "survival"


@dataclass(frozen=True)
class HeadKind:
    """A head's name (bundle folder, config key, metric prefix), target kind and class."""

    name: str
    target: str          # BINARY | SURVIVAL
    model_path: str      # "module.Class", imported on demand (serving loads only what it needs)

    def model_class(self) -> type:
        module, _, cls = self.model_path.rpartition(".")
        return getattr(importlib.import_module(module), cls)


HEADS: dict[str, HeadKind] = {
    RESPONSE: HeadKind(RESPONSE, BINARY, "predictor.models.response.ResponseModel"),
    RELAPSE: HeadKind(RELAPSE, SURVIVAL, "predictor.models.relapse.RelapseModel"),
}


def head(name: str) -> HeadKind:
    """The head called ``name`` (a KeyError names the known ones)."""
    try:
        return HEADS[name]
    except KeyError:
        raise KeyError(f"unknown model head {name!r} (known: {', '.join(HEADS)})") from None
