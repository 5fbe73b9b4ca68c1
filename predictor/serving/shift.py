"""Input shift: warn when new patients' features fall outside what the model was trained on.

Why: a cohort from another hospital often codes a column differently (TMB as a mutation count
instead of mutations/Mb, albumin in g/L instead of g/dL, a sex or cancer-type spelling the
model never saw). The model still returns numbers, silently extrapolating. At training time the
bundle stores a small profile of the final model's training features (aggregates only: the 1st
and 99th percentiles and the share of missing values of each feature, never a patient's row);
at prediction time :class:`ShiftMonitor` counts, over the whole run, the patients outside that
range and the extra missing values, and warns once per feature when the excess is both large
and statistically clear (a one-sided binomial test against what the training cohort itself
shows), naming the feature, the direction and the training bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PROFILE_FILE = "training_profile.json"
PROFILE_FORMAT = "predictor-training-profile-1"
LOW_Q, HIGH_Q = 0.01, 0.99       # the training range of a numeric feature
MIN_SHARE = 0.10                 # at least this share of patients outside (or newly missing)
MIN_MISSING_RISE = 0.25          # missing share this much above the training share
MAX_P = 1e-4                     # and this unlikely under the training cohort's own rates
MIN_COUNT = 3                    # and at least this many patients
MAX_LISTED = 6                   # features named in one warning


def training_profile(X: pd.DataFrame, features: Iterable[str],
                     categorical: Iterable[str] = ()) -> dict:
    """Per feature: share missing; numeric features also the 1st/99th percentiles (only
    features with at least 20 known values get a range: fewer would make it a patient's value).
    """
    cats = set(categorical)
    out: dict[str, dict] = {}
    for name in dict.fromkeys(features):
        values = (X[name].to_numpy(dtype=np.float64, na_value=np.nan) if name in X.columns
                  else np.full(len(X), np.nan))
        missing = np.isnan(values)
        known = values[~missing]
        entry: dict = {"missing": float(missing.mean()) if len(values) else 1.0}
        if name not in cats and len(known) >= 20 and np.ptp(known) > 0:
            low, high = np.quantile(known, [LOW_Q, HIGH_Q])
            entry.update(low=float(low), high=float(high))
        out[str(name)] = entry
    return {"format": PROFILE_FORMAT, "n_patients": len(X), "features": out}


@dataclass
class _Counts:
    rows: int = 0
    known: int = 0
    below: int = 0
    above: int = 0


@dataclass
class ShiftMonitor:
    """Accumulates, over the batches of one run, how the inputs differ from the training
    profile; :meth:`check` returns a warning for features that newly cross the thresholds."""

    profile: Mapping
    counts: dict[str, _Counts] = field(default_factory=dict)
    flagged: set[str] = field(default_factory=set)
    skip: set[str] = field(default_factory=set)  # fed by absent inputs: warned about already

    def check(self, X: pd.DataFrame) -> str | None:
        """Add a batch of feature rows; a one-line warning for newly flagged features, or None.

        Columns absent from ``X`` and features in :attr:`skip` are left out: the predictor
        already warns about the inputs they come from. A feature missing for every patient while
        its input is there is flagged: its values were not understood (e.g. cancer types spelt
        differently from the training cohort).
        """
        findings: list[str] = []
        for name, ref in self.profile.get("features", {}).items():
            if name not in X.columns or name in self.skip:
                continue
            values = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
            known = values[~np.isnan(values)]
            c = self.counts.setdefault(name, _Counts())
            c.rows += len(values)
            c.known += len(known)
            if "low" in ref:
                c.below += int((known < ref["low"]).sum())
                c.above += int((known > ref["high"]).sum())
            if name in self.flagged or c.rows == 0:
                continue
            finding = _finding(name, ref, c)
            if finding:
                self.flagged.add(name)
                findings.append(finding)
        if not findings:
            return None
        shown = "; ".join(findings[:MAX_LISTED])
        more = f"; and {len(findings) - MAX_LISTED} more" if len(findings) > MAX_LISTED else ""
        return (f"input differs from the training cohort (check units and coding; the model "
                f"extrapolates for these patients): {shown}{more}")


def _finding(name: str, ref: Mapping, c: _Counts) -> str | None:
    """What is unusual about one feature so far, or None."""
    parts = []
    if "low" in ref and c.known:
        for count, side, bound in ((c.below, "below", ref["low"]), (c.above, "above",
                                                                     ref["high"])):
            tail = LOW_Q if side == "below" else 1.0 - HIGH_Q
            if _excess(count, c.known, tail, MIN_SHARE):
                pct = "1st" if side == "below" else "99th"
                parts.append(f"{count / c.known:.0%} of {c.known} {side} the training "
                             f"{pct} percentile {bound:.4g}")
    if c.rows > c.known:
        share, trained = 1.0 - c.known / c.rows, float(ref.get("missing", 0.0))
        if share >= trained + MIN_MISSING_RISE and _excess(
                c.rows - c.known, c.rows, max(trained, 0.01), 0.0):
            parts.append(f"missing for {share:.0%} of {c.rows} (training {trained:.0%}; "
                         "unseen or unreadable values?)")
    return f"{name}: {', '.join(parts)}" if parts else None


def _excess(count: int, n: int, rate: float, min_share: float) -> bool:
    """Whether ``count`` of ``n`` is clearly more than ``rate`` would give."""
    if count < MIN_COUNT or count / n < min_share:
        return False
    from scipy.stats import binom  # only for a suspect feature: SciPy costs seconds to import

    return float(binom.sf(count - 1, n, rate)) < MAX_P
