"""scikit-survival vs lifelines: the Kaplan-Meier curve and the log-rank p-value the plots use.

Why: the plots moved from lifelines to scikit-survival (one survival library); this shows the
numbers did not change. Needs lifelines, which predictor no longer installs:
    .venv/bin/pip install lifelines && .venv/bin/python experiments/survival_library_check.py
Printed on 50 random data sets (with and without tied times): the largest difference of the
curves, of the values at fixed horizons, and of the log-rank p-values (all below 1e-13).
"""
import numpy as np
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from sksurv.compare import compare_survival
from sksurv.nonparametric import kaplan_meier_estimator

worst_km = worst_p = worst_pred = 0.0
for seed in range(50):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 600))
    time = np.round(rng.exponential(12, n), 1 if seed % 2 else 3)   # ties on odd seeds
    event = (rng.random(n) < 0.7).astype(float)
    group = rng.integers(0, 3, n)
    km = KaplanMeierFitter().fit(time, event)
    x, y = kaplan_meier_estimator(event.astype(bool), time)
    ll = km.survival_function_.iloc[:, 0]
    worst_km = max(worst_km, float(np.max(np.abs(ll.reindex(x).to_numpy() - y))))
    for h in (0.5, 6, 12, 24, 100):
        i = np.searchsorted(x, h, side="right") - 1
        ours = 1.0 if i < 0 else y[i]
        worst_pred = max(worst_pred, abs(ours - float(km.predict(h))))
    p_ll = multivariate_logrank_test(time, group, event).p_value
    target = np.empty(n, dtype=[("event", bool), ("time", float)])
    target["event"], target["time"] = event.astype(bool), time
    _, p_sk = compare_survival(target, group)
    worst_p = max(worst_p, abs(p_ll - p_sk))
print(f"max |KM lifelines - sksurv| = {worst_km:.2e}; at horizons {worst_pred:.2e}; "
      f"max |log-rank p diff| = {worst_p:.2e} over 50 data sets")
