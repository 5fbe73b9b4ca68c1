"""The model heads, by name: the one list the evaluation, training and serving layers read.

A head is an estimator with the heads' interface (``fit``, ``save``/``load``, ``booster_``,
``blend_raw``, ``contribution_matrix``); its *target* says how it is fitted and scored:

- ``binary``: ``fit(X, y)``, scored by ``predict_proba(X)`` (ROC AUC, ECE, ...);
- ``survival``: ``fit(X, time, event)``, scored by ``predict_risk(X)`` (Harrell's C, IBS, ...).

Served predictions follow the target too (:meth:`HeadKind.output_columns`,
:meth:`HeadKind.predict_columns`): ``<name>_probability`` and ``<name>_predicted`` for a
binary head, ``<name>_risk`` and ``<name>_free_probability_<h>m`` per horizon for a survival
head. Like ``FAMILIES`` for feature families: a new head of a known target kind is its model
module, one entry here and one config node (``model.<name>`` with its ``_target_``); training,
evaluation, the bundle, the predictor and the model card read this list. See
docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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

    def output_columns(self, horizons: Sequence[float] = ()) -> list[str]:
        """The served prediction columns of this head, in output order."""
        if self.target == BINARY:
            return [f"{self.name}_probability", f"{self.name}_predicted"]
        return [f"{self.name}_risk", *[survival_column(self.name, h) for h in horizons]]

    def predict_columns(self, model: Any, raw: np.ndarray, matrix: np.ndarray, *,
                        threshold: float | None, horizons: Sequence[float]
                        ) -> dict[str, np.ndarray]:
        """The served columns (:meth:`output_columns`) from the booster's raw scores ``raw``
        of feature matrix ``matrix``, computed anywhere (LightGBM or the compiled core)."""
        score = model.blend_raw(raw, matrix)  # adds the linear part, if any
        if self.target == BINARY:
            proba = np.asarray(model.calibrate(score), dtype=np.float64)
            return {f"{self.name}_probability": proba,
                    f"{self.name}_predicted": (proba >= float(threshold)).astype(np.int64)}
        out = {f"{self.name}_risk": score}  # log relative hazard
        if horizons:
            surv = np.asarray(model.survival_from_risk(score, np.asarray(horizons)),
                              dtype=np.float64).reshape(len(score), len(horizons))
            for j, h in enumerate(horizons):
                out[survival_column(self.name, h)] = surv[:, j]
        return out


def survival_column(name: str, horizon: float) -> str:
    """A survival head's column for a horizon in months: ``relapse``, 6 ->
    ``relapse_free_probability_6m``."""
    return f"{name}_free_probability_{float(horizon):g}m"


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
