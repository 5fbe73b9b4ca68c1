"""The regimen learners compared by CV policy value on a simulated cohort's training split.

Why: ``model.regimen_learner: auto`` picks between the S-learner and propensity-weighted
training by the policy value of their out-of-fold what-if choices; this prints the same
comparison for several inverse-propensity clips (``model.regimen.ipw_clip``) and support floors
at once, to see how stable the choice is. Same training split, CV folds, feature pipeline and
response head as ``predictor-train`` with the given overrides; the held-out split is never
scored. Columns are ``policy_report`` keys, mean over the folds' pooled predictions.

    .venv/bin/python experiments/regimen_learners.py --clips 0.02,0.05,0.1,0.2
    .venv/bin/python experiments/regimen_learners.py --floors 0,0.01,0.03 -- model=fast
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import pandas as pd
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from predictor import resources
from predictor.evaluation import harness as H
from predictor.evaluation.policy import policy_report
from predictor.training import regimens as R
from predictor.training.learners import enabled_heads, make_feature_factory, make_learners

KEYS = ("policy_value_model", "policy_gap_closed", "regimen_rank_spearman")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="0.05")
    parser.add_argument("--floors", default="0.01")
    parser.add_argument("overrides", nargs="*", help="predictor-train overrides")
    args = parser.parse_args()
    with initialize_config_dir(config_dir=str(resources.config_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=args.overrides)
    seed = int(cfg.seed)
    spec = instantiate(cfg.data)
    data = spec.load(seed, enabled_heads(cfg))
    if data.regimen_truth is None:
        raise SystemExit("the cohort has no per-regimen truth (ground_truth_regimens.tsv)")
    targets = spec.targets(data.train, enabled_heads(cfg))
    splits = instantiate(cfg.evaluation).splits(targets, seed, None)
    settings = R.RegimenSettings.from_config(cfg.model)
    splits = [s for s in splits if s.repeat < max(1, int(settings.cv_repeats))]
    response = next(lr for lr in make_learners(cfg) if lr.key == "response/model")
    make_features = make_feature_factory(cfg)
    floors = [float(x) for x in args.floors.split(",")]
    variants = {"s_learner": (R.S_LEARNER, settings)}
    for clip in (float(x) for x in args.clips.split(",")):
        variants[f"propensity_weighted clip={clip:g}"] = (
            R.PROPENSITY_WEIGHTED, replace(settings, ipw_clip=clip))

    ids = pd.Index(data.train.patient_ids)
    truth = data.regimen_truth[data.regimen_truth["patient_id"].astype(str).isin(ids)]
    assigned = data.train.clinical["regimen"].reindex(ids)
    inputs = data.train.without_outcomes()
    scores: dict[tuple[str, float], list[pd.DataFrame]] = {}
    for split in splits:
        train_ids, test_ids = ids[split.train], ids[split.test]
        pipeline = make_features()
        part = inputs.subset(train_ids)
        X = pipeline.fit(part).transform(part).loc[train_ids]
        categorical = list(pipeline.categorical_features_)
        fold = targets.subset(train_ids)
        propensity = settings.propensity().fit(X, fold.regimen, fold.cancer_type, categorical)
        rows = {floor: R.what_if(pipeline, inputs.subset(test_ids),
                                 truth[["patient_id", "regimen"]], propensity, floor)
                for floor in floors}
        for name, (kind, s) in variants.items():
            model = H.fit_learner(R.with_learner(response, kind, s), X, fold, categorical)
            for floor in floors:
                scores.setdefault((name, floor), []).append(rows[floor].score(model))
        print(f"fold {split.fold} done", flush=True)
    print("learner\tsupport_floor\t" + "\t".join(KEYS))
    for (name, floor), parts in scores.items():
        report = policy_report(pd.concat(parts, ignore_index=True), truth, assigned)
        print(f"{name}\t{floor:g}\t" + "\t".join(f"{report[k]:.3f}" for k in KEYS))


if __name__ == "__main__":
    main()
