import numpy as np
import pandas as pd
import pytest

from predictor.evaluation import plots

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80).astype(float)
    model = np.clip(0.5 * y + rng.uniform(0, 0.5, 80), 0, 1)
    baseline = rng.uniform(0, 1, 80)
    return y, {"model": model, "tmb_only": baseline}


def _is_png(path):
    return path.read_bytes()[:8] == PNG


def test_response_plots_write_pngs(scored, tmp_path):
    y, scores = scored
    outputs = [
        plots.plot_roc(y, scores, tmp_path / "roc.png"),
        plots.plot_precision_recall(y, scores, tmp_path / "pr.png"),
        plots.plot_calibration(y, scores["model"], tmp_path / "sub" / "calibration.png"),
    ]
    for path in outputs:
        assert path.exists() and _is_png(path)
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "calibration.png", "pr.png", "roc.png"]


def test_km_by_risk_and_risk_groups(tmp_path):
    rng = np.random.default_rng(1)
    risk = rng.normal(size=90)
    time = rng.exponential(10 / np.exp(risk))
    event = (rng.random(90) < 0.8).astype(float)
    groups = plots.risk_groups(risk)
    assert np.bincount(groups).tolist() == [30, 30, 30]
    assert risk[groups == 2].min() > risk[groups == 0].max()
    path = plots.plot_km_by_risk(time, event, risk, tmp_path / "km.png")
    assert _is_png(path)


def test_kaplan_meier_and_log_rank_by_hand() -> None:
    # times 1..4, the one at 2 censored: S = 3/4 after 1, 3/4 * 1/2 after 3, 0 after 4
    x, y = plots.kaplan_meier(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 0.0, 1.0, 1.0]))
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert np.allclose(y, [1.0, 0.75, 0.75, 0.375, 0.0])
    time = np.tile(np.arange(1.0, 21.0), 2)
    event = np.ones(40)
    assert plots.logrank_p(time, event, np.repeat([0, 1], 20)) == pytest.approx(1.0)
    early = np.r_[np.arange(1.0, 21.0), np.arange(1.0, 21.0) + 30]  # group 1: 30 months later
    assert plots.logrank_p(early, event, np.repeat([0, 1], 20)) < 1e-6


def test_importance_and_contribution_plots(tmp_path):
    rng = np.random.default_rng(2)
    features = pd.DataFrame(rng.normal(size=(40, 3)), columns=["tmb", "cd8", "age"])
    features.iloc[0, 1] = np.nan
    contrib = features * [0.5, 0.2, 0.01]
    contrib["bias"] = -0.3
    imp = plots.plot_feature_importance(pd.Series({"tmb": 10.0, "cd8": 4.0, "age": 0.5}),
                                        tmp_path / "importance.png")
    shap = plots.plot_contributions(contrib, features, tmp_path / "contributions.png")
    bare = plots.plot_contributions(contrib, None, tmp_path / "contributions_bare.png")
    assert _is_png(imp) and _is_png(shap) and _is_png(bare)


def test_single_class_does_not_crash(tmp_path):
    path = plots.plot_roc(np.ones(10), np.linspace(0, 1, 10), tmp_path / "roc.png")
    assert _is_png(path)


def test_survival_calibration_plot(tmp_path):
    rng = np.random.default_rng(3)
    risk = rng.normal(size=100)
    time = rng.exponential(10 / np.exp(risk))
    event = np.ones(100)
    predicted = np.exp(-np.exp(risk) * 12 / 10)
    path = plots.plot_survival_calibration(time, event, predicted, 12, tmp_path / "cal12.png")
    assert _is_png(path)
