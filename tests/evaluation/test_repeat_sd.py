"""SD over CV repeats of the primary metric, logged next to the bootstrap CI (``*_repeat_sd``)."""

import numpy as np
import pandas as pd
import pytest

from predictor.evaluation import harness as H
from predictor.evaluation.metrics import harrell_c, roc_auc
from predictor.evaluation.report import render_report


def targets(n: int = 60) -> H.Targets:
    rng = np.random.default_rng(0)
    ids = pd.Index([f"p{i}" for i in range(n)])
    y = pd.Series(rng.integers(0, 2, n).astype(float), index=ids)
    y.iloc[:5] = np.nan
    return H.Targets(response=y, time=pd.Series(rng.uniform(1, 20, n), index=ids),
                     event=pd.Series(rng.integers(0, 2, n).astype(float), index=ids),
                     groups=pd.Series(["a"] * n, index=ids))


def test_repeat_sd_is_the_sd_of_each_repeats_metric() -> None:
    t = targets()
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(60, 3)) + t.response.fillna(0).to_numpy()[:, None]
    scores[10, 1] = np.nan  # an unscored patient in one repeat
    y = t.response.to_numpy()
    aucs = []
    for r in range(3):
        keep = ~np.isnan(y) & ~np.isnan(scores[:, r])
        aucs.append(roc_auc(y[keep], scores[keep, r]))
    assert H.repeat_sd(H.RESPONSE, t, scores) == pytest.approx(np.std(aucs, ddof=1))
    cs = [harrell_c(t.time.to_numpy(), t.event.to_numpy(), scores[:, r]) for r in (0, 2)]
    risks = scores[:, [0, 2]]
    assert H.repeat_sd(H.RELAPSE, t, risks) == pytest.approx(np.std(cs, ddof=1))
    assert H.repeat_sd(H.RESPONSE, t, scores[:, :1]) is None  # one repeat: no spread


def test_report_shows_the_spread_next_to_the_ci() -> None:
    metrics = {"cv_roc_auc": 0.634, "cv_roc_auc_repeat_sd": 0.023, "cv_roc_auc_ci_low": 0.553,
               "cv_roc_auc_ci_high": 0.703}
    assert "0.634 ± 0.023 (0.553–0.703)" in render_report(metrics, title="t")
