"""``predictor evaluate``: how well a bundle does on a hospital's own labelled patients.

Reads the cohort with the bundle's mapping, derives the targets by the bundle's label rule and
relapse endpoint (``serving.labelled``), predicts exactly as ``predictor predict`` does, and
writes ``report.md``, ``metrics.json`` and ``plots/`` to a new folder (built next to it and
renamed at the end: no partial output). The published baselines (TMB, LORIS) are scored on the
same patients when the cohort has their inputs. ``--log`` records an MLflow evaluation run.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.errors import InputError
from predictor.evaluation.external import (
    ExternalData,
    ExternalResult,
    evaluate_external,
    render_external_report,
    write_external_plots,
)
from predictor.evaluation.harness import EvalSettings
from predictor.files import occupied, temp_dir_beside
from predictor.serving.labelled import LabelledCohort, describe_label_rule, read_labelled

log = logging.getLogger(__name__)

GROUP_COLUMN = "cancer_type"
LORIS_NEEDS = {"tmb": "TMB", "psth": "prior systemic therapy", "albumin": "albumin",
               "nlr": "NLR", "age": "age"}


@dataclass
class Scored:
    """A labelled cohort with the bundle's predictions and features (same patient order)."""

    labelled: LabelledCohort
    predictions: pd.DataFrame          # predict's output, indexed by patient_id
    features: pd.DataFrame             # the bundle pipeline's feature matrix
    notes: list[str]


def score_labelled(predictor, labelled: LabelledCohort) -> Scored:
    """Predict every patient (labelled or not) exactly as ``predictor predict`` does."""
    cohort = labelled.cohort
    predictions = predictor.predict(cohort).set_index("patient_id")
    predictions.index = predictions.index.astype("string")
    features = predictor.pipeline.transform(cohort.without_outcomes())
    return Scored(labelled, predictions.reindex(cohort.patient_ids), features, [])


def published_baselines(X: pd.DataFrame) -> tuple[dict, dict, list[str], tuple[str, ...]]:
    """Scores of TMB alone and the published LORIS formula when ``X`` has their inputs.

    Nothing is fitted on the labels: TMB ranks patients as it is (risk = -TMB for relapse);
    LORIS uses its published coefficients, a patient's missing input filled with the cohort's
    median. LORIS is scored only when every one of its inputs is measured for some patient.
    Returns (response scores, relapse risks, notes, baselines giving probabilities).
    """
    from predictor.models.published import LORIS_INPUTS, Loris, _column

    response: dict[str, np.ndarray] = {}
    relapse: dict[str, np.ndarray] = {}
    notes: list[str] = []
    tmb = _column(X, LORIS_INPUTS["tmb"])
    if np.isfinite(tmb).any():
        response["tmb"], relapse["tmb"] = tmb, -tmb
    else:
        notes.append("TMB baseline not scored: the input has no TMB")
    absent = [label for key, label in LORIS_NEEDS.items()
              if not np.isfinite(_column(X, LORIS_INPUTS[key])).any()]
    if absent:
        notes.append(f"LORIS not scored: the input lacks {', '.join(absent)}")
    else:
        loris = Loris().fit_inputs(X)  # medians of the inputs only; labels unused
        response["loris"] = loris.predict_proba(X)
        relapse["loris"] = -loris.linear_predictor(X)
    return response, relapse, notes, ("loris",) if "loris" in response else ()


def external_data(predictor, scored: Scored) -> ExternalData:
    """The arrays the metrics need, in the cohort's patient order."""
    lab, pred = scored.labelled, scored.predictions
    n = len(pred)
    nan = np.full(n, np.nan)
    cohort = lab.cohort
    groups = (cohort.clinical[GROUP_COLUMN].astype("string").fillna("<missing>").to_numpy()
              if GROUP_COLUMN in cohort.clinical.columns else np.full(n, "all", dtype=object))
    data = ExternalData(groups=groups,
                        label=nan if lab.label is None else lab.label.to_numpy(np.float64))
    if lab.label is not None and "response_probability" in pred.columns:
        data.probability = pred["response_probability"].to_numpy(np.float64)
    if lab.time is not None and "relapse_risk" in pred.columns:
        data.time, data.event = lab.time.to_numpy(np.float64), lab.event.to_numpy(np.float64)
        data.risk = pred["relapse_risk"].to_numpy(np.float64)
        model, risk = predictor.relapse.model, data.risk
        data.survival = lambda times: model.survival_from_risk(risk, times)
    response, relapse, notes, probability = published_baselines(scored.features)
    scored.notes.extend(notes)
    data.baselines = {"response": response if data.probability is not None else {},
                      "relapse": relapse if data.risk is not None else {}}
    data.probability_baselines = probability
    return data


def problems_section(problems: list[dict], with_ids: bool = True) -> str:
    """The patients left out of an endpoint's metrics and why (ids only in the local copy)."""
    if not problems:
        return ""
    lines = ["| patient | file line | endpoint | reason |", "|---|---|---|---|"]
    for p in problems:
        who = p["patient_id"] if with_ids else "(withheld)"
        line = "–" if p.get("line") is None else str(p["line"])
        lines.append(f"| {who} | {line} | {p['endpoint']} | {p['reason']} |")
    return "\n".join(lines)


def count_notes(scored: Scored, metrics: Mapping[str, float]) -> list[str]:
    lab = scored.labelled
    n = len(lab.cohort)
    notes = [f"patients predicted: {n}"]
    if lab.label is not None:
        notes.append(f"response: {lab.n_labelled} labelled (in the metrics), "
                     f"{n - lab.n_labelled} without a label (predicted, not in the metrics)")
    if lab.time is not None:
        complete = int((lab.time.notna() & lab.event.notna()).sum())
        notes.append(f"relapse: {complete} with a complete outcome (in the metrics), "
                     f"{n - complete} without one")
    by_endpoint: dict[str, int] = {}
    for p in lab.problems:
        by_endpoint[p["endpoint"]] = by_endpoint.get(p["endpoint"], 0) + 1
    if by_endpoint:
        notes.append("left out of one endpoint for an unusable outcome value (listed below): "
                     + ", ".join(f"{k} {v}" for k, v in sorted(by_endpoint.items())))
    return notes


def evaluate_cohort(predictor, labelled: LabelledCohort, settings: EvalSettings
                    ) -> tuple[Scored, ExternalData, ExternalResult]:
    """Predict, then every metric (used by ``evaluate`` and by ``recalibrate``)."""
    scored = score_labelled(predictor, labelled)
    data = external_data(predictor, scored)
    return scored, data, evaluate_external(data, settings)


def run_evaluation(model_uri: str, input_path: str | Path, output_dir: str | Path, *,
                   mapping: str | Path | None = None, n_boot: int = 1000, seed: int = 0,
                   backend: str = "compiled", log_mlflow: bool = False) -> str:
    """Evaluate ``model_uri`` on ``input_path``; write ``output_dir``; return a summary."""
    from predictor.resources import resolve_user_path
    from predictor.serving.bundle import load_bundle

    input_path, output_dir = Path(input_path), Path(output_dir)
    check_output_dir(output_dir, input_path)
    if n_boot < 1:
        raise InputError(f"--n-boot must be at least 1, got {n_boot}")
    predictor = load_bundle(model_uri, backend=backend)
    chosen = resolve_user_path(mapping) if mapping is not None else None
    labelled = read_labelled(predictor.manifest, input_path, chosen)
    horizons = tuple(predictor.horizons) or (6.0, 12.0, 24.0)
    settings = EvalSettings(n_boot=n_boot, seed=seed, horizons=horizons)
    scored, data, result = evaluate_cohort(predictor, labelled, settings)
    metrics = dict(result.metrics)
    meta = predictor.manifest.get("metadata") or {}
    rule = predictor.manifest.get("label_rule") or {}
    trained = f", trained on {meta['n_train']} patients" if meta.get("n_train") else ""
    notes = [f"model: `{model_uri}` ({meta.get('name', 'predictor model')}{trained})",
             f"input: `{input_path}`",
             *count_notes(scored, metrics),
             f"response label: {describe_label_rule(rule)}; relapse endpoint: "
             f"{str(rule.get('relapse_endpoint') or 'pfs').upper()}",
             f"95% CIs: percentile bootstrap over patients, {n_boot} resamples (seed {seed}); "
             "Uno's C and time-dependent AUC weight by the cohort's own censoring",
             *labelled.notes, *scored.notes]
    metrics.update(n_patients=float(len(labelled.cohort)),
                   n_outcome_problems=float(len(labelled.problems)))

    def report(with_ids: bool) -> str:
        extra = [("Patients left out of an endpoint's metrics",
                  problems_section(labelled.problems, with_ids))]
        return render_external_report(metrics, title="External evaluation", notes=notes,
                                      per_group=result.per_group, horizons=horizons,
                                      extra_sections=extra)

    work = temp_dir_beside(output_dir.expanduser().resolve())
    try:
        (work / "report.md").write_text(report(with_ids=True), encoding="utf-8")
        (work / "metrics.json").write_text(json.dumps(
            {k: (v if math.isfinite(v) else None) for k, v in sorted(metrics.items())},
            indent=2) + "\n", encoding="utf-8")
        write_external_plots(work / "plots", data, horizons)
        run_note = ""
        if log_mlflow:
            from predictor.tracking.evaluation_logging import log_evaluation_run

            shared = work / ".mlflow_report"
            shared.mkdir()
            (shared / "report.md").write_text(report(with_ids=False), encoding="utf-8")
            run_id = log_evaluation_run(
                model_uri=model_uri, metrics=metrics,
                files=[shared / "report.md", work / "metrics.json"], plots=work / "plots",
                data_fingerprint=labelled.cohort.fingerprint(),
                patient_ids=labelled.cohort.patient_ids,
                params={"input_name": input_path.name, "n_boot": n_boot, "seed": seed,
                        "n_patients": len(labelled.cohort)})
            shutil.rmtree(shared)
            run_note = f"; MLflow evaluation run {run_id}"
        _publish(work, output_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return summary_line(metrics, output_dir) + run_note


def summary_line(metrics: Mapping[str, float], output_dir: Path) -> str:
    parts = []
    for key in ("roc_auc", "ece", "calibration_intercept", "harrell_c"):
        value = metrics.get(key)
        if value is not None and math.isfinite(value):
            parts.append(f"{key} {value:.3f}")
    return f"wrote {output_dir}/report.md ({', '.join(parts) or 'no metric'})"


def check_output_dir(output_dir: Path, input_path: Path) -> None:
    """A new (or empty) folder that is not the input and not inside an input folder."""
    out = output_dir.expanduser().resolve()
    src = input_path.expanduser().resolve()
    if out == src or (src.is_dir() and src in out.parents):
        raise InputError("output folder is the input or inside it; write it elsewhere",
                         file=output_dir)
    if occupied(out):
        raise InputError("output folder exists and is not empty; refusing to overwrite it",
                         file=output_dir)


def _publish(work: Path, output_dir: Path) -> None:
    """Rename the finished temp folder to ``output_dir`` (an empty one is replaced)."""
    os.chmod(work, 0o755)
    for path in work.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    if output_dir.is_dir():
        output_dir.rmdir()  # empty (checked): rmdir refuses anything else
    os.replace(work, output_dir)
