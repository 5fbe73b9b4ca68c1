"""The run's model bundle: the final models, the input mapping, the label rule and the
training profile, compiled, in ``<output>/model``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from predictor.data.cohort import Cohort
from predictor.errors import InputError
from predictor.evaluation import harness as H
from predictor.models.heads import HEADS
from predictor.training.data import CohortData, TrainingData

PROBE_PATIENTS = 100
CARD_METRICS = ("cv_roc_auc", "cv_harrell_c", "test_roc_auc", "test_harrell_c")


def bundle_mapping(mapping: Any) -> dict | None:
    """The input mapping stored in the bundle, as a plain dict (a YAML path is read)."""
    if mapping is None:
        return None
    if isinstance(mapping, Path):
        import yaml

        from predictor import yamlfile

        try:
            loaded = yamlfile.safe_load(mapping.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise InputError(f"cannot read the mapping: {error}", file=mapping) from None
        return dict(loaded or {})
    return dict(mapping)


def probe_cohort(train: Cohort, seed: int) -> Cohort:
    """A few training patients whose feature rows check the compiled trees.

    The bundle keeps these rows (no ids) next to the compiled code, so keep them few.
    """
    ids = train.patient_ids
    if len(ids) > PROBE_PATIENTS:
        rng = np.random.default_rng(seed)
        ids = ids[np.sort(rng.choice(len(ids), PROBE_PATIENTS, replace=False))]
    return train.subset(ids).without_outcomes()


def save_model_bundle(bundle_dir: Path, *, name: str, seed: int, compile: bool,
                      data_spec: CohortData, data: TrainingData, fit: H.FinalFit,
                      horizons: list[float], metrics: dict[str, float],
                      propensity: dict | None = None) -> Path:
    """The compiled bundle of the final models, replacing an older one in the same folder.

    ``regimens.json`` lists the regimens given per cancer type in the training cohort (the
    candidates of ``predictor predict --regimens all``) and holds ``propensity``, the state of
    the regimen-propensity model fitted on the training cohort (None when there is none).
    """
    from predictor.data.regimens import regimens_by_cancer_type
    from predictor.serving.bundle import save_bundle

    return save_bundle(
        bundle_dir,
        feature_pipeline=fit.pipeline,
        heads={name: fit.models.get(f"{name}/{H.MODEL}") for name in HEADS},
        input_mapping=bundle_mapping(data.mapping),
        label_rule=data_spec.label_rule(),
        horizons=horizons,
        metadata={"name": name, "seed": seed, "n_train": len(data.train),
                  "n_test": 0 if data.test is None else len(data.test),
                  "metrics": {k: v for k, v in metrics.items()
                              if k in CARD_METRICS and math.isfinite(v)}},
        compile=compile,
        probe_cohort=probe_cohort(data.train, seed),
        training_features=fit.X_train,
        regimens={"by_cancer_type": regimens_by_cancer_type(data.train.clinical),
                  "propensity": propensity},
        overwrite=True,
    )
