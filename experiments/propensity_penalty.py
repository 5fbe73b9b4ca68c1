"""The L2 penalty of the regimen propensity (``RegimenPropensity.C``), by held-out fit.

Why: the propensity is a multinomial logistic regression on ~80 regimen-independent columns
and ~20 regimens; too weak a penalty separates the classes (probabilities near 0/1 that make
inverse-propensity weights explode), too strong a one flattens real practice patterns. This
prints the mean held-out log-likelihood of the observed regimen over stratified 5-fold CV
(by cancer type) for a grid of C, with the feature pipeline fitted on each fold's training part.

    .venv/bin/python experiments/propensity_penalty.py --data data/demo
"""

from __future__ import annotations

import argparse

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from sklearn.model_selection import StratifiedKFold

from predictor import resources
from predictor.data.readers import read_cohort
from predictor.models.propensity import RegimenPropensity, observed_propensity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/demo")
    parser.add_argument("--grid", default="0.01,0.03,0.1,0.3,1")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with initialize_config_dir(config_dir=str(resources.config_dir()), version_base="1.3"):
        cfg = compose(config_name="config")
    cohort = read_cohort(resources.resolve_user_path(args.data)).without_outcomes()
    ids = cohort.patient_ids
    clinical = cohort.clinical.reindex(ids)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=args.seed)
                 .split(np.zeros(len(ids)), clinical["cancer_type"].astype(str)))
    print("C\theld-out mean log-likelihood of the observed regimen")
    for C in (float(c) for c in args.grid.split(",")):
        values = []
        for train, test in folds:
            pipeline = instantiate(cfg.features)
            part = cohort.subset(ids[train])
            X_train = pipeline.fit(part).transform(part)
            held = cohort.subset(ids[test])
            X_test = pipeline.transform(held)
            model = RegimenPropensity(C=C).fit(X_train, clinical["regimen"],
                                               clinical["cancer_type"],
                                               pipeline.categorical_features_)
            p = observed_propensity(model.predict_proba(X_test), clinical["regimen"])
            values.append(np.log(np.clip(np.nan_to_num(p, nan=1e-3), 1e-6, 1.0)).mean())
        print(f"{C:g}\t{np.mean(values):.3f}")


if __name__ == "__main__":
    main()
