"""Model selection by repeated CV on nsclc_pd1_msk_2018 (the numbers in docs/nsclc_pd1_msk_2018.md).

Each variant is the experiment ``nsclc_pd1_msk_2018`` plus Hydra overrides; every variant runs on
the same folds (5-fold x 5 repeats, feature pipeline fitted inside each fold) and prints, for
the model and each baseline, the pooled out-of-fold metric of each repeat as mean ± SD over
repeats, and the paired per-repeat difference model - TMB. ``--paired-bootstrap N`` adds a
patient bootstrap CI of that difference (N resamples). No MLflow, no files written.

    .venv/bin/python experiments/nsclc_pd1_msk_2018_select.py chosen= \\
        "plus_clonal=features.families.clonal.enabled=true" \\
        "no_fga=~features.families.copynumber" --paired-bootstrap 500
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from predictor import training as T
from predictor.evaluation import harness as H
from predictor.evaluation import metrics as M
from predictor.train import CONFIG_DIR

BASE = ["+experiment=nsclc_pd1_msk_2018", "tracking=disabled"]
REFERENCE = {H.RESPONSE: "tmb_only", H.RELAPSE: "tmb_risk"}


def per_repeat(head: str, targets: H.Targets, scores: np.ndarray,
               rows: np.ndarray | None = None) -> np.ndarray:
    """The metric of each repeat's pooled out-of-fold scores (AUC or Harrell's C)."""
    rows = np.arange(len(scores)) if rows is None else rows
    s = scores[rows]
    if head == H.RESPONSE:
        y = targets.response.to_numpy(float)[rows]
        out = []
        for r in range(s.shape[1]):
            keep = ~np.isnan(y) & ~np.isnan(s[:, r])  # pdl1_only: patients with a score
            out.append(M.roc_auc(y[keep], s[keep, r]))
        return np.asarray(out)
    time_, event = targets.time.to_numpy(float)[rows], targets.event.to_numpy(float)[rows]
    return np.asarray([M.harrell_c(time_, event, s[:, r]) for r in range(s.shape[1])])


def run_variant(label: str, overrides: list[str], n_boot: int) -> None:
    cfg = compose("config", overrides=BASE + overrides)
    start = time.monotonic()
    data_spec = instantiate(cfg.data)
    data = data_spec.load(int(cfg.seed))
    targets = data_spec.targets(data.train)
    splits = instantiate(cfg.evaluation).splits(targets, int(cfg.seed))
    cv = H.cross_validate(data.train, targets, splits, T.make_feature_factory(cfg),
                          T.make_learners(cfg))
    parts, values = [], {}
    for key, scores in cv.scores.items():
        head, name = key.split("/")
        values[key] = per_repeat(head, targets, scores)
        tag = "AUC" if head == H.RESPONSE else "C"
        parts.append(f"{name} {tag} {values[key].mean():.3f}±{values[key].std(ddof=1):.3f}")
    rng = np.random.default_rng(int(cfg.seed))
    for head, ref in REFERENCE.items():
        model, base = f"{head}/{H.MODEL}", f"{head}/{ref}"
        if model not in values or base not in values:
            continue
        diff = values[model] - values[base]
        text = f"model-{ref} {diff.mean():+.3f}±{diff.std(ddof=1):.3f}"
        if n_boot:
            pool = (np.flatnonzero(targets.has_response()) if head == H.RESPONSE
                    else np.flatnonzero(targets.has_relapse()))
            boots = []
            for _ in range(n_boot):
                rows = rng.choice(pool, len(pool), replace=True)
                boots.append(per_repeat(head, targets, cv.scores[model], rows).mean()
                             - per_repeat(head, targets, cv.scores[base], rows).mean())
            low, high = np.percentile(boots, [2.5, 97.5])
            text += f" (95% CI {low:+.3f} to {high:+.3f})"
        parts.append(text)
    print(f"[{label}] {time.monotonic() - start:.0f}s | " + " | ".join(parts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+",
                        help="LABEL=OVERRIDE;OVERRIDE... (LABEL= alone: the experiment as is)")
    parser.add_argument("--paired-bootstrap", type=int, default=0, metavar="N")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for variant in args.variants:
            label, _, rest = variant.partition("=")
            run_variant(label, [o for o in rest.split(";") if o], args.paired_bootstrap)


if __name__ == "__main__":
    main()
