"""A short, human-readable model card (``MODEL_CARD.md``) written into every bundle.

Why: a bundle is shared with collaborators who read prose, not ``bundle.yaml``. The card says
what the model predicts from what, for which patients and from when (label rule, endpoint,
landmark), how well it did (the cross-validated and held-out numbers the run logged) and where
its limits are (Mitchell et al., FAT* 2019). It is rendered from the manifest alone, so it can
never disagree with it, and it holds no patient identifier.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from predictor.data.labels import ResponseRule
from predictor.models.heads import BINARY, HEADS, SURVIVAL

CARD_FILE = "MODEL_CARD.md"
METRIC_NAMES = {"cv_roc_auc": "response ROC AUC, cross-validated",
                "test_roc_auc": "response ROC AUC, held-out test",
                "cv_harrell_c": "relapse Harrell's C, cross-validated",
                "test_harrell_c": "relapse Harrell's C, held-out test"}


def render_model_card(manifest: Mapping) -> str:
    """Markdown from a bundle manifest (without its ``files`` entry, which comes later)."""
    meta = manifest.get("metadata") or {}
    rule = manifest.get("label_rule") or {}
    heads = list(manifest.get("heads") or [])
    lines = [f"# Model card: {meta.get('name', 'predictor model')}", "",
             f"Written {manifest.get('created_utc', '?')} by predictor "
             f"{manifest.get('predictor_version', '?')} (bundle format "
             f"{manifest.get('format_version', '?')}).", "", "## What it predicts", ""]
    for name in HEADS:  # registry order, whatever order the manifest lists them in
        if name in heads:
            lines.append(PREDICTS[HEADS[name].target](name, manifest, rule))
    features = manifest.get("feature_names") or []
    lines += ["", "## Inputs", "",
              f"- {len(features)} features built by the bundled pipeline "
              f"(`features.json`); categorical: "
              f"{', '.join(manifest.get('categorical_features') or []) or 'none'}."]
    expected = manifest.get("expected_inputs") or {}
    tables = ", ".join(f"`{t}`" for t in expected.get("tables") or {}) or "none"
    columns = ", ".join(f"`{c}`" for c in expected.get("columns") or {}) or "none"
    lines += [f"- Input tables used: {tables}; clinical columns used: {columns}. Absent ones "
              "are predicted as missing, with a warning."]
    if manifest.get("input_mapping"):
        lines.append("- Flat files are read with the column mapping stored in `bundle.yaml`.")
    lines += ["", "## Training and performance", "",
              f"- {meta.get('n_train', '?')} training patients, {meta.get('n_test', '?')} "
              f"held-out test patients; training data fingerprint "
              f"`{manifest.get('training_fingerprint', '?')}`; seed {meta.get('seed', '?')}."]
    for key, name in METRIC_NAMES.items():
        value = (meta.get("metrics") or {}).get(key)
        if isinstance(value, int | float) and math.isfinite(value):
            lines.append(f"- {name}: {value:.3f}")
    lines += recalibration_lines(manifest.get("recalibration"))
    lines += ["", "## Limits", "",
              "- Research use only: not a medical device, not validated for clinical decisions.",
              "- Patients unlike the training cohort get predictions by extrapolation; "
              "`predictor predict` warns when inputs fall outside the training range "
              "(`training_profile.json`) or lack inputs the model uses.",
              "- Numbers above come from the training run's own data; a new cohort needs its "
              "own evaluation.", ""]
    return "\n".join(lines)


def _binary_line(name: str, manifest: Mapping, rule: Mapping) -> str:
    return (f"- {name.capitalize()} probability (calibrated) and a yes/no call at threshold "
            f"{manifest.get('threshold', float('nan')):.3f}; {name} = {_response_rule(rule)}.")


def _survival_line(name: str, manifest: Mapping, rule: Mapping) -> str:
    horizons = ", ".join(f"{h:g}" for h in manifest.get("horizons_months") or [])
    endpoint = str(rule.get("relapse_endpoint", "pfs")).upper()
    when = ("from the start of treatment" if rule.get("landmark_day") is None else
            f"from day {rule['landmark_day']:g} of treatment, for patients still "
            "event-free then (a landmark model: score it at that day)")
    return (f"- {name.capitalize()} risk (log relative hazard, {endpoint}) and {name}-free "
            f"probabilities at {horizons} months, {when}.")


# "What it predicts": one line per head, by its target kind (predictor.models.heads).
PREDICTS = {BINARY: _binary_line, SURVIVAL: _survival_line}


CARD_METRICS = (("ece", "calibration error (ECE)"), ("calibration_intercept",
                "calibration intercept"), ("calibration_slope", "calibration slope"),
                ("brier", "Brier score"), ("roc_auc", "ROC AUC"),
                ("mean_predicted", "mean predicted probability"),
                ("prevalence", "observed response rate"))


def recalibration_lines(record: Mapping | None) -> list[str]:
    """The card section of a bundle written by ``predictor recalibrate`` (else nothing)."""
    if not record:
        return []
    parent = record.get("parent") or {}
    cohort = record.get("cohort") or {}
    before, after = record.get("metrics_before") or {}, record.get("metrics_after") or {}
    lines = ["", "## Local recalibration", "",
             f"- Parent model `{parent.get('uri', '?')}` ({parent.get('name', '?')}, written "
             f"{parent.get('created_utc', '?')}); its trees and features are unchanged.",
             f"- Method `{record.get('method', '?')}` ({record.get('rule', '')}), fitted "
             f"{record.get('created_utc', '?')} on {cohort.get('n_labelled', '?')} labelled "
             f"patients ({cohort.get('n_positive', '?')} responders) of "
             f"`{cohort.get('input_name', '?')}`, fingerprint `{cohort.get('fingerprint', '?')}`."]
    relapse = record.get("relapse") or {}
    if relapse.get("refit"):
        lines.append(f"- Relapse baseline hazard refitted on {relapse.get('n_patients')} local "
                     f"patients ({relapse.get('n_events')} events).")
    lines += ["", "| on the recalibration cohort (in-sample) | before (95% CI) | after (95% CI) |",
              "|---|---|---|"]
    for key, name in CARD_METRICS:
        if key in before or key in after:
            lines.append(f"| {name} | {_ci_text(before, key)} | {_ci_text(after, key)} |")
    lines += ["", "\"After\" is measured on the patients the calibration was fitted on; "
              "`predictor evaluate` on other local patients gives the honest number."]
    return lines


def _ci_text(values: Mapping, key: str) -> str:
    value = values.get(key)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    low, high = values.get(f"{key}_ci_low"), values.get(f"{key}_ci_high")
    if isinstance(low, int | float) and isinstance(high, int | float):
        return f"{value:.3f} ({low:.3f}–{high:.3f})"
    return f"{value:.3f}"


def _response_rule(rule: Mapping) -> str:
    return ResponseRule.from_mapping(rule).describe()
