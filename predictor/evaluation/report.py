"""A markdown report of a training run: the model next to every baseline, CV and held-out test.

Why markdown: it renders in MLflow's artifact viewer and on GitHub, and diffs well between runs.
The report reads only the flat metric dict (``cv_roc_auc``, ``test_baseline_logistic_roc_auc``,
``..._ci_low``/``_ci_high``), so it shows exactly what was logged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from predictor.evaluation.cohorts import cohort_report
from predictor.evaluation.robustness import robustness_section

RESPONSE_COLUMNS = ("roc_auc", "pr_auc", "brier", "ece")
RELAPSE_COLUMNS = ("harrell_c", "uno_c", "td_auc_mean", "ibs")


def _fmt(metrics: Mapping[str, float], key: str) -> str:
    value = metrics.get(key)
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:.3f}"
    sd = metrics.get(f"{key}_repeat_sd")  # SD over CV repeats, when logged
    if sd is not None and math.isfinite(sd):
        text += f" ± {sd:.3f}"
    low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
        return f"{text} ({low:.3f}–{high:.3f})"
    return text


def learner_names(metrics: Mapping[str, float], prefix: str, primary: str) -> list[str]:
    """``model`` then the baselines with a finite ``<prefix>_baseline_<name>_<primary>``."""
    start, end = f"{prefix}_baseline_", f"_{primary}"
    names = sorted(k[len(start):-len(end)] for k, v in metrics.items()
                   if k.startswith(start) and k.endswith(end) and _finite(v))
    return (["model"] if _finite(metrics.get(f"{prefix}_{primary}")) else []) + names


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def metric_table(metrics: Mapping[str, float], prefix: str, columns: Iterable[str]) -> str:
    """Rows: model and baselines; columns: metrics (with 95% CIs where computed)."""
    columns = list(columns)
    names = learner_names(metrics, prefix, columns[0])
    if not names:
        return ""
    lines = ["| learner | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name in names:
        middle = "" if name == "model" else f"baseline_{name}_"
        cells = [_fmt(metrics, f"{prefix}_{middle}{c}") for c in columns]
        label = "**model**" if name == "model" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def oracle_table(metrics: Mapping[str, float], prefix: str) -> str:
    rows = []
    for metric in ("roc_auc", "harrell_c"):
        if f"oracle_{metric}" not in metrics:
            continue
        ratio = metrics.get(f"{prefix}_{metric}_over_oracle")
        ratio_text = f"{ratio:.1%}" if ratio is not None and math.isfinite(ratio) else "–"
        rows.append(f"| {metric} | {_fmt(metrics, f'{prefix}_{metric}')} | "
                    f"{_fmt(metrics, f'oracle_{metric}')} | {ratio_text} |")
    if not rows:
        return ""
    table = "\n".join(["| metric | model | oracle (true probabilities) | model / oracle |",
                       "|---|---|---|---|", *rows])
    ratios = [metrics.get(f"{prefix}_{m}_over_oracle") for m in ("roc_auc", "harrell_c")]
    if any(r is not None and math.isfinite(r) and r > 1.0 for r in ratios):
        table += ("\n\nThe model beats the oracle: it uses information the simulated truth "
                  "does not (e.g. on-treatment ctDNA, which reflects the response itself), or "
                  "the test set is small. Compare with the default (pre-treatment) run.")
    return table


def comparison_table(metrics: Mapping[str, float]) -> str:
    """Paired bootstrap differences model - baseline on the held-out patients."""
    rows = []
    for key in sorted(metrics):
        if not key.startswith("test_model_minus_") or key.endswith(
                ("_ci_low", "_ci_high", "_p_value")):
            continue
        p = metrics.get(f"{key}_p_value")
        p_text = f"{p:.3g}" if p is not None and math.isfinite(p) else "–"
        rows.append(f"| {key[len('test_model_minus_'):]} | {_fmt(metrics, key)} | {p_text} |")
    if not rows:
        return ""
    return "\n".join(["| baseline_metric | model − baseline (95% CI) | p |", "|---|---|---|",
                      *rows])


def group_table(table: pd.DataFrame) -> str:
    lines = ["| group | n | responders | ROC AUC |", "|---|---|---|---|"]
    for row in table.itertuples():
        auc = f"{row.roc_auc:.3f}" if math.isfinite(row.roc_auc) else "– (too few)"
        lines.append(f"| {row.group} | {row.n} | {row.n_positive} | {auc} |")
    return "\n".join(lines)


def render_report(
    metrics: Mapping[str, float],
    *,
    title: str,
    per_group: Mapping[str, pd.DataFrame] | None = None,
    failures: Mapping[str, str] | None = None,
    notes: Iterable[str] = (),
    extra_sections: Iterable[tuple[str, str]] = (),
) -> str:
    """The report text. Sections without numbers are left out. ``extra_sections`` (heading,
    markdown body) come last, e.g. :func:`contribution_table`."""
    parts = [f"# {title}", ""]
    parts.extend(f"- {note}" for note in notes)
    parts.append("")
    sections = [
        ("Cross-validation: response (out-of-fold, mean over repeats ± SD over repeats where "
         "shown, 95% bootstrap CI)",
         metric_table(metrics, "cv", RESPONSE_COLUMNS)),
        ("Cross-validation: relapse", metric_table(metrics, "cv", RELAPSE_COLUMNS)),
        ("Held-out test: response", metric_table(metrics, "test", RESPONSE_COLUMNS)),
        ("Held-out test: relapse", metric_table(metrics, "test", RELAPSE_COLUMNS)),
        ("Model vs baselines on the held-out test (paired bootstrap)",
         comparison_table(metrics)),
        ("Robustness: input columns missing at prediction time (held-out test)",
         robustness_section(metrics)),
        ("Oracle (simulated truth), held-out test", oracle_table(metrics, "test")),
        ("Oracle (simulated truth), cross-validation", oracle_table(metrics, "cv")
         if "test_roc_auc" not in metrics and "test_harrell_c" not in metrics else ""),
    ]
    for name, table in (per_group or {}).items():
        sections.append((f"Response ROC AUC by cancer type ({name})", group_table(table)))
    sections.append(("Leave-one-cohort-out: response ROC AUC of each held-out cohort",
                     cohort_report(metrics)))
    sections.extend(extra_sections)
    for heading, body in sections:
        if body:
            parts += [f"## {heading}", "", body, ""]
    if failures:
        parts += ["## Learners that could not be fitted", ""]
        parts += [f"- `{key}`: {reason}" for key, reason in sorted(failures.items())]
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def contribution_table(contributions: pd.DataFrame, X: pd.DataFrame, top: int = 10) -> str:
    """The ``top`` features by mean |contribution| (TreeSHAP, raw-score units) of a head.

    ``share``: that feature's part of the total mean |contribution|; ``direction``: the sign of
    the Spearman correlation between the feature's value and its contribution (``+``: higher
    values push the score up: more likely response, or higher relapse risk).
    """
    columns = [c for c in contributions.columns if c != "bias" and c in X.columns]
    if not columns:
        return ""
    strength = contributions[columns].abs().mean().sort_values(ascending=False)
    total = float(strength.sum())
    lines = ["| feature | mean abs contribution | share | direction |", "|---|---|---|---|"]
    for name, value in strength.head(top).items():
        if value <= 0:
            break
        rho = X[name].corr(contributions[name], method="spearman")
        sign = "–" if not math.isfinite(rho) or abs(rho) < 0.1 else ("+" if rho > 0 else "−")
        share = value / total if total > 0 else float("nan")
        lines.append(f"| {name} | {value:.3f} | {share:.0%} | {sign} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def write_report(path: Path, text: str) -> Path:
    """Write atomically (temp file + rename)."""
    from predictor.files import write_text_atomic

    return write_text_atomic(Path(path), text)
