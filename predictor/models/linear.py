"""Penalised linear part of a head, blended with the trees: ``raw = w * trees + (1 - w) * linear``.

Why: on a few hundred to a thousand patients a smooth additive signal (log TMB, a blood ratio,
cancer type) is learned more efficiently by a penalised linear model than by trees; on the
Chowell cohort a sparse logistic recipe (LORIS) beat our boosted trees. A head therefore fits
both on the same inner folds and picks the penalty from their out-of-fold scores; the blend
weight ``w`` is given (0.5 by default: best in CV on the demo and Chowell cohorts) or, with
``"cv"``, picked the same way (``w = 1`` keeps the trees alone). Nothing is chosen on a test set.

The linear part is stored as plain numbers (JSON): for each design term its source feature, a
transform (value with optional log1p, clipping and median fill; missing indicator; category
level), centring, scaling and a weight. Its decision is a log-odds (response) or log relative
hazard (relapse), the same scale as the booster's raw score, and it decomposes exactly into
per-feature contributions plus an intercept.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from predictor.errors import InputError
from predictor.models.cox import RiskSets, cox_loss_and_gradient

# A non-negative column this skewed (e.g. TMB, counts) also gets a log1p term, unless it has
# only a few distinct values (a rare 0/1 flag is skewed too, and its log is the same column).
LOG_SKEW = 1.0
MIN_LOG_DISTINCT = 4
# Clip transformed values to these training quantiles: a few extreme patients must not set
# the slope for everyone.
CLIP_QUANTILES = (0.01, 0.99)
# A missing-value indicator term is added when at least this share of training rows is missing.
MISSING_SHARE = 0.05
# A category level gets its own term when at least this many training patients have it.
MIN_LEVEL_COUNT = 10
# Prediction batches are scored in pieces of this many rows (a few MB, cache-sized).
DECISION_CHUNK_ROWS = 8192

DEFAULT_LOGISTIC_C = (0.003, 0.01, 0.03, 0.1, 0.3)
DEFAULT_COX_ALPHA = (3.0, 10.0, 30.0, 100.0, 300.0)
DEFAULT_TREE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
# When the weight is chosen by CV, the linear part is kept only if it raises the out-of-fold
# AUC / C-index over the trees alone by at least this much: smaller gains are within what
# a noise feature set gives on a few hundred patients.
MIN_GAIN = 0.002


@dataclass
class Term:
    """One design column: ``kind`` is ``value``, ``missing`` or ``level``."""

    feature: int
    kind: str
    log: bool = False
    low: float = 0.0
    high: float = 0.0
    fill: float = 0.0
    level: float = 0.0


@dataclass
class LinearScorer:
    """A fitted linear score over a head's feature matrix (columns in ``feature_names`` order)."""

    feature_names: list[str]
    terms: list[Term]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intercept: float = 0.0
    penalty: float = float("nan")

    def design(self, matrix: np.ndarray) -> np.ndarray:
        """Standardised design matrix, shape (n, n_terms) (fitting and contributions)."""
        matrix = np.asarray(matrix, dtype=np.float64)
        raw = np.empty((len(matrix), len(self.terms)))
        for index, block in self._blocks(matrix):
            raw[:, index] = block
        return (raw - self.mean) / self.scale

    def _blocks(self, matrix: np.ndarray,
                subset: list[int] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """(term positions, raw values) per term kind, one vectorised pass per kind, for all
        terms or the ``subset`` of term positions. Inputs with |x| <= 1e-35, which LightGBM
        reads as 0, change a value term by at most that much and a category code not at all
        (codes are truncated to integers, as LightGBM does)."""
        terms = self.terms
        kinds = np.array([t.kind for t in terms])
        if subset is not None:  # only these term positions
            kinds = np.where(np.isin(np.arange(len(terms)), subset), kinds, "")
        blocks = []
        value = np.flatnonzero(kinds == "value")
        if len(value):
            v = matrix[:, [terms[j].feature for j in value]]  # a copy, transformed in place
            logged = np.array([terms[j].log for j in value])
            if logged.any():
                v[:, logged] = np.log1p(np.clip(v[:, logged], 0.0, None))
            low, high, fill = (np.array([getattr(terms[j], a) for j in value])
                               for a in ("low", "high", "fill"))
            np.maximum(v, low, out=v)  # NaN stays NaN
            np.minimum(v, high, out=v)
            np.copyto(v, np.broadcast_to(fill, v.shape), where=np.isnan(v))
            blocks.append((value, v))
        missing = np.flatnonzero(kinds == "missing")
        if len(missing):
            blocks.append((missing, np.isnan(matrix[:, [terms[j].feature for j in missing]])))
        level = np.flatnonzero(kinds == "level")
        if len(level):
            codes = np.trunc(matrix[:, [terms[j].feature for j in level]])
            blocks.append((level, codes == np.array([terms[j].level for j in level])))
        return blocks

    def decision(self, matrix: np.ndarray) -> np.ndarray:
        """Log-odds or log relative hazard, shape (n,). Equal to ``design(X) @ coef +
        intercept`` (tested) but built for prediction batches: the plain value terms (at most
        one per feature) are transformed on one copy of the whole matrix, avoiding a slow
        column gather; only the few log, missing and level terms are gathered. Large batches
        go in cache-sized pieces (2-4x faster than at once)."""
        matrix = np.asarray(matrix, dtype=np.float64)
        weight = self.coef / self.scale
        offset = self.intercept - float(weight @ self.mean)
        plain = {j for j, t in enumerate(self.terms) if t.kind == "value" and not t.log}
        rest = [j for j in range(len(self.terms)) if j not in plain]
        width = matrix.shape[1]  # columns without a plain term are clipped to 0, weight 0
        low, high, fill, w = (np.zeros(width) for _ in range(4))
        for j in plain:
            t = self.terms[j]
            low[t.feature], high[t.feature], fill[t.feature] = t.low, t.high, t.fill
            w[t.feature] = weight[j]
        out = np.empty(len(matrix))
        for start in range(0, len(matrix), DECISION_CHUNK_ROWS):
            part = matrix[start:start + DECISION_CHUNK_ROWS]
            values = np.maximum(part, low)  # one copy; NaN stays NaN
            np.minimum(values, high, out=values)
            np.copyto(values, np.broadcast_to(fill, values.shape), where=np.isnan(values))
            score = offset + values @ w
            for index, block in (self._blocks(part, rest) if rest else ()):
                score += block.astype(np.float64, copy=False) @ weight[index]
            out[start:start + len(part)] = score
        return out

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Per-feature additive parts of ``decision`` plus a last intercept column."""
        parts = self.design(matrix) * self.coef
        out = np.zeros((len(matrix), len(self.feature_names) + 1))
        for j, term in enumerate(self.terms):
            out[:, term.feature] += parts[:, j]
        out[:, -1] = self.intercept
        return out

    def to_dict(self) -> dict:
        return {
            "feature_names": list(self.feature_names),
            "terms": [{**t.__dict__, "mean": float(m), "scale": float(s), "coef": float(c)}
                      for t, m, s, c in zip(self.terms, self.mean, self.scale, self.coef,
                                            strict=True)],
            "intercept": float(self.intercept),
            "penalty": float(self.penalty),
        }

    @classmethod
    def from_dict(cls, state: dict) -> LinearScorer:
        try:
            rows = list(state["terms"])
            terms = [Term(feature=int(r["feature"]), kind=str(r["kind"]), log=bool(r["log"]),
                          low=float(r["low"]), high=float(r["high"]), fill=float(r["fill"]),
                          level=float(r["level"])) for r in rows]
            names = [str(n) for n in state["feature_names"]]
            if any(t.kind not in ("value", "missing", "level") or not 0 <= t.feature < len(names)
                   for t in terms):
                raise ValueError("a term names an unknown kind or feature")
            plain = [t.feature for t in terms if t.kind == "value" and not t.log]
            if len(plain) != len(set(plain)):
                raise ValueError("a feature has two plain value terms")
            if not all(float(r["scale"]) > 0 and np.isfinite(float(r["coef"])) for r in rows):
                raise ValueError("every term needs a positive scale and a finite weight")
            return cls(
                feature_names=names, terms=terms,
                mean=np.array([float(r["mean"]) for r in rows]),
                scale=np.array([float(r["scale"]) for r in rows]),
                coef=np.array([float(r["coef"]) for r in rows]),
                intercept=float(state["intercept"]), penalty=float(state.get("penalty", np.nan)))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not a valid linear model state ({exc})") from exc


def fit_design(matrix: np.ndarray, feature_names: Sequence[str],
               categorical: Sequence[str] = ()) -> LinearScorer:
    """Choose the terms and their scaling from training rows (no coefficients yet)."""
    cats = set(categorical)
    terms: list[Term] = []
    for j, name in enumerate(feature_names):
        x = matrix[:, j]
        finite = x[~np.isnan(x)]
        if len(finite) < 2:
            continue
        if name in cats:
            levels, counts = np.unique(finite, return_counts=True)
            frequent = levels[counts >= MIN_LEVEL_COUNT]
            # Levels are all-or-nothing against the rest (the reference); one level is enough
            # when only two exist.
            if len(levels) == 2 and len(frequent):
                frequent = frequent[:1]
            terms += [Term(feature=j, kind="level", level=float(v)) for v in frequent]
        else:
            terms += _value_terms(j, x, finite)
    if not terms:
        raise InputError("no usable feature for the linear part (all constant or missing)")
    scorer = LinearScorer(list(map(str, feature_names)), terms, np.zeros(len(terms)),
                          np.ones(len(terms)))
    raw = scorer.design(matrix)
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    keep = scale > 1e-12
    scorer.terms = [t for t, k in zip(terms, keep, strict=True) if k]
    scorer.mean, scorer.scale = mean[keep], scale[keep]
    if not scorer.terms:
        raise InputError("no usable feature for the linear part (all constant or missing)")
    return scorer


def _value_terms(j: int, x: np.ndarray, finite: np.ndarray) -> list[Term]:
    """The clipped value; for a skewed non-negative column also its log1p (the penalty then
    shares the slope between the two shapes: TMB acts on a log scale in some cohorts and
    linearly up to a cap in others, e.g. LORIS)."""
    skewed = bool(finite.min() >= 0 and _skewness(finite) > LOG_SKEW
                  and len(np.unique(finite[:1000])) > MIN_LOG_DISTINCT)
    terms = [_value_term(j, finite, log) for log in ((False, True) if skewed else (False,))]
    if np.isnan(x).mean() >= MISSING_SHARE:
        terms.append(Term(feature=j, kind="missing"))
    return terms


def _value_term(j: int, finite: np.ndarray, log: bool) -> Term:
    values = np.log1p(finite) if log else finite
    low, high = np.quantile(values, CLIP_QUANTILES)
    if not high > low:
        low, high = float(values.min()), float(values.max())
    fill = float(np.median(np.clip(values, low, high)))
    return Term(feature=j, kind="value", log=log, low=float(low), high=float(high), fill=fill)


def _skewness(values: np.ndarray) -> float:
    sd = values.std()
    return 0.0 if sd <= 0 else float(np.mean(((values - values.mean()) / sd) ** 3))


# ---------------------------------------------------------------------------- coefficients
def fit_logistic(scorer: LinearScorer, matrix: np.ndarray, y: np.ndarray,
                 weights: np.ndarray | None, C: float,
                 signs: dict[int, int] | None = None) -> LinearScorer:
    """L2 logistic regression on the design; returns ``scorer`` with its coefficients set.

    ``signs`` maps a feature index to the sign its value term must have (monotone
    constraints): a term fitted with the wrong sign is dropped and the rest refitted, so the
    linear part is flat in that feature rather than against the constraint."""
    signs = signs or {}
    while True:
        from sklearn.exceptions import ConvergenceWarning  # fitting only (serving: numpy)
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=float(C), max_iter=5000, tol=1e-8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(scorer.design(matrix), y.astype(int), sample_weight=weights)
        coef = model.coef_.ravel().astype(np.float64)
        wrong = [j for j, t in enumerate(scorer.terms)
                 if t.kind == "value" and signs.get(t.feature, 0) * coef[j] < 0]
        if not wrong or len(wrong) == len(scorer.terms):
            break
        _drop_terms(scorer, wrong)
    intercept = float(model.intercept_[0])
    if wrong:  # every term was against its constraint: an intercept-only score
        coef = np.zeros_like(coef)
        w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
        intercept = float(np.log(np.sum(w * y) / np.sum(w * (1.0 - y))))
    scorer.coef = coef
    scorer.intercept = intercept
    scorer.penalty = float(C)
    return scorer


def _drop_terms(scorer: LinearScorer, drop: Sequence[int]) -> None:
    keep = np.setdiff1d(np.arange(len(scorer.terms)), drop)
    scorer.terms = [scorer.terms[j] for j in keep]
    scorer.mean, scorer.scale = scorer.mean[keep], scorer.scale[keep]


def fit_cox(scorer: LinearScorer, matrix: np.ndarray, time: np.ndarray, event: np.ndarray,
            alpha: float) -> LinearScorer:
    """Ridge Cox model (Breslow ties) on the design: minimises the negative log partial
    likelihood + ``alpha / 2 * |coef|^2`` (scikit-survival's ``CoxPHSurvivalAnalysis(alpha)``
    convention) with L-BFGS; the intercept stays 0."""
    design = scorer.design(matrix)
    rs = RiskSets.build(time, event)
    alpha = float(alpha)

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = cox_loss_and_gradient(design @ beta, rs)
        return value + 0.5 * alpha * beta @ beta, design.T @ grad + alpha * beta

    from scipy.optimize import minimize

    result = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B",
                      options={"maxiter": 2000, "gtol": 1e-9, "ftol": 1e-14})
    scorer.coef = np.asarray(result.x, dtype=np.float64)
    scorer.intercept = 0.0
    scorer.penalty = alpha
    return scorer


# ---------------------------------------------------------------------------- choosing
@dataclass
class Blend:
    """What a head keeps: the linear part (None when trees alone) and the tree weight."""

    linear: LinearScorer | None
    tree_weight: float
    oof: np.ndarray
    scores: dict[str, float]


def response_score(y: np.ndarray) -> Callable[[np.ndarray], float]:
    """Out-of-fold ROC AUC of a score (what the blend and penalty are chosen by)."""
    from sklearn.metrics import roc_auc_score

    return lambda s: float(roc_auc_score(y, s))


def relapse_score(time: np.ndarray, event: np.ndarray) -> Callable[[np.ndarray], float]:
    """Out-of-fold Harrell's C of a risk score."""
    e = event.astype(bool)
    from sksurv.metrics import concordance_index_censored

    return lambda s: float(concordance_index_censored(e, time, s)[0])


def choose_blend(
    *,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    tree_oof: np.ndarray,
    matrix: np.ndarray,
    feature_names: Sequence[str],
    categorical: Sequence[str],
    fit: Callable[[LinearScorer, np.ndarray, float], LinearScorer],
    score: Callable[[np.ndarray], float],
    tree_weight: float | str,
    penalties: Sequence[float],
    tree_weights: Sequence[float] = DEFAULT_TREE_WEIGHTS,
) -> Blend:
    """Pick the linear penalty and the tree weight from out-of-fold scores on ``folds``, then
    refit the linear part on all rows. ``fit(scorer, rows, penalty)`` fits coefficients on
    the given row indices. ``tree_weight`` is a number in [0, 1] or ``"cv"``."""
    fixed = parse_tree_weight(tree_weight)
    if fixed == 1.0:
        return Blend(None, 1.0, tree_oof, {})
    if not penalties:
        raise InputError("the linear part needs at least one penalty value")
    scores: dict[str, float] = {}
    best_penalty, best_oof, best_score = None, None, -np.inf
    designs = [fit_design(matrix[train_idx], feature_names, categorical)
               for train_idx, _ in folds]  # each fold's terms, shared by every penalty
    for penalty in penalties:
        oof = np.full(len(matrix), np.nan)
        for (train_idx, valid_idx), design in zip(folds, designs, strict=True):
            scorer = replace(design, terms=list(design.terms))
            oof[valid_idx] = fit(scorer, train_idx, penalty).decision(matrix[valid_idx])
        value = score(oof)
        scores[f"linear_penalty_{penalty:g}"] = value
        if value > best_score + 1e-12:
            best_penalty, best_oof, best_score = penalty, oof, value
    weights = [fixed] if fixed is not None else sorted({*map(float, tree_weights), 1.0},
                                                        reverse=True)
    best_w, best_blend, best_value = None, None, -np.inf
    for w in weights:  # from trees towards linear: ties keep the larger tree weight
        blended = w * tree_oof + (1.0 - w) * best_oof
        value = score(blended)
        scores[f"tree_weight_{w:g}"] = value
        if value > best_value + 1e-12:
            best_w, best_blend, best_value = w, blended, value
    if best_w == 1.0 or (fixed is None and best_value < scores["tree_weight_1"] + MIN_GAIN):
        return Blend(None, 1.0, tree_oof, scores)
    everyone = np.arange(len(matrix))
    linear = fit(fit_design(matrix, feature_names, categorical), everyone, best_penalty)
    return Blend(linear, float(best_w), best_blend, scores)


def parse_tree_weight(value: float | str) -> float | None:
    """``"cv"`` -> None (choose by CV); a number in [0, 1] -> that number."""
    if isinstance(value, str) and value.strip().lower() == "cv":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not 0.0 <= number <= 1.0:
        raise InputError(f"tree_weight must be 'cv' or a number in [0, 1], got {value!r}")
    return number
