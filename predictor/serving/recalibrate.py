"""``predictor recalibrate``: a new bundle whose probabilities fit a hospital's own patients.

A model that ranks patients well elsewhere often has the wrong probabilities at a new hospital
(another case mix, another response rate). Clinical prediction models are updated locally in
steps of increasing flexibility (Steyerberg's updating ladder; Vergouwe et al. 2017):

- ``intercept`` (default): logit(p_new) = logit(p) + b. One parameter; it fixes calibration in
  the large (the dominant failure when a model moves) and keeps the ranking and the spread of
  the predictions. The safest for small samples: one parameter needs the fewest events and
  cannot over-fit the shape of the curve.
- ``logistic``: logit(p_new) = a * logit(p) + b. Also corrects predictions that are too
  extreme or too timid (calibration slope); two parameters.
- ``isotonic``: centered isotonic regression of the labels on the model's raw score (as at
  training): any monotone shape, so it needs many events.

Only the response calibration (and, with ``relapse=True``, the Breslow baseline hazard of the
relapse head, refitted on the local patients' outcomes with the model's own risk scores)
changes: trees, linear parts and features are copied unchanged, so the ranking (ROC AUC,
C-index) is the parent's. The decision threshold moves with the calibration so that
``response_predicted`` flags the same patients. The new bundle's manifest and model card record
the parent, the local cohort (size, fingerprint), the method and the metrics before and after
on the local cohort (in-sample for "after": evaluate on other patients for an honest number).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy.special import expit, logit

from predictor.errors import InputError
from predictor.evaluation import metrics as M
from predictor.evaluation.external import relapse_block, response_block
from predictor.evaluation.harness import EvalSettings
from predictor.files import occupied
from predictor.models.calibration import LOGIT_CLIP, Calibrator, centered_isotonic
from predictor.models.io import read_json, write_json_atomic, write_text_atomic
from predictor.serving.labelled import read_labelled

log = logging.getLogger(__name__)

METHODS = ("intercept", "logistic", "isotonic")
DEFAULT_METHOD = "intercept"
# Events (patients of the smaller class: responders or non-responders) each method needs:
# about 10 per estimated parameter for the parametric updates (Steyerberg 2019, ch. 20), and
# enough for a nonparametric curve for isotonic (Van Calster et al., J Clin Epidemiol 2016:
# flexible calibration needs at least ~100 events).
MIN_EVENTS = {"intercept": 10, "logistic": 20, "isotonic": 100}
MIN_RELAPSE_EVENTS = 20  # the Breslow baseline is a step per event time
REPORTED = ("roc_auc", "ece", "brier", "calibration_intercept", "calibration_slope",
            "mean_predicted", "prevalence")


@dataclass
class Update:
    calibrator: Calibrator
    threshold: float
    params: dict


def events_rule(method: str) -> str:
    return (f"--method {method} needs at least {MIN_EVENTS[method]} responders and "
            f"{MIN_EVENTS[method]} non-responders")


def check_events(method: str, y: np.ndarray) -> None:
    """Refuse a method the local sample is too small for (the rule is in the message)."""
    n_pos = int(np.sum(y == 1))
    n_neg = int(np.sum(y == 0))
    if min(n_pos, n_neg) < MIN_EVENTS[method]:
        smaller = [m for m in METHODS if MIN_EVENTS[m] <= min(n_pos, n_neg)]
        hint = f"; --method {smaller[-1]} fits this sample" if smaller else ""
        raise InputError(f"too few events to recalibrate: {n_pos} responders and {n_neg} "
                         f"non-responders, and {events_rule(method)}{hint}")


def fit_update(method: str, base: Calibrator, raw: np.ndarray, y: np.ndarray,
               threshold: float) -> Update:
    """The new calibrator (on the same raw scores) and the threshold that keeps the calls."""
    p0 = np.clip(base(raw), LOGIT_CLIP, 1 - LOGIT_CLIP)
    if method in ("intercept", "logistic"):
        intercept, slope = M.logistic_recalibration(y, p0, slope=method == "logistic",
                                                    clip=LOGIT_CLIP)
        if not (math.isfinite(intercept) and math.isfinite(slope)):
            raise InputError("the recalibration did not converge (the local labels are "
                             "perfectly separated by the model's scores?)")
        if slope <= 0:
            raise InputError(f"the local calibration slope is {slope:.3f} (<= 0): the model "
                             "does not rank these patients, recalibration cannot fix that")
        new = Calibrator(method="logit_update", a=slope, b=intercept, base=base.to_dict())
        t = float(np.clip(threshold, LOGIT_CLIP, 1 - LOGIT_CLIP))
        return Update(new, float(expit(slope * logit(t) + intercept)),
                      {"a": slope, "b": intercept})
    x, y_knots = centered_isotonic(raw, y)
    new = Calibrator(method="centered_isotonic", x=x.tolist(), y=y_knots.tolist())
    return Update(new, _moved_threshold(base, new, raw, threshold), {"knots": len(x)})


def _moved_threshold(base: Calibrator, new: Calibrator, raw: np.ndarray,
                     threshold: float) -> float:
    """``new`` at the raw score where ``base`` reaches ``threshold`` (on a fine grid)."""
    span = float(np.ptp(raw)) or 1.0
    grid = np.linspace(raw.min() - span, raw.max() + span, 20_001)
    above = np.flatnonzero(base(grid) >= threshold)
    cut = grid[above[0]] if len(above) else grid[-1]
    return float(new(np.array([cut]))[0])


def run_recalibration(model_uri: str, input_path: str | Path, output: str | Path, *,
                      method: str = DEFAULT_METHOD, relapse: bool = False,
                      mapping: str | Path | None = None, register: str | None = None,
                      n_boot: int = 1000, seed: int = 0) -> str:
    """Recalibrate ``model_uri`` on ``input_path`` into the new bundle ``output``."""
    from predictor.resources import resolve_user_path
    from predictor.serving.bundle import load_bundle_dir, resolve_bundle_dir

    if method not in METHODS:
        raise InputError(f"unknown --method {method!r} (use {', '.join(METHODS)})")
    input_path, output = Path(input_path), Path(output)
    parent_dir, download = resolve_bundle_dir(model_uri)
    try:
        _check_output(output, parent_dir, input_path)
        predictor = load_bundle_dir(parent_dir, backend="lightgbm")  # trees are copied as-is
        if predictor.response is None:
            raise InputError("the model has no response head to recalibrate")
        if relapse and predictor.relapse is None:
            raise InputError("--relapse: the model has no relapse head")
        chosen = resolve_user_path(mapping) if mapping is not None else None
        labelled = read_labelled(predictor.manifest, input_path, chosen)
        cohort = labelled.cohort
        X = predictor.pipeline.transform(cohort.without_outcomes())
        head = predictor.response.model
        raw = np.asarray(head.raw_score(X), dtype=np.float64)
        y_all = labelled.label.to_numpy(np.float64)
        has = ~np.isnan(y_all)
        raw_l, y = raw[has], y_all[has]
        check_events(method, y)
        update = fit_update(method, head.calibrator_, raw_l, y, float(predictor.threshold))
        settings = EvalSettings(n_boot=n_boot, seed=seed,
                                horizons=tuple(predictor.horizons) or (6.0, 12.0, 24.0))
        before = response_block(y, head.calibrator_(raw_l), settings)
        after = response_block(y, update.calibrator(raw_l), settings)
        relapse_record, hazard = None, None
        if relapse:
            relapse_record, hazard, rel_before, rel_after = _refit_baseline(
                predictor, labelled, X, settings)
            before.update(rel_before)
            after.update(rel_after)
        record = {
            "created_utc": _now(),
            "parent": {"uri": str(model_uri),
                       "name": (predictor.manifest.get("metadata") or {}).get("name"),
                       "created_utc": predictor.manifest.get("created_utc"),
                       "training_fingerprint": predictor.manifest.get("training_fingerprint"),
                       "manifest_sha256": _sha256(parent_dir / "bundle.yaml")},
            "method": method,
            "rule": events_rule(method),
            "response": {**update.params, "threshold_before": float(predictor.threshold),
                         "threshold_after": update.threshold},
            "relapse": relapse_record,
            "cohort": {"input_name": input_path.name, "n_patients": len(cohort),
                       "n_labelled": int(has.sum()), "n_positive": int(np.sum(y == 1)),
                       "fingerprint": cohort.fingerprint(),
                       "n_outcome_problems": len(labelled.problems)},
            "metrics_before": _plain_metrics(before),
            "metrics_after": _plain_metrics(after),
            "n_boot": n_boot,
        }
        _write_bundle(parent_dir, output, predictor.manifest, update, hazard, record)
    finally:
        if download is not None:
            shutil.rmtree(download, ignore_errors=True)
    new = load_bundle_dir(output, backend="lightgbm")  # verifies every file and the hashes
    message = (f"wrote {output} ({method}: ECE {before['ece']:.3f} -> {after['ece']:.3f}, "
               f"calibration intercept {before['calibration_intercept']:.3f} -> "
               f"{after['calibration_intercept']:.3f} on the {int(has.sum())} local labelled "
               "patients, in-sample)")
    if register:
        from predictor.serving.pyfunc_model import (
            PYFUNC_CODE,
            quiet_missing_inputs,
            rows_to_cohort,
        )
        from predictor.serving.trust import manifest_sha256
        from predictor.tracking.evaluation_logging import register_recalibrated
        from predictor.tracking.model_logging import synthetic_input_example

        example = synthetic_input_example(cohort)
        with quiet_missing_inputs():
            output_example = new.predict(rows_to_cohort(example))

        uri = register_recalibrated(
            bundle_dir=output, name=register, parent_uri=str(model_uri),
            metrics={**{f"before_{k}": v for k, v in before.items()},
                     **{f"after_{k}": v for k, v in after.items()}},
            params={"method": method, "relapse": relapse, "input_name": input_path.name,
                    "n_labelled": int(has.sum())},
            data_fingerprint=cohort.fingerprint(), patient_ids=cohort.patient_ids,
            model_code=PYFUNC_CODE, input_example=example, output_example=output_example,
            manifest_sha256=manifest_sha256(new.manifest))  # as loaded and verified
        message += f"\nmodel_uri: {uri}"
    return message


def _refit_baseline(predictor, labelled, X, settings):
    """Breslow baseline hazard refitted on the local patients with the model's risk scores."""
    from predictor.models.cox import breslow_cumulative_hazard

    if labelled.time is None:
        raise InputError("--relapse: the input has no complete relapse outcome columns")
    model = predictor.relapse.model
    risk = np.asarray(model.predict_risk(X), dtype=np.float64)
    t, e = labelled.time.to_numpy(np.float64), labelled.event.to_numpy(np.float64)
    keep = ~(np.isnan(t) | np.isnan(e))
    n_events = int(e[keep].sum())
    if n_events < MIN_RELAPSE_EVENTS:
        raise InputError(f"too few relapse events to refit the baseline hazard: {n_events}, "
                         f"and --relapse needs at least {MIN_RELAPSE_EVENTS}")
    times, hazard = breslow_cumulative_hazard(risk[keep], t[keep], e[keep])
    old_times, old_hazard = model.event_times_, model.cumulative_hazard_
    rk = risk[keep]

    def survival_with(tt, hh):
        from predictor.models.cox import cumulative_hazard_at

        return lambda grid: np.exp(-np.outer(np.exp(rk), cumulative_hazard_at(
            tt, hh, np.asarray(grid, dtype=np.float64))))

    def block(tt, hh):
        values = relapse_block(t[keep], e[keep], rk, settings, survival_with(tt, hh),
                               with_ci=False)
        return {k: v for k, v in values.items() if k.startswith(("ibs", "brier_"))}

    record = {"refit": True, "n_patients": int(keep.sum()), "n_events": n_events,
              "max_follow_up": float(t[keep].max())}
    return record, (times, hazard), block(old_times, old_hazard), block(times, hazard)


def _write_bundle(parent_dir: Path, output: Path, manifest: dict, update: Update,
                  hazard, record: dict) -> None:
    """Copy the parent's verified files, replace the calibration (and baseline), write a new
    manifest and model card; built next to ``output`` and renamed into place at the end."""
    from predictor.files import temp_dir_beside
    from predictor.plain import plain
    from predictor.serving.bundle import MANIFEST, hash_tree, make_readable
    from predictor.serving.model_card import CARD_FILE, render_model_card
    from predictor.serving.trust import sign_bundle

    work = temp_dir_beside(output)
    try:
        for rel in manifest.get("files") or {}:
            if rel == CARD_FILE:
                continue
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(parent_dir / rel, target)
            if _sha256(target) != manifest["files"][rel]:  # changed since it was verified
                raise InputError("parent bundle file changed while it was copied",
                                 file=parent_dir / rel)
        response_dir = work / manifest["head_info"]["response"]["dir"]
        write_json_atomic(response_dir / "calibration.json", update.calibrator.to_dict())
        state = read_json(response_dir / "response.json")
        state["threshold"] = float(update.threshold)
        write_json_atomic(response_dir / "response.json", state)
        if hazard is not None:
            relapse_dir = work / manifest["head_info"]["relapse"]["dir"]
            baseline = read_json(relapse_dir / "baseline_hazard.json")
            baseline.update(times=[float(x) for x in hazard[0]],
                            cumulative_hazard=[float(x) for x in hazard[1]],
                            fitted_on="local cohort (predictor recalibrate --relapse)")
            write_json_atomic(relapse_dir / "baseline_hazard.json", baseline)
        new = {k: copy.deepcopy(v) for k, v in manifest.items() if k != "files"}
        meta = dict(new.get("metadata") or {})
        meta["name"] = f"{meta.get('name', 'predictor model')} (recalibrated)"
        new.update(created_utc=record["created_utc"], threshold=float(update.threshold),
                   metadata=meta, recalibration=plain(record))
        from predictor.serving.bundle import predictor_version

        new["predictor_version"] = predictor_version()
        write_text_atomic(work / CARD_FILE, render_model_card(new))
        new["files"] = hash_tree(work)
        write_text_atomic(work / MANIFEST, yaml.safe_dump(plain(new), sort_keys=False))
        sign_bundle(work)  # written here from a trusted parent: trusted here
        make_readable(work)
        if output.is_dir():
            output.rmdir()  # empty (checked before)
        os.replace(work, output)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _check_output(output: Path, parent_dir: Path, input_path: Path) -> None:
    out = output.expanduser().resolve()
    parent = parent_dir.expanduser().resolve()
    src = input_path.expanduser().resolve()
    if out == parent or parent in out.parents or out in parent.parents:
        raise InputError("the new bundle must not be the parent model's folder, inside it or "
                         "around it (the parent is never modified)", file=output)
    if out == src or (src.is_dir() and src in out.parents):
        raise InputError("the new bundle must not be the input or inside it", file=output)
    if occupied(out):
        raise InputError("the new bundle folder exists and is not empty; refusing to "
                         "overwrite it", file=output)


def _plain_metrics(values: dict) -> dict:
    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in values.items()
            if k in REPORTED or k.startswith(REPORTED) or k.startswith(("ibs", "brier_"))
            or k in ("n_labelled", "n_positive")}


def _sha256(path: Path) -> str:
    from predictor.serving.compiled import sha256_file

    return sha256_file(path)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
