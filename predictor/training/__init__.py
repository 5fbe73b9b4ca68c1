"""The training run behind ``predictor-train``, one module per step.

- ``run``: :func:`run_training` (the whole run, in the order it happens) and its result;
- ``data``: the ``data`` group as :class:`CohortData` (read, split, targets);
- ``learners``: heads and baselines from ``cfg.model`` by ``_target_``;
- ``report``: plots, ``report.md``, ``metrics.json``, the resolved config;
- ``bundle``: the model bundle of the final models;
- ``tracking``: the MLflow run (store check first, one logging call at the end).
"""

from predictor.training.data import CohortData, TrainingData, resolve_path
from predictor.training.learners import make_feature_factory, make_learners
from predictor.training.run import TrainingResult, run_training

__all__ = ["CohortData", "TrainingData", "TrainingResult", "make_feature_factory",
           "make_learners", "resolve_path", "run_training"]
