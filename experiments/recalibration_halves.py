"""Recalibrate on one half of a labelled cohort, evaluate on the other, over many random halves.

Why: one split of ~200 patients gives one noisy answer; repeating the split shows how much of a
calibration gain is the method and how much the luck of the split. For each seed the cohort is
cut in stratified halves (as ``experiments/nsclc_pd1_msk_2018_as_chowell.py`` does), each
method of ``predictor recalibrate`` is fitted on half A with the same code the command runs
(``fit_update``), and half B is scored before and after. Also printed: the ECE that perfectly
calibrated predictions would show on half B (labels drawn from the recalibrated probabilities,
200 draws), the floor that ten-bin ECE cannot go below on ~100 patients.

    .venv/bin/python experiments/recalibration_halves.py --model outputs/chowell_icb/model \
        --input external/nsclc/all.csv --splits 200
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.evaluation import metrics as M
from predictor.serving.bundle import load_bundle
from predictor.serving.labelled import read_labelled
from predictor.serving.recalibrate import MIN_EVENTS, fit_update

HERE = Path(__file__).resolve().parent


def _halves():
    spec = importlib.util.spec_from_file_location(
        "as_chowell", HERE / "nsclc_pd1_msk_2018_as_chowell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.halves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--splits", type=int, default=200)
    args = parser.parse_args()
    predictor = load_bundle(args.model, backend="lightgbm")
    labelled = read_labelled(predictor.manifest, args.input)
    X = predictor.pipeline.transform(labelled.cohort.without_outcomes())
    head = predictor.response.model
    raw = np.asarray(head.raw_score(X), dtype=np.float64)
    y_all = labelled.label.to_numpy(np.float64)
    keep = ~np.isnan(y_all)
    raw, y = raw[keep], y_all[keep]
    frame = pd.DataFrame({"Response": y})
    halves = _halves()
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(args.splits):
        a, b = halves(frame, seed=seed)
        ia, ib = a.index.to_numpy(), b.index.to_numpy()
        p_before = head.calibrator_(raw[ib])
        for method in ("intercept", "logistic"):
            if min(np.sum(y[ia] == 1), np.sum(y[ia] == 0)) < MIN_EVENTS[method]:
                continue
            update = fit_update(method, head.calibrator_, raw[ia], y[ia],
                                float(predictor.threshold))
            p_after = update.calibrator(raw[ib])
            floor = np.mean([M.expected_calibration_error(rng.random(len(ib)) < p_after,
                                                          p_after) for _ in range(200)])
            rows.append({"seed": seed, "method": method,
                         "ece_before": M.expected_calibration_error(y[ib], p_before),
                         "ece_after": M.expected_calibration_error(y[ib], p_after),
                         "ece_floor": floor,
                         "intercept_before": M.calibration_intercept(y[ib], p_before),
                         "intercept_after": M.calibration_intercept(y[ib], p_after),
                         "auc_change": M.roc_auc(y[ib], p_after) - M.roc_auc(y[ib], p_before)})
    table = pd.DataFrame(rows)
    table["ece_ratio"] = table["ece_after"] / table["ece_before"]
    print(f"{args.splits} stratified random halves of {len(y)} labelled patients "
          f"({int(y.sum())} responders); recalibrate on A, evaluate on B")
    print("| method | ECE before | ECE after | ECE ratio after/before | splits with ECE halved "
          "| ECE of perfect calibration (floor) | calibration intercept before → after "
          "| max abs AUC change |")
    print("|---|---|---|---|---|---|---|---|")

    def q(series: pd.Series) -> str:
        low, mid, high = series.quantile([0.025, 0.5, 0.975])
        return f"{mid:.3f} ({low:.3f}–{high:.3f})"

    for method, part in table.groupby("method", sort=False):
        print(f"| {method} | {q(part.ece_before)} | {q(part.ece_after)} | {q(part.ece_ratio)} "
              f"| {np.mean(part.ece_ratio <= 0.5):.0%} | {q(part.ece_floor)} "
              f"| {part.intercept_before.median():.2f} → {part.intercept_after.median():.2f} "
              f"| {part.auc_change.abs().max():.4f} |")
    print("(median and 2.5–97.5 percentiles over the splits)")


if __name__ == "__main__":
    main()
