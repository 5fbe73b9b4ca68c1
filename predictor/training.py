"""What ``predictor-train`` does with a composed config, step by step.

load cohort -> hold out the test split (never seen by CV or model selection) -> repeated
stratified K-fold CV of both heads and every baseline on the training part (feature pipeline
fitted inside each fold) -> final fit on all training patients -> held-out test metrics and
oracle metrics (simulated truth) -> plots and report -> bundle (compiled) in the run's output
folder -> MLflow (params, metrics, tags, artifacts, pyfunc model, registry).

Metric names: ``cv_*`` (out-of-fold, training part), ``test_*`` (held-out), ``oracle_*``
(simulated truth on the held-out patients, or on the training part without a test split);
baselines as ``test_baseline_<name>_<metric>``; CIs as ``<metric>_ci_low``/``_ci_high``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from predictor import resources
from predictor.data.cohort import Cohort
from predictor.data.labels import ResponseRule, relapse_target, response_labels
from predictor.errors import InputError
from predictor.evaluation import harness as H

log = logging.getLogger(__name__)

REPO_ROOT = resources.resource_root()  # the checkout, or the packaged configs of a wheel
TRUTH_COLUMNS = ("patient_id", "true_response_probability", "true_relapse_hazard")


# ---------------------------------------------------------------------------- data
@dataclass
class TrainingData:
    """The training part, the held-out test part (or None) and the simulated truth (or None)."""

    full: Cohort
    train: Cohort
    test: Cohort | None
    truth: pd.DataFrame | None
    mapping: Any
    test_from_file: bool = False

    def separate_test(self) -> bool:
        """Whether the test cohort was read from its own file (``data.test_path``)."""
        return self.test is not None and self.test_from_file

    def all_patient_ids(self) -> pd.Index:
        ids = self.full.patient_ids
        return ids.append(self.test.patient_ids) if self.separate_test() else ids

    def extra_tags(self) -> dict[str, str]:
        return {"test_data_fingerprint": self.test.fingerprint()} if self.separate_test() \
            else {}


def resolve_path(path: str | Path | None) -> Path | None:
    """A config path: absolute as given, else from the working directory when it exists there,
    else from the repository (or packaged resources); see :func:`resources.resolve_user_path`."""
    if path in (None, ""):
        return None
    return resources.resolve_user_path(str(path))


def cohort_path(path: str | Path | None) -> Path | None:
    """``data.path`` resolved; a missing demo cohort (not in the wheel) says how to write it."""
    resolved = resolve_path(path)
    if resolved is not None and not resolved.exists() and resources.is_demo_cohort(path):
        raise InputError("no such folder (an installed package does not ship the demo cohort): "
                         f"write it with `{resources.DEMO_COMMAND}` or set data.path=YOUR_COHORT",
                         file=resolved)
    return resolved


def cohort_paths(path) -> Path | list[Path] | None:
    """``data.path`` resolved: one path, or a list of paths whose studies are pooled (each
    patient's study id in the ``cohort`` column; ``data.cohort_column: cohort`` then makes CV
    leave-one-cohort-out)."""
    if isinstance(path, str | Path) or path is None:
        return cohort_path(path)
    paths = [cohort_path(p) for p in path]
    if not paths or any(p is None for p in paths):
        raise InputError("data.path lists no study, or an empty entry")
    return paths  # type: ignore[return-value]


def label_rule(data_cfg: DictConfig) -> ResponseRule:
    rule = data_cfg.response_rule
    sd = rule.get("sd_min_months")
    return ResponseRule(source=str(rule.source), positive=tuple(rule.get("positive") or ()),
                        sd_min_months=None if sd is None else float(sd))


def landmark_day(data_cfg: DictConfig) -> float | None:
    """``data.landmark_day``: the day of treatment a landmark model is scored at, or None."""
    value = data_cfg.get("landmark_day")
    return None if value is None else float(value)


def describe_landmark(day: float | None) -> str:
    """The landmark clause of the report's relapse-endpoint note ("" without a landmark)."""
    if day is None:
        return ""
    return (f", from the landmark day {day:g} (patients event-free and followed at that day "
            "only; relapse-free probabilities are for the months after it)")


def describe_rule(rule: ResponseRule) -> str:
    """``best_response in {CR, PR}`` (+ the SD duration clause when set)."""
    if rule.source == "responder":
        return "the study's responder column"
    text = f"best_response in {{{', '.join(rule.positive)}}}"
    if rule.sd_min_months is not None:
        text += f", or SD with PFS >= {rule.sd_min_months:g} months"
    return text


def targets_of(cohort: Cohort, data_cfg: DictConfig,
               heads: Mapping[str, bool] | None = None) -> H.Targets:
    """Response label, relapse time/event and strata group of every patient of ``cohort``.

    The target of a head switched off in ``heads`` is all NaN and its outcome columns are not
    needed, so a cohort with only a response label trains with ``heads.relapse=false`` (and one
    with only PFS with ``heads.response=false``).
    """
    if cohort.outcomes is None:
        raise InputError("the training cohort has no outcomes (no response or relapse columns)")
    heads = heads or {}
    outcomes = cohort.outcomes.reindex(cohort.patient_ids)
    nan = pd.Series(np.nan, index=outcomes.index)
    y = nan.rename("response")
    if heads.get("response", True):
        y = _needed(lambda: response_labels(outcomes, label_rule(data_cfg)), "response",
                    outcomes)
    rt = pd.DataFrame({"time": nan, "event": nan})
    if heads.get("relapse", True):
        rt = _needed(lambda: relapse_target(outcomes, str(data_cfg.relapse_endpoint),
                                            landmark_day(data_cfg)), "relapse", outcomes)
    column = data_cfg.get("stratify_column") or "cancer_type"
    if column not in cohort.clinical.columns:
        raise InputError(f"stratify column {column!r} is not a clinical column", column=column)
    groups = cohort.clinical[column].astype("string").fillna("<missing>").astype(str)
    return H.Targets(response=y.astype(float), time=rt["time"], event=rt["event"],
                     groups=groups)


def read_truth(path: Path) -> pd.DataFrame:
    """The simulator's ground truth (never part of a cohort), indexed by patient id."""
    if not path.is_file():
        raise InputError("truth file not found", file=path)
    truth = pd.read_csv(path, sep="\t", dtype={"patient_id": str})
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise InputError(f"truth file lacks column(s) {', '.join(missing)}", file=path,
                         column=missing[0])
    truth = truth.set_index("patient_id")
    truth.index = truth.index.astype("string")
    return truth


def _needed(make: Callable[[], Any], head: str, outcomes: pd.DataFrame) -> Any:
    """A head's target; an outcome column the cohort lacks says how to train without that
    head (other errors, e.g. an unknown endpoint, are raised as they are)."""
    try:
        return make()
    except InputError as error:
        if error.column is None or error.column in outcomes.columns:
            raise
        raise InputError(f"{error.message} (a cohort without it can train the other head "
                         f"alone: heads.{head}=false)", file=error.file, line=error.line,
                         column=error.column) from None


def load_data(data_cfg: DictConfig, seed: int,
              heads: Mapping[str, bool] | None = None) -> TrainingData:
    """Read (or simulate) the cohort and split off the held-out test part."""
    from predictor.data.readers import read_cohort

    mapping = data_cfg.get("mapping")
    mapping_path = resolve_path(mapping) if isinstance(mapping, str) else None
    mapping_arg = mapping_path if mapping_path is not None else (
        OmegaConf.to_container(mapping, resolve=True) if mapping is not None else None)
    truth = None
    simulate = data_cfg.get("simulate")
    if simulate and data_cfg.get("path") in (None, ""):
        from predictor.data.simulator import simulate_cohort

        cohort, truth = simulate_cohort(int(simulate.n_patients), seed=int(simulate.seed))
        truth = truth.set_index("patient_id") if "patient_id" in truth.columns else truth
        truth.index = truth.index.astype("string")
    else:
        path = cohort_paths(data_cfg.get("path"))
        if path is None:
            raise InputError("data.path is not set (a cBioPortal folder or a flat table, or a "
                             "list of them to pool)")
        cohort = read_cohort(path, mapping=mapping_arg)
    truth_path = resolve_path(data_cfg.get("truth_file"))
    if truth_path is not None:
        truth = read_truth(truth_path)
    test_path = resolve_path(data_cfg.get("test_path"))
    if test_path is not None:
        test = read_cohort(test_path, mapping=mapping_arg)
        overlap = test.patient_ids.intersection(cohort.patient_ids)
        if len(overlap):  # row ids restart in each file of some studies (e.g. Chowell's)
            log.warning("%d patient id(s) appear in both the training and the test file; "
                        "if they are the same patients, the test set is not held out",
                        len(overlap))
        return TrainingData(cohort, cohort, test, truth, mapping_arg, test_from_file=True)
    fraction = float(data_cfg.get("test_fraction") or 0.0)
    if fraction <= 0:
        return TrainingData(cohort, cohort, None, truth, mapping_arg)
    from predictor.evaluation.splits import train_test_split_stratified

    targets = targets_of(cohort, data_cfg, heads)
    train_idx, test_idx = train_test_split_stratified(
        targets.response.to_numpy(), targets.groups.to_numpy(), test_fraction=fraction,
        seed=seed)
    ids = cohort.patient_ids
    return TrainingData(cohort, cohort.subset(ids[train_idx]), cohort.subset(ids[test_idx]),
                        truth, mapping_arg)


# ---------------------------------------------------------------------------- learners
def cohort_column(train: Cohort, data_cfg: DictConfig) -> pd.Series | None:
    """The source-cohort column for leave-one-cohort-out CV (``data.cohort_column``), if set."""
    column = data_cfg.get("cohort_column")
    if not column:
        return None
    if column not in train.clinical.columns:
        raise InputError(f"data.cohort_column {column!r} is not a clinical column",
                         column=str(column))
    return train.clinical[column].astype("string")


def make_learners(cfg: DictConfig) -> list[H.Learner]:
    """The enabled heads (instantiated from ``cfg.model``) and the configured baselines."""
    from hydra.utils import instantiate

    from predictor.models.baselines import RELAPSE_BASELINES, RESPONSE_BASELINES

    heads = cfg.get("heads") or {}
    seed = int(cfg.seed)
    learners: list[H.Learner] = []
    registries = {H.RESPONSE: RESPONSE_BASELINES, H.RELAPSE: RELAPSE_BASELINES}
    for head in (H.RESPONSE, H.RELAPSE):
        if not heads.get(head, True):
            continue
        head_cfg = cfg.model[head]
        learners.append(H.Learner(H.MODEL, head, _factory(instantiate, head_cfg)))
        for name in (cfg.model.get("baselines") or {}).get(head) or []:
            if name not in registries[head]:
                raise InputError(f"unknown {head} baseline {name!r} (known: "
                                 f"{', '.join(sorted(registries[head]))})")
            cls = registries[head][name]
            learners.append(H.Learner(str(name), head, _baseline_factory(cls, seed)))
    if not learners:
        raise InputError("both heads are disabled (heads.response and heads.relapse)")
    return learners


def _factory(instantiate: Callable, node: DictConfig) -> Callable[[], Any]:
    return lambda: instantiate(node)


def _baseline_factory(cls: type, seed: int) -> Callable[[], Any]:
    return lambda: cls(seed=seed)


def make_feature_factory(cfg: DictConfig) -> Callable[[], Any]:
    from hydra.utils import instantiate

    return lambda: instantiate(cfg.features)


# ---------------------------------------------------------------------------- the run
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


def run_training(cfg: DictConfig, output_dir: Path | None = None) -> TrainingResult:
    """The whole training run for one composed config (see the module docstring)."""
    check_objective_name(cfg)
    output_dir = Path(output_dir) if output_dir is not None else hydra_output_dir()
    output_dir.mkdir(parents=True, exist_ok=True)
    seed = int(cfg.seed)
    if cfg.tracking.get("enabled", True):
        from predictor.tracking.run_logging import check_tracking

        check_tracking(cfg.tracking)
    heads = dict(cfg.get("heads") or {})
    data = load_data(cfg.data, seed, heads)
    train_targets = targets_of(data.train, cfg.data, heads)
    learners = make_learners(cfg)
    make_features = make_feature_factory(cfg)
    settings = eval_settings(cfg)
    ev = H.Evaluation()

    cohort_groups = cohort_column(data.train, cfg.data)
    splits = H.make_splits(train_targets, n_splits=int(cfg.evaluation.n_splits),
                           n_repeats=int(cfg.evaluation.n_repeats), seed=seed,
                           cohort_groups=cohort_groups)
    log.info("CV: %d splits on %d training patients", len(splits), len(data.train))
    cv = H.cross_validate(data.train, train_targets, splits, make_features, learners)
    H.summarise_cv(cv, train_targets, learners, settings, ev)
    if cohort_groups is not None:
        H.summarise_by_cohort(cv, train_targets, cohort_groups, ev)

    fit = H.final_fit(data.train, train_targets, learners, make_features, ev.failures)
    for head in (H.RESPONSE, H.RELAPSE):  # what the inner CV chose: 1 = trees alone
        model = fit.models.get(f"{head}/{H.MODEL}")
        if model is not None and hasattr(model, "tree_weight_"):
            ev.metrics[f"final_{head}_tree_weight"] = float(model.tree_weight_)
    test_scores: dict[str, np.ndarray] = {}
    if data.test is not None:
        test_targets = targets_of(data.test, cfg.data, heads)
        test_scores = H.evaluate_test(fit, data.test, test_targets, train_targets, learners,
                                      settings, ev)
        if cfg.data.get("robustness_groups"):  # input columns missing at prediction time
            from predictor.evaluation.robustness import evaluate_robustness

            evaluate_robustness(fit, data.test, test_targets, learners,
                                cfg.data.robustness_groups, ev)
        eval_targets, prefix = test_targets, "test"
    else:
        eval_targets, prefix = train_targets, "cv"
    if data.truth is not None:
        H.oracle_metrics(data.truth, eval_targets, prefix, settings, ev)

    return write_outputs(cfg, data=data, fit=fit, ev=ev, cv=cv, learners=learners,
                         train_targets=train_targets, eval_targets=eval_targets,
                         eval_prefix=prefix, test_scores=test_scores,
                         horizons=list(settings.horizons), output_dir=output_dir)


# ---------------------------------------------------------------------------- outputs
def write_plots(plots_dir: Path, fit: H.FinalFit, targets: H.Targets, scores: dict[str, Any],
                X: pd.DataFrame | None) -> None:
    """ROC/PR/calibration (response), KM by risk tertile (relapse), importance, contributions."""
    from predictor.evaluation import plots as P

    def named(head: str) -> dict[str, np.ndarray]:
        return {key.split("/", 1)[1]: np.asarray(s) for key, s in scores.items()
                if key.startswith(head + "/")}

    y = targets.response.to_numpy(dtype=float)
    response = named(H.RESPONSE)
    if response and np.isfinite(y).any():
        P.plot_roc(y, response, plots_dir / "roc.png")
        P.plot_precision_recall(y, response, plots_dir / "precision_recall.png")
        if H.MODEL in response:
            P.plot_calibration(y, {H.MODEL: response[H.MODEL]}, plots_dir / "calibration.png")
    relapse = named(H.RELAPSE)
    if H.MODEL in relapse:
        P.plot_km_by_risk(targets.time.to_numpy(float), targets.event.to_numpy(float),
                          relapse[H.MODEL], plots_dir / "km_by_risk.png")
    for head in (H.RESPONSE, H.RELAPSE):
        model = fit.models.get(f"{head}/{H.MODEL}")
        if model is None:
            continue
        P.plot_feature_importance(model.feature_importance(),
                                  plots_dir / f"importance_{head}.png")
        if X is not None and hasattr(model, "contributions"):
            sample = X.iloc[:500]
            P.plot_contributions(model.contributions(sample), sample,
                                 plots_dir / f"contributions_{head}.png")


def contribution_sections(fit: H.FinalFit) -> list[tuple[str, str]]:
    """Report sections: top features by mean |contribution| of each final head (training rows)."""
    from predictor.evaluation.report import contribution_table

    sections = []
    for head, what in ((H.RESPONSE, "response (log-odds)"), (H.RELAPSE, "relapse (log hazard)")):
        model = fit.models.get(f"{head}/{H.MODEL}")
        if model is None or not hasattr(model, "contributions") or not len(fit.X_train):
            continue
        table = contribution_table(model.contributions(fit.X_train), fit.X_train)
        if table:
            sections.append((f"Feature contributions: {what}, final model, training patients",
                             table))
    return sections


def bundle_mapping(mapping: Any) -> dict | None:
    """The input mapping stored in the bundle, as a plain dict (a YAML path is read)."""
    if mapping is None:
        return None
    if isinstance(mapping, Path):
        import yaml

        try:
            loaded = yaml.safe_load(mapping.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise InputError(f"cannot read the mapping: {error}", file=mapping) from None
        return dict(loaded or {})
    return dict(mapping)


PROBE_PATIENTS = 100


def probe_cohort(train: Cohort, seed: int) -> Cohort:
    """A few training patients whose feature rows check the compiled trees.

    The bundle keeps these rows (no ids) next to the compiled code, so keep them few.
    """
    ids = train.patient_ids
    if len(ids) > PROBE_PATIENTS:
        rng = np.random.default_rng(seed)
        ids = ids[np.sort(rng.choice(len(ids), PROBE_PATIENTS, replace=False))]
    return train.subset(ids).without_outcomes()


def save_model_bundle(cfg: DictConfig, data: TrainingData, fit: H.FinalFit, horizons: list[float],
                      metrics: dict[str, float], bundle_dir: Path) -> Path:
    """The compiled bundle of the final models, replacing an older one in the same folder."""
    from predictor.serving.bundle import save_bundle

    rule = label_rule(cfg.data)
    return save_bundle(
        bundle_dir,
        feature_pipeline=fit.pipeline,
        response_model=fit.models.get(f"{H.RESPONSE}/{H.MODEL}"),
        relapse_model=fit.models.get(f"{H.RELAPSE}/{H.MODEL}"),
        input_mapping=bundle_mapping(data.mapping),
        label_rule={"source": rule.source, "positive": list(rule.positive),
                    "sd_min_months": rule.sd_min_months,
                    "relapse_endpoint": str(cfg.data.relapse_endpoint),
                    "landmark_day": landmark_day(cfg.data)},
        horizons=horizons,
        metadata={"name": str(cfg.name), "seed": int(cfg.seed),
                  "n_train": len(data.train),
                  "n_test": 0 if data.test is None else len(data.test),
                  "metrics": {k: v for k, v in metrics.items()
                              if k in ("cv_roc_auc", "cv_harrell_c", "test_roc_auc",
                                       "test_harrell_c") and math.isfinite(v)}},
        compile=bool(cfg.get("compile", True)),
        probe_cohort=probe_cohort(data.train, int(cfg.seed)),
        training_features=fit.X_train,
        overwrite=True,
    )


def write_outputs(cfg: DictConfig, *, data: TrainingData, fit: H.FinalFit, ev: H.Evaluation,
                  cv: H.CVPredictions, learners: list[H.Learner], train_targets: H.Targets,
                  eval_targets: H.Targets, eval_prefix: str, test_scores: dict[str, np.ndarray],
                  horizons: list[float], output_dir: Path) -> TrainingResult:
    """Plots, report, metrics, bundle, MLflow; the objective for sweepers."""
    from predictor.evaluation.report import render_report, write_report

    if eval_prefix == "test":
        plot_scores: dict[str, Any] = test_scores
        X_plot = ev.plot_data.get("X_test")
    else:  # no held-out test: plot the first repeat's out-of-fold predictions
        plot_scores = {key: s[:, 0] for key, s in cv.scores.items()}
        X_plot = fit.X_train
    plots_dir = output_dir / "plots"
    if plots_dir.is_dir():  # plots of an earlier run in the same folder would be logged too
        shutil.rmtree(plots_dir)
    if cfg.evaluation.get("plots", True):
        write_plots(plots_dir, fit, eval_targets, plot_scores, X_plot)
    notes = [f"training patients: {len(data.train)}; held-out test patients: "
             f"{0 if data.test is None else len(data.test)}",
             f"CV: {cfg.evaluation.n_splits}-fold x {cfg.evaluation.n_repeats} repeats "
             "(feature pipeline fitted inside each fold); CIs: percentile bootstrap over "
             f"patients, {cfg.evaluation.n_boot} resamples",
             f"response label: {describe_rule(label_rule(cfg.data))}; relapse endpoint: "
             f"{cfg.data.relapse_endpoint}{describe_landmark(landmark_day(cfg.data))}"]
    report_path = write_report(output_dir / "report.md", render_report(
        ev.metrics, title=f"predictor training run: {cfg.name}", per_group=ev.per_group,
        failures=ev.failures, notes=notes, extra_sections=contribution_sections(fit)))
    metrics_path = output_dir / "metrics.json"
    write_json(metrics_path, {k: (v if math.isfinite(v) else None) for k, v in ev.metrics.items()})
    resolved = OmegaConf.to_container(cfg, resolve=True)
    config_path = output_dir / "config_resolved.yaml"
    from predictor.models.io import write_text_atomic

    write_text_atomic(config_path, OmegaConf.to_yaml(OmegaConf.create(resolved)))
    bundle_dir = save_model_bundle(cfg, data, fit, horizons, ev.metrics, output_dir / "model")
    model_uri, run_id = str(bundle_dir), None
    if cfg.tracking.get("enabled", True):
        from predictor.serving.bundle import load_bundle
        from predictor.tracking.model_logging import synthetic_input_example
        from predictor.tracking.pyfunc_model import rows_to_cohort
        from predictor.tracking.run_logging import log_training_run

        example = synthetic_input_example(data.train)
        with _quiet_missing_input_warning():  # the flat example lacks MAF/TME tables by design
            output = load_bundle(bundle_dir).predict(rows_to_cohort(example))
            logged = log_training_run(
                tracking=cfg.tracking, run_name=run_name(cfg), config=resolved,
                metrics=ev.metrics, patient_ids=data.all_patient_ids(),
                data_fingerprint=data.full.fingerprint(), extra_tags=data.extra_tags(),
                artifact_files=[report_path, metrics_path, config_path],
                artifact_dirs={"plots": plots_dir}, bundle_dir=bundle_dir,
                input_example=example, output_example=output)
        run_id = logged.run_id
        model_uri = logged.model_uri or model_uri
    return TrainingResult(model_uri=model_uri, objective=objective(cfg, ev.metrics),
                          metrics=dict(ev.metrics), output_dir=output_dir, run_id=run_id)


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


def eval_settings(cfg: DictConfig) -> H.EvalSettings:
    """The evaluation group (and the relapse horizons) as plain settings for the harness."""
    return H.EvalSettings(n_boot=int(cfg.evaluation.n_boot),
                          ci_level=float(cfg.evaluation.ci_level),
                          min_group_n=int(cfg.evaluation.min_group_n), seed=int(cfg.seed),
                          horizons=tuple(_horizons(cfg)))


def _horizons(cfg: DictConfig) -> list[float]:
    relapse = cfg.model.get("relapse") or {}
    return [float(h) for h in (relapse.get("horizons_months") or [6, 12, 24])]


def write_json(path: Path, obj: Any) -> None:
    from predictor.models.io import write_text_atomic

    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")


@contextlib.contextmanager
def _quiet_missing_input_warning() -> Iterator[None]:
    """Silence the predictor's missing-input warning while the pyfunc example is scored.

    The MLflow pyfunc takes flat per-patient rows, so its synthetic example has no MAF, clone or
    TME tables; the warning would be true but says nothing about the user's data.
    """
    logger = logging.getLogger("predictor.serving.predictor")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
