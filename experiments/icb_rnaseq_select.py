"""Nested leave-one-cohort-out selection for icb_rnaseq (the numbers in docs/icb_rnaseq.md).

Each variant is the experiment ``icb_rnaseq`` plus Hydra overrides (response head only). For
every variant, plain leave-one-cohort-out (LOCO) CV gives each held-out cohort's AUC. The
*nested* estimate never looks at the held-out cohort to choose: for each outer cohort k, every
variant is scored by LOCO over the other cohorts only (inner CV: each of them held out once,
trained on the rest without k), the variant with the best inner mean AUC over cohorts is picked
(first declared wins ties), and cohort k is scored by that variant trained on all cohorts but k
(which is its plain LOCO fold). The published baselines are scored on the same folds. The final
model's variant is the one with the best plain LOCO mean over all cohorts (CV selection; the
nested numbers are the honest estimate of that procedure). No MLflow, no files written.

    .venv/bin/python experiments/icb_rnaseq_select.py             # the declared variants
    .venv/bin/python experiments/icb_rnaseq_select.py --no-nested # plain LOCO table only
    .venv/bin/python experiments/icb_rnaseq_select.py --no-nested pub \
        "pub_linear:model.response.tree_weight=0"                # ad-hoc variants too
    .venv/bin/python experiments/icb_rnaseq_select.py --experiment icb_rnaseq_within \
        --no-nested within                                       # the second attempt
"""

from __future__ import annotations

import argparse
import logging
import math
import time

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from predictor import training as T
from predictor.evaluation import harness as H
from predictor.evaluation.cohorts import cohort_metrics, paired_over_cohorts
from predictor.train import CONFIG_DIR

BASE = ["tracking=disabled", "heads.relapse=false"]
# Declared before any model was scored; the order breaks ties (simplest first).
ON = "features.families.expression.enabled=true"
VARIANTS: dict[str, list[str]] = {
    "pub": [],                                        # the four published scores
    "pub_composites": [ON],                           # + the 7 rna_* TME composites
    "composites": [ON, "~features.families.published_expression"],
    "pub_signatures": [ON, "features.families.expression.signatures=null"],  # + all rna_*
}
# The declared variants of each experiment (icb_rnaseq_within: one method, evaluated once).
DECLARED: dict[str, dict[str, list[str]]] = {
    "icb_rnaseq": VARIANTS,
    "icb_rnaseq_within": {"within": []},
}


def loco(cfg, cohort, targets, groups: pd.Series, with_baselines: bool) -> H.CVPredictions:
    learners = T.make_learners(cfg)
    if not with_baselines:
        learners = [x for x in learners if x.name == H.MODEL]
    splits = H.make_splits(targets, n_splits=2, n_repeats=1, seed=int(cfg.seed),
                           cohort_groups=groups)
    return H.cross_validate(cohort, targets, splits, T.make_feature_factory(cfg), learners)


def per_cohort(y: np.ndarray, scores: dict[str, np.ndarray], groups: np.ndarray
               ) -> dict[str, dict[str, float]]:
    """{learner: {cohort: AUC}} via evaluation.cohorts."""
    _, table = cohort_metrics(y, scores, groups)
    return {name: dict(zip(table["group"], table[name], strict=True)) for name in scores}


def tmb_scores(cohort) -> np.ndarray:
    """TMB as recorded (higher, more likely response; NaN where a cohort has none): the
    ``tmb_score`` baseline's ranking, read here from the clinical table because TMB is not a
    model feature (2 of 7 cohorts, definitions differ between cohorts)."""
    column = cohort.clinical.get("tmb_nonsynonymous")
    if column is None:
        return np.full(len(cohort.patient_ids), np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def mean(values) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-nested", action="store_true", help="plain LOCO table only")
    parser.add_argument("--experiment", default="icb_rnaseq", choices=sorted(DECLARED),
                        help="the experiment whose declared variants are run")
    parser.add_argument("variants", nargs="*",
                        help="declared variant names, or ad-hoc 'label:override;override'")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    variants = dict(DECLARED[args.experiment])
    for arg in args.variants:
        if ":" in arg:  # ad-hoc (post-hoc) variant: reported, never the declared selection
            label, _, overrides = arg.partition(":")
            variants[label] = [o for o in overrides.split(";") if o]
    names = [a.partition(":")[0] for a in args.variants] or list(variants)
    base = [f"+experiment={args.experiment}", *BASE]
    with initialize_config_dir(str(CONFIG_DIR), version_base=None):
        cfgs = {v: compose("config", overrides=base + variants[v]) for v in names}
    first = cfgs[names[0]]
    data_spec = instantiate(first.data)
    data = data_spec.load(int(first.seed), {"relapse": False})
    cohort = data.train
    targets = data_spec.targets(cohort, {"relapse": False})
    groups = data_spec.cohort_groups(cohort)
    y = targets.response.to_numpy(float)
    g = groups.astype(str).to_numpy()
    cohorts = sorted(set(g))
    start = time.monotonic()

    # Plain LOCO of every variant (baselines once, on the folds of the first variant).
    plain: dict[str, dict[str, float]] = {}
    oof: dict[str, np.ndarray] = {}
    baselines: dict[str, dict[str, float]] = {}
    for i, v in enumerate(names):
        cv = loco(cfgs[v], cohort, targets, groups, with_baselines=(i == 0))
        scores = {k.split("/", 1)[1]: s for k, s in cv.scores.items()}
        aucs = per_cohort(y, scores, g)
        plain[v] = aucs[H.MODEL]
        oof[v] = scores[H.MODEL]
        if i == 0:
            baselines = {k: a for k, a in aucs.items() if k != H.MODEL}
            baselines["tmb"] = per_cohort(y, {"tmb": tmb_scores(cohort)}, g)["tmb"]
        print(f"[{time.monotonic() - start:6.0f}s] plain LOCO {v}: mean AUC "
              f"{mean(plain[v].values()):.3f}", flush=True)

    rows = {f"model[{v}]": plain[v] for v in names} | baselines
    table = pd.DataFrame(rows).loc[cohorts]
    table.loc["mean"] = table.mean(numeric_only=True)
    print("\nPlain leave-one-cohort-out AUC per held-out cohort")
    print(table.round(3).to_string())
    for v in names:
        print(f"\nPaired model[{v}] - baseline over cohorts where both have an AUC:")
        print_paired(plain[v], baselines)
    best = max(names, key=lambda v: (mean(plain[v].values()), -names.index(v)))
    print(f"\nfinal model's variant (best plain LOCO mean over cohorts): {best}")
    if args.no_nested or len(names) < 2:
        return

    # Nested: choose the variant for cohort k by LOCO over the other cohorts only.
    nested: dict[str, float] = {}
    chosen: dict[str, str] = {}
    for k in cohorts:
        inner_ids = cohort.patient_ids[g != k]
        inner = cohort.subset(inner_ids)
        inner_targets = targets.subset(inner_ids)
        inner_groups = groups.loc[inner_ids]
        inner_mean = {}
        for v in names:
            cv = loco(cfgs[v], inner, inner_targets, inner_groups, with_baselines=False)
            aucs = per_cohort(inner_targets.response.to_numpy(float),
                              {H.MODEL: cv.scores[f"{H.RESPONSE}/{H.MODEL}"]},
                              inner_groups.astype(str).to_numpy())[H.MODEL]
            inner_mean[v] = mean(aucs.values())
        chosen[k] = max(names, key=lambda v: (inner_mean[v], -names.index(v)))
        nested[k] = plain[chosen[k]][k]
        print(f"[{time.monotonic() - start:6.0f}s] held out {k}: inner means "
              + ", ".join(f"{v} {inner_mean[v]:.3f}" for v in names)
              + f" -> {chosen[k]}; outer AUC {nested[k]:.3f}", flush=True)
    print(f"\nNested LOCO mean AUC over cohorts: {mean(nested.values()):.3f}")
    print("\n| cohort | chosen variant | nested model | "
          + " | ".join(baselines) + " |")
    print("|---|---|---|" + "---|" * len(baselines))
    for k in cohorts:
        cells = [f"{baselines[b][k]:.3f}" if math.isfinite(baselines[b][k]) else "–"
                 for b in baselines]
        print(f"| {k} | {chosen[k]} | {nested[k]:.3f} | " + " | ".join(cells) + " |")
    means = [f"{mean(baselines[b].values()):.3f}" for b in baselines]
    print(f"| mean | | {mean(nested.values()):.3f} | " + " | ".join(means) + " |")
    print("\nPaired nested model - baseline over cohorts where both have an AUC:")
    print_paired(nested, baselines)


def print_paired(model: dict[str, float], baselines: dict[str, dict[str, float]]) -> None:
    for b, aucs in baselines.items():
        p = paired_over_cohorts(model, aucs)
        if p.get("n_cohorts"):
            print(f"  {b}: {int(p['n_cohorts'])} cohorts, mean diff {p['mean']:+.3f} "
                  f"(SD {p.get('sd', math.nan):.3f}, range {p['min']:+.3f} to "
                  f"{p['max']:+.3f}), model wins {int(p['n_wins'])}, "
                  f"Wilcoxon p {p.get('wilcoxon_p', math.nan):.3f}")


if __name__ == "__main__":
    main()
