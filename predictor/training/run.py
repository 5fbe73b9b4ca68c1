"""What ``predictor-train`` does with a composed config, in the order it happens.

Every part is built from the config by ``_target_``: the data (``cfg.data`` ->
:class:`~predictor.training.data.CohortData`), the feature pipeline (``cfg.features``), the
heads and baselines (``cfg.model``) and the evaluation (``cfg.evaluation`` ->
:class:`~predictor.evaluation.plan.EvaluationPlan`).

Metric names: ``cv_*`` (out-of-fold, training part), ``test_*`` (held-out), ``oracle_*``
(simulated truth on the held-out patients, or on the training part without a test split);
baselines as ``test_baseline_<name>_<metric>``; CIs as ``<metric>_ci_low``/``_ci_high``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from predictor.errors import InputError
from predictor.evaluation import harness as H
from predictor.files import ensure_dir
from predictor.progress import warnings_once
from predictor.training import regimens as R
from predictor.training.bundle import save_model_bundle
from predictor.training.data import CohortData
from predictor.training.learners import enabled_heads, make_feature_factory, make_learners
from predictor.training.report import write_run_files
from predictor.training.tracking import LiveRun, check_store, training_run

log = logging.getLogger(__name__)


def run_training(cfg: DictConfig, output_dir: Path | None = None) -> TrainingResult:
    """Train, evaluate, save and log one composed config; the metric for sweepers."""
    check_objective_name(cfg)
    output_dir = Path(output_dir) if output_dir is not None else hydra_output_dir()
    seed, heads = int(cfg.seed), enabled_heads(cfg)
    data_spec = instantiate(cfg.data)
    data_spec.check_paths()  # before the store and the output folder are created
    ensure_dir(output_dir)
    check_store(cfg.tracking)
    with warnings_once(), training_run(cfg.tracking, run_name(cfg)) as live:
        return _train(cfg, output_dir, seed, heads, live, data_spec)


def _train(cfg: DictConfig, output_dir: Path, seed: int, heads: dict[str, bool], live: LiveRun,
           data_spec: CohortData) -> TrainingResult:
    """The training itself, inside its (live) MLflow run."""
    plan = instantiate(cfg.evaluation)
    learners = make_learners(cfg)
    regimen_settings = R.RegimenSettings.from_config(cfg.model)
    make_features = make_feature_factory(cfg)
    settings = plan.settings(seed, horizons(cfg))
    resolved = OmegaConf.to_container(cfg, resolve=True)
    data = data_spec.load(seed, heads)
    live.log_data(config=resolved, data=data, data_spec=data_spec)
    train_targets = data_spec.targets(data.train, heads)
    ev = H.Evaluation()

    log.info("Cross-validating on %d training patients", len(data.train))
    cohort_groups = data_spec.cohort_groups(data.train)
    splits = plan.splits(train_targets, seed, cohort_groups)
    learners, regimen_cv, regimen_learner = R.select_learner(
        data.train, train_targets, splits, make_features, learners, data.regimen_truth,
        regimen_settings, ev.metrics)
    cv = H.cross_validate(data.train, train_targets, splits, make_features, learners,
                          on_fold=live.log_fold)
    H.summarise_cv(cv, train_targets, learners, settings, ev)
    if cohort_groups is not None:
        H.summarise_by_cohort(cv, train_targets, cohort_groups, ev)

    log.info("Fitting the final models")
    fit = H.final_fit(data.train, train_targets, learners, make_features, ev.failures)
    for head in heads:  # what the inner CV chose: 1 = trees alone
        model = fit.models.get(f"{head}/{H.MODEL}")
        if model is not None and hasattr(model, "tree_weight_"):
            ev.metrics[f"final_{head}_tree_weight"] = float(model.tree_weight_)

    regimens = R.finish(fit, data, train_targets, regimen_learner, regimen_cv,
                        regimen_settings, ev.metrics)

    log.info("Testing")
    test_scores: dict[str, np.ndarray] = {}
    eval_targets, prefix = train_targets, "cv"
    if data.test is not None:
        eval_targets, prefix = data_spec.targets(data.test, heads), "test"
        test_scores = H.evaluate_test(fit, data.test, eval_targets, train_targets, learners,
                                      settings, ev)
        if data_spec.robustness_groups:  # input columns missing at prediction time
            from predictor.evaluation.robustness import evaluate_robustness

            evaluate_robustness(fit, data.test, eval_targets, learners,
                                data_spec.robustness_groups, ev)
    if data.truth is not None:
        H.oracle_metrics(data.truth, eval_targets, prefix, settings, ev)

    log.info("Writing the report, the bundle and the MLflow run")
    files = write_run_files(output_dir, name=str(cfg.name), resolved_config=resolved,
                            data_spec=data_spec, plan=plan, data=data, fit=fit, ev=ev, cv=cv,
                            eval_targets=eval_targets, eval_prefix=prefix,
                            test_scores=test_scores, regimens=regimens)
    bundle_dir = save_model_bundle(output_dir / "model", name=str(cfg.name), seed=seed,
                                   compile=bool(cfg.get("compile", True)), data_spec=data_spec,
                                   data=data, fit=fit, horizons=list(settings.horizons),
                                   metrics=ev.metrics,
                                   propensity=None if regimens is None
                                   else regimens.bundle_state())
    run_id, model_uri = live.finish(data=data, metrics=ev.metrics, files=files,
                                    bundle_dir=bundle_dir)
    return TrainingResult(model_uri=model_uri or str(bundle_dir),
                          objective=objective(cfg, ev.metrics), metrics=dict(ev.metrics),
                          output_dir=output_dir, run_id=run_id)


@dataclass
class TrainingResult:
    model_uri: str
    objective: float | None
    metrics: dict[str, float]
    output_dir: Path
    run_id: str | None = None

    def summary(self) -> str:
        """A few headline numbers (the full set is in MLflow and ``metrics.json``)."""
        lines = []
        for key in ("cv_roc_auc", "test_roc_auc", "oracle_roc_auc", "test_roc_auc_over_oracle",
                    "cv_harrell_c", "test_harrell_c", "oracle_harrell_c",
                    "test_harrell_c_over_oracle"):
            if key in self.metrics and math.isfinite(self.metrics[key]):
                low, high = self.metrics.get(f"{key}_ci_low"), self.metrics.get(f"{key}_ci_high")
                ci = (f" (95% CI {low:.3f}-{high:.3f})"
                      if low is not None and high is not None and math.isfinite(low) else "")
                best = self.best_baseline(key)
                versus = f"; best baseline {best[0]} {best[1]:.3f}" if best else ""
                lines.append(f"{key}: {self.metrics[key]:.3f}{ci}{versus}")
        lines.append(f"output: {self.output_dir}")
        return "\n".join(lines)

    def best_baseline(self, key: str) -> tuple[str, float] | None:
        """The baseline with the highest value of metric ``key`` (``test_roc_auc`` ...)."""
        prefix, _, metric = key.partition("_")
        if prefix not in ("cv", "test") or metric not in ("roc_auc", "harrell_c"):
            return None
        start, end = f"{prefix}_baseline_", f"_{metric}"
        found = [(k[len(start):-len(end)], v) for k, v in self.metrics.items()
                 if k.startswith(start) and k.endswith(end) and math.isfinite(v)]
        return max(found, key=lambda item: item[1]) if found else None


def horizons(cfg: DictConfig) -> list[float]:
    """The relapse head's horizons in months (default 6, 12, 24)."""
    relapse = cfg.model.get("relapse") or {}
    return [float(h) for h in (relapse.get("horizons_months") or [6, 12, 24])]


def run_name(cfg: DictConfig) -> str:
    """``cfg.name``, with the job number inside a sweep (``demo-3``)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return f"{cfg.name}-{HydraConfig.get().job.num}"
    return str(cfg.name)


def hydra_output_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path.cwd() / "outputs" / "run"


def check_objective_name(cfg: DictConfig) -> None:
    """Sweepers may only optimise a CV metric: model selection never looks at the test split."""
    name = cfg.get("optimized_metric")
    if name and not str(name).startswith("cv_"):
        raise InputError(f"optimized_metric must be a cross-validation metric (cv_...), got "
                         f"{name!r}: model selection never looks at the test split")


def objective(cfg: DictConfig, metrics: dict[str, float]) -> float | None:
    """The value returned to sweepers: ``cfg.optimized_metric`` (NaN when not computed)."""
    name = cfg.get("optimized_metric")
    if not name:
        return None
    if name not in metrics:
        log.warning("optimized_metric %s was not computed (is its head enabled?)", name)
        return float("nan")
    return float(metrics[name])
