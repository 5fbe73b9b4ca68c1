"""Regimen propensity: P(regimen | what was known about the patient before the regimen was
chosen), the model of current practice that effect learning and the ``supported`` rule need.

**Columns (the documented rule).** Every column of the feature matrix except the ones that
depend on the regimen: the mechanism family (``rx_*``: it is computed from the regimen) and the
on-treatment ctDNA family (``ctdna_*``: measured under the regimen, a consequence of it). What
is left is pre-treatment: cancer type, driver alterations and copy number, TMB and clonality,
micro-environment, age, line of therapy, systemic markers, as the feature pipeline gives them.
A categorical column (``clin_cancer_type``) is one-hot encoded on its training levels.

**Model.** Multinomial logistic regression (scikit-learn ``lbfgs`` at fit), L2 penalty with
``C = 0.1`` by default on standardised columns (training mean and SD; a missing value counts as
the training median). ``C`` by 5-fold held-out log-likelihood of the observed regimen on the
demo cohort (``python experiments/propensity_penalty.py``): 0.03 and 0.1 are within 0.05 of
each other, weaker penalties overfit, stronger ones underfit; 0.1 is kept as the one of the
two that flattens real practice patterns less (the support rule and the weights rely on them).
The probabilities are used through thresholds (overlap, ``supported``) and clipped weights.

**Rare regimens.** A regimen given to fewer than ``min_patients`` (default 10) training
patients gets no class of its own: such regimens share one pooled class, whose probability is
split between them in proportion to their training counts. Every training regimen therefore has
a column; the propensity of a rare one is coarse (it does not depend on the patient beyond the
pooled class), which the ``supported`` rule tempers with the cancer-type rule below.

**Supported** (:meth:`RegimenPropensity.supported`): a regimen is supported for a patient when
(a) it was given to at least one training patient of the same cancer type, and (b) its
propensity is at least ``floor`` (default 0.01: fewer than one in a hundred patients like this
one got it, so the data say nothing about how it works for them). A regimen never seen in
training is unsupported. A model ranks only supported regimens.

Serving never imports scikit-learn: :meth:`from_state` and :meth:`predict_proba` are numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

STATE_FORMAT = "predictor.models.RegimenPropensity/1"
REGIMEN_DEPENDENT_PREFIXES = ("rx_", "ctdna_")
POOLED = "__pooled__"
DEFAULT_C = 0.1
DEFAULT_MIN_PATIENTS = 10
DEFAULT_FLOOR = 0.01
OVERLAP_THRESHOLD = 0.05


def propensity_columns(columns: Iterable[str]) -> list[str]:
    """The regimen-independent columns of a feature matrix (the module docstring's rule)."""
    return [c for c in columns if not str(c).startswith(REGIMEN_DEPENDENT_PREFIXES)]


class RegimenPropensity:
    """P(regimen | regimen-independent features). Params are set in ``__init__`` only; learned
    state ends in ``_`` and round-trips through :meth:`to_state` / :meth:`from_state`."""

    def __init__(self, C: float = DEFAULT_C, min_patients: int = DEFAULT_MIN_PATIENTS,
                 floor: float = DEFAULT_FLOOR, max_iter: int = 500) -> None:
        self.C = C
        self.min_patients = min_patients
        self.floor = floor
        self.max_iter = max_iter

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, regimen: pd.Series, cancer_type: pd.Series | None = None,
            categorical_features: Sequence[str] = ()) -> RegimenPropensity:
        """Fit on the rows of ``X`` with a regimen (``regimen``/``cancer_type`` aligned to ``X``
        by index, or in its row order when given as arrays)."""
        from sklearn.linear_model import LogisticRegression  # fitting only

        reg = _aligned(X, regimen).astype("string")
        ct = (_aligned(X, cancer_type).astype("string") if cancer_type is not None
              else pd.Series(pd.NA, index=X.index, dtype="string"))
        keep = reg.notna().to_numpy()
        if keep.sum() < 2:
            raise ValueError("the propensity needs at least two patients with a regimen")
        X, reg, ct = X.loc[keep], reg[keep], ct[keep]
        columns = propensity_columns(X.columns)
        categorical = [c for c in categorical_features if c in columns]
        self.columns_ = [c for c in columns if c not in categorical]
        self.categories_ = {c: sorted(float(v) for v in pd.unique(X[c].dropna()))
                            for c in categorical}
        raw = self._design_raw(X)
        with np.errstate(all="ignore"):
            median = np.nanmedian(raw, axis=0) if raw.shape[1] else np.zeros(0)
        median = np.where(np.isfinite(median), median, 0.0)
        filled = np.where(np.isnan(raw), median, raw)
        mean, sd = filled.mean(axis=0), filled.std(axis=0)
        self.median_, self.mean_ = median, mean
        self.scale_ = np.where(sd > 1e-12, sd, 1.0)
        counts = reg.value_counts()
        self.regimens_ = sorted(str(r) for r in counts.index)
        self.counts_ = {str(r): int(n) for r, n in counts.items()}
        self.pooled_ = sorted(r for r in self.regimens_ if self.counts_[r] < self.min_patients)
        labels = reg.where(~reg.isin(self.pooled_), POOLED).astype(str).to_numpy()
        self.classes_ = sorted(set(labels))
        seen = pd.DataFrame({"ct": ct, "reg": reg}).dropna().drop_duplicates()
        self.seen_by_cancer_type_ = {str(c): sorted(str(r) for r in g["reg"])
                                     for c, g in seen.groupby("ct", sort=True)}
        design = self._standardised(raw)
        if len(self.classes_) == 1:
            self.coef_ = np.zeros((1, design.shape[1]))
            self.intercept_ = np.zeros(1)
        else:
            lr = LogisticRegression(C=float(self.C), max_iter=int(self.max_iter))
            lr.fit(design, labels)
            order = [list(lr.classes_).index(c) for c in self.classes_]
            coef, intercept = np.asarray(lr.coef_), np.asarray(lr.intercept_)
            if coef.shape[0] == 1:  # two classes: sklearn keeps one row (class 1 vs 0)
                coef = np.vstack([-coef[0] / 2, coef[0] / 2])
                intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
            self.coef_, self.intercept_ = coef[order], intercept[order]
        self.n_train_ = len(reg)
        return self

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """P(regimen) per patient: index = ``X``'s index, one column per training regimen
        (pooled rare regimens split their class's probability by training counts)."""
        self._check_fitted()
        missing = [c for c in [*self.columns_, *self.categories_] if c not in X.columns]
        if missing:
            X = X.assign(**{c: np.nan for c in missing})
        logits = self._standardised(self._design_raw(X)) @ self.coef_.T + self.intercept_
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        out = np.empty((len(X), len(self.regimens_)))
        pooled_total = sum(self.counts_[r] for r in self.pooled_)
        for j, r in enumerate(self.regimens_):
            if r in self.pooled_:
                out[:, j] = p[:, self.classes_.index(POOLED)] * self.counts_[r] / pooled_total
            else:
                out[:, j] = p[:, self.classes_.index(r)]
        return pd.DataFrame(out, index=X.index, columns=list(self.regimens_))

    def seen(self, proba: pd.DataFrame, cancer_type: pd.Series) -> pd.DataFrame:
        """Boolean frame like ``proba``: the regimen was given to a training patient of the
        patient's cancer type (part (a) of the ``supported`` rule)."""
        self._check_fitted()
        ct = _aligned(proba, cancer_type).astype("string").fillna("").to_numpy(dtype=object)
        seen = np.zeros(proba.shape, dtype=bool)
        column = {r: j for j, r in enumerate(proba.columns)}
        for cancer, regimens in self.seen_by_cancer_type_.items():
            rows = ct == cancer
            for r in regimens:
                if r in column:
                    seen[rows, column[r]] = True
        return pd.DataFrame(seen, index=proba.index, columns=proba.columns)

    def supported(self, proba: pd.DataFrame, cancer_type: pd.Series,
                  floor: float | None = None) -> pd.DataFrame:
        """Boolean frame like ``proba``: the regimen was seen for the patient's cancer type in
        training (:meth:`seen`) and its propensity is >= ``floor`` (default: this model's
        ``floor``)."""
        floor = float(self.floor if floor is None else floor)
        seen = self.seen(proba, cancer_type).to_numpy()
        return pd.DataFrame(seen & (proba.to_numpy() >= floor), index=proba.index,
                            columns=proba.columns)

    def _design_raw(self, X: pd.DataFrame) -> np.ndarray:
        parts = [X[self.columns_].to_numpy(dtype=np.float64, na_value=np.nan)]
        for c, levels in self.categories_.items():
            values = X[c].to_numpy(dtype=np.float64, na_value=np.nan)
            parts.append(np.column_stack([values == v for v in levels]).astype(np.float64)
                         if levels else np.zeros((len(X), 0)))
            if levels:
                parts[-1][np.isnan(values)] = np.nan
        return np.hstack(parts) if parts else np.zeros((len(X), 0))

    def _standardised(self, raw: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            raw = np.where(np.isfinite(raw), raw, self.median_)
        return (raw - self.mean_) / self.scale_

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("RegimenPropensity is not fitted")

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> dict[str, Any]:
        """JSON-able learned state and params (no pickle)."""
        self._check_fitted()
        return {
            "format": STATE_FORMAT,
            "params": {"C": float(self.C), "min_patients": int(self.min_patients),
                       "floor": float(self.floor), "max_iter": int(self.max_iter)},
            "columns": list(self.columns_),
            "categories": {c: list(v) for c, v in self.categories_.items()},
            "median": self.median_.tolist(), "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "regimens": list(self.regimens_), "counts": dict(self.counts_),
            "pooled": list(self.pooled_), "classes": list(self.classes_),
            "coef": self.coef_.tolist(), "intercept": self.intercept_.tolist(),
            "seen_by_cancer_type": {k: list(v) for k, v in self.seen_by_cancer_type_.items()},
            "n_train": int(self.n_train_),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RegimenPropensity:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a regimen propensity state: {state.get('format')!r}")
        # "seed": a param of earlier versions that nothing used (lbfgs draws nothing);
        # bundles written then still load, and it is ignored
        model = cls(**{k: v for k, v in state["params"].items() if k != "seed"})
        model.columns_ = list(state["columns"])
        model.categories_ = {c: [float(x) for x in v] for c, v in state["categories"].items()}
        n = len(model.columns_) + sum(len(v) for v in model.categories_.values())
        model.median_ = np.asarray(state["median"], dtype=np.float64).reshape(n)
        model.mean_ = np.asarray(state["mean"], dtype=np.float64).reshape(n)
        model.scale_ = np.asarray(state["scale"], dtype=np.float64).reshape(n)
        model.regimens_ = list(state["regimens"])
        model.counts_ = {str(k): int(v) for k, v in state["counts"].items()}
        model.pooled_ = list(state["pooled"])
        model.classes_ = list(state["classes"])
        model.coef_ = np.asarray(state["coef"], dtype=np.float64).reshape(len(model.classes_), n)
        model.intercept_ = np.asarray(state["intercept"], dtype=np.float64)
        model.seen_by_cancer_type_ = {k: list(v)
                                      for k, v in state["seen_by_cancer_type"].items()}
        model.n_train_ = int(state["n_train"])
        return model


def _aligned(X: pd.DataFrame, values: Any) -> pd.Series:
    """``values`` as a Series on ``X``'s index (by index when a Series, else row order)."""
    if isinstance(values, pd.Series):
        return values.reindex(X.index)
    return pd.Series(np.asarray(values, dtype=object), index=X.index)


def observed_propensity(proba: pd.DataFrame, regimen: pd.Series) -> np.ndarray:
    """Each patient's propensity of the regimen they got (NaN for a regimen unseen in
    training or no regimen)."""
    reg = _aligned(proba, regimen).astype("string")
    column = {r: j for j, r in enumerate(proba.columns)}
    j = np.array([column.get(str(r), -1) if r is not pd.NA else -1 for r in reg])
    values = proba.to_numpy()[np.arange(len(proba)), np.maximum(j, 0)]
    return np.where(j >= 0, values, np.nan)


def ipw_weights(propensity: np.ndarray, clip: float = 0.1) -> np.ndarray:
    """Inverse-propensity weights ``1 / max(p, clip)``, normalised to mean 1.

    Clipping at ``clip`` (default 0.1: no patient weighs more than 10x a patient whose
    regimen was certain) bounds the variance that a few unlikely assignments would add (in CV
    policy value 0.1 and 0.2 were close and better than 0.02 and 0.05; 0.1 keeps more of the
    weighting, docs/regimen_effects.md). A
    missing propensity (no regimen) gets the mean weight of the others: it is neither up- nor
    down-weighted.
    """
    p = np.asarray(propensity, dtype=np.float64)
    known = np.isfinite(p)
    w = np.ones(len(p))
    if known.any():
        w[known] = 1.0 / np.maximum(p[known], float(clip))
        w[~known] = w[known].mean()
    return w / w.mean() if len(w) else w


def overlap_report(proba: pd.DataFrame, threshold: float = OVERLAP_THRESHOLD,
                   cancer_type: pd.Series | None = None) -> pd.DataFrame:
    """Share of patients with a < ``threshold`` chance of each regimen (lack of overlap).

    Rows: ``all`` and, with ``cancer_type``, each cancer type (``group`` column), one per
    regimen (``regimen``), with ``n`` patients, ``share_below`` and the mean propensity.
    A regimen where nearly everyone is below the threshold is one the data cannot compare.
    """
    values = proba.to_numpy(dtype=np.float64)
    groups: list[tuple[str, np.ndarray]] = [("all", np.ones(len(proba), dtype=bool))]
    if cancer_type is not None:
        ct = _aligned(proba, cancer_type).astype("string").fillna("<missing>")
        groups += [(str(c), (ct == c).to_numpy()) for c in sorted(ct.unique())]
    rows = []
    for name, mask in groups:
        if not mask.any():
            continue
        block = values[mask]
        for j, regimen in enumerate(proba.columns):
            rows.append({"group": name, "regimen": str(regimen), "n": int(mask.sum()),
                         "share_below": float((block[:, j] < threshold).mean()),
                         "mean_propensity": float(block[:, j].mean())})
    return pd.DataFrame(rows, columns=["group", "regimen", "n", "share_below",
                                       "mean_propensity"])
