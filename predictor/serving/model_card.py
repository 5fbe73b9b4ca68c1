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
    if "response" in heads:
        lines.append(f"- Response probability (calibrated) and a yes/no call at threshold "
                     f"{manifest.get('threshold', float('nan')):.3f}; response = "
                     f"{_response_rule(rule)}.")
    if "relapse" in heads:
        horizons = ", ".join(f"{h:g}" for h in manifest.get("horizons_months") or [])
        endpoint = str(rule.get("relapse_endpoint", "pfs")).upper()
        when = ("from the start of treatment" if rule.get("landmark_day") is None else
                f"from day {rule['landmark_day']:g} of treatment, for patients still "
                "event-free then (a landmark model: score it at that day)")
        lines.append(f"- Relapse risk (log relative hazard, {endpoint}) and relapse-free "
                     f"probabilities at {horizons} months, {when}.")
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
    lines += ["", "## Limits", "",
              "- Research use only: not a medical device, not validated for clinical decisions.",
              "- Patients unlike the training cohort get predictions by extrapolation; "
              "`predictor predict` warns when inputs fall outside the training range "
              "(`training_profile.json`) or lack inputs the model uses.",
              "- Numbers above come from the training run's own data; a new cohort needs its "
              "own evaluation.", ""]
    return "\n".join(lines)


def _response_rule(rule: Mapping) -> str:
    return ResponseRule.from_mapping(rule).describe()
