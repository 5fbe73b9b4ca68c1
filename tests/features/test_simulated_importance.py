"""The features carry the simulator's mechanisms: a small LightGBM trained on them against the
response label leans on clonal, TME and drug-mechanism features (not only on TMB or clinics).

On-treatment ctDNA is left out: it reflects the response itself and would swamp the baseline
mechanisms this test is about.
"""

from __future__ import annotations

import lightgbm as lgb
import pandas as pd
import pytest
from feature_fixtures import load_config

from predictor.data.labels import ResponseRule, response_labels
from predictor.features.pipeline import build_feature_pipeline

simulator = pytest.importorskip("predictor.data.simulator")


@pytest.mark.slow
def test_clonal_tme_and_mechanism_features_rank_high():
    cohort, _ = simulator.simulate_cohort(800, 7)
    config = load_config("default")
    config["families"]["monitoring"]["enabled"] = False  # as conf/features/pretreatment.yaml
    pipeline = build_feature_pipeline(**config)
    X = pipeline.fit_transform(cohort.without_outcomes())
    y = response_labels(cohort.outcomes, ResponseRule())
    ok = y.notna().to_numpy()
    assert 0.1 < y[ok].mean() < 0.9
    model = lgb.LGBMClassifier(n_estimators=100, learning_rate=0.05, num_leaves=15,
                               min_child_samples=10, n_jobs=1, verbose=-1, random_state=0)
    model.fit(X[ok], y[ok], categorical_feature=pipeline.categorical_features_)
    gain = pd.Series(model.booster_.feature_importance("gain"), index=X.columns)
    top = gain.sort_values(ascending=False).index[:25]
    for prefix in ("clonal_", "tme_", "rx_"):
        assert any(n.startswith(prefix) for n in top), (prefix, list(top))
    by_family = gain.groupby([n.split("_")[0] for n in gain.index]).sum()
    top_families = set(by_family.sort_values(ascending=False).index[:5])
    assert {"clonal", "tme", "rx"} <= top_families, by_family.sort_values().to_dict()
