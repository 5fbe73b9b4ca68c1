"""MLflow metric names: the flat names of ``metrics.json`` regrouped with ``/``.

MLflow's UI groups metrics by the part before the first ``/``, so a run's ~500 numbers fall
into a few sections and the headline ones are found at once: ``cv/roc_auc``,
``test/harrell_c``, ``oracle/roc_auc``. Baselines get their own section,
``baseline/<name>/<cv|test>/<metric>``. ``metrics.json``, the sweep summary, ``report.md``
and ``optimized_metric`` keep the flat names; this function is the one mapping between them:

=====================================  =====================================
``metrics.json``                       MLflow
=====================================  =====================================
``cv_roc_auc``                         ``cv/roc_auc``
``test_harrell_c_ci_low``              ``test/harrell_c_ci_low``
``test_baseline_tmb_only_roc_auc``     ``baseline/tmb_only/test/roc_auc``
``oracle_roc_auc``                     ``oracle/roc_auc``
``final_response_tree_weight``         ``final/response_tree_weight``
``cv_regimen_s_learner_policy_value_model``  ``cv/regimen/s_learner/policy_value_model``
``test_regimen_policy_gap_closed``     ``test/regimen/policy_gap_closed``
=====================================  =====================================

An evaluation run (``predictor evaluate --log``) is the same shape in section ``external``:
its ``metrics.json`` keeps its unprefixed names (``roc_auc``, ``baseline_tmb_roc_auc``,
``model_minus_tmb_roc_auc``), which MLflow gets as if prefixed ``external_``
(:func:`evaluation_mlflow_metrics`):

=====================================  =====================================
evaluate's ``metrics.json``            MLflow
=====================================  =====================================
``roc_auc``, ``ece_ci_low``            ``external/roc_auc``, ``external/ece_ci_low``
``baseline_tmb_roc_auc``               ``baseline/tmb/external/roc_auc``
``model_minus_loris_roc_auc``          ``external/model_minus_loris_roc_auc``
=====================================  =====================================

Per-fold numbers logged while cross-validation runs are ``cv/fold/<metric>`` with
``step`` = the fold's position (repeat x folds + fold).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

EXTERNAL = "external"  # a labelled cohort scored by ``predictor evaluate``
SECTIONS = ("cv", "test", "oracle", "final", EXTERNAL)
BASELINE = "baseline_"
REGIMEN = "regimen_"
# Regimen learners (training.regimens.LEARNERS): their policy metrics get a sub-section.
REGIMEN_LEARNERS = ("s_learner", "propensity_weighted")


def mlflow_metric_name(name: str, baselines: Iterable[str] = ()) -> str:
    """The grouped MLflow name of a flat metric name (unknown shapes are kept as they are).

    ``baselines``: the run's baseline names, needed to split ``tmb_only_roc_auc`` correctly
    (baseline names contain underscores too).
    """
    section, sep, rest = name.partition("_")
    if not sep or section not in SECTIONS:
        return name
    if rest.startswith(BASELINE):
        tail = rest[len(BASELINE):]
        for baseline in sorted(baselines, key=len, reverse=True):
            if tail.startswith(baseline + "_"):
                return f"baseline/{baseline}/{section}/{tail[len(baseline) + 1:]}"
        return f"baseline/{section}/{tail}"
    if rest.startswith(REGIMEN):
        tail = rest[len(REGIMEN):]
        for learner in REGIMEN_LEARNERS:
            if tail.startswith(learner + "_"):
                return f"{section}/regimen/{learner}/{tail[len(learner) + 1:]}"
        return f"{section}/regimen/{tail}"
    return f"{section}/{rest}"


def mlflow_metrics(metrics: Mapping[str, float], baselines: Iterable[str] = ()
                   ) -> dict[str, float]:
    """``metrics`` under their MLflow names."""
    names = list(baselines)
    return {mlflow_metric_name(k, names): v for k, v in metrics.items()}


def evaluation_mlflow_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """An evaluation's ``metrics.json`` (unprefixed names) under MLflow names, section
    ``external``, exactly as a training's ``test_...`` names go to ``test/...``."""
    prefixed = {f"{EXTERNAL}_{k}": v for k, v in metrics.items()}
    return mlflow_metrics(prefixed, baseline_names(prefixed))


def baseline_names(metrics: Mapping[str, float]) -> set[str]:
    """Baseline names found in flat metric names, from their CI keys.

    Every baseline gets a CI on its head's primary metric (``roc_auc`` / ``harrell_c``), so
    ``<section>_baseline_<name>_<primary>_ci_low`` names each one without the learner list.
    """
    found = set()
    for key in metrics:
        for primary in ("_roc_auc_ci_low", "_harrell_c_ci_low"):
            for section in SECTIONS:
                start = f"{section}_{BASELINE}"
                if key.startswith(start) and key.endswith(primary):
                    found.add(key[len(start):-len(primary)])
    return found


def flat_metric_name(name: str) -> str:
    """The inverse of :func:`mlflow_metric_name` and :func:`evaluation_mlflow_metrics`:
    ``baseline/loris/test/roc_auc`` -> ``test_baseline_loris_roc_auc``,
    ``external/roc_auc`` -> ``roc_auc`` (for reading an MLflow run back as its
    ``metrics.json``)."""
    parts = name.split("/")
    if len(parts) >= 4 and parts[0] == "baseline" and parts[2] in SECTIONS:
        section, rest = parts[2], f"{BASELINE}{parts[1]}_{'/'.join(parts[3:])}"
    elif len(parts) == 3 and parts[0] == "baseline" and parts[1] in SECTIONS:
        section, rest = parts[1], f"{BASELINE}{parts[2]}"
    elif len(parts) >= 3 and parts[0] in SECTIONS and parts[1] == "regimen":
        section, rest = parts[0], f"{REGIMEN}{'_'.join(parts[2:])}"
    elif len(parts) >= 2 and parts[0] in SECTIONS:
        section, rest = parts[0], "/".join(parts[1:])
    else:
        return name
    return rest if section == EXTERNAL else f"{section}_{rest}"


def flat_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """An MLflow run's metrics under the flat names of ``metrics.json``."""
    return {flat_metric_name(k): v for k, v in metrics.items()}
