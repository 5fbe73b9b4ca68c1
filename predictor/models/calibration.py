"""Map raw LightGBM scores to probabilities with a calibrator small enough to live in JSON.

The serving layer computes raw scores in compiled code, so the calibrator must apply to raw
scores alone: isotonic keeps its breakpoints (``np.interp``, flat outside the fitted range),
sigmoid keeps Platt's ``a``/``b`` (p = 1 / (1 + exp(-(a * raw + b)))), identity is the logistic
link LightGBM itself uses.

``centered_isotonic`` (the default of the response head) is centered isotonic regression
(Oron & Flournoy 2017): the isotonic (PAVA) fit, then one knot per constant block at the mean
raw score of the block's patients and the block's rate, joined linearly. Plain isotonic maps
whole blocks of patients to one probability (~20 levels on a few hundred patients), which ties
their scores and costs ROC AUC; CIR is strictly increasing between the first and the last knot,
so it keeps the ranking. Outside them the map is nearly flat but still strictly increasing (two
extra knots, one training score range beyond the outermost scores, 1e-6 of the probability
away from the end knots; flat beyond those), so no two raw scores tie and the calibrated AUC
equals the raw-score AUC. Knot probabilities are kept inside [1e-6, 1 - 1e-6]. Stored as the
same ``x``/``y`` breakpoints as isotonic, applied with ``np.interp``.

``logit_update`` is a local update of another calibrator (Steyerberg's model-updating ladder):
p = 1 / (1 + exp(-(a * logit(base(raw)) + b))), with ``base`` the fitted calibrator it updates
(kept whole in its JSON). ``a = 1`` is an intercept-only update (calibration in the large),
free ``a`` and ``b`` a logistic recalibration. Written by ``predictor recalibrate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from predictor.errors import InputError

METHODS = ("centered_isotonic", "isotonic", "sigmoid", "identity", "logit_update")
BREAKPOINT_METHODS = ("centered_isotonic", "isotonic")
CIR_EDGE = 1e-6  # knot probabilities within [CIR_EDGE, 1 - CIR_EDGE]; tail drop
LOGIT_CLIP = 1e-15  # logit_update reads base probabilities clipped to [LOGIT_CLIP, 1 - LOGIT_CLIP]


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x)), as ``scipy.special.expit`` computes it (in
    numpy: applying a calibrator must not import SciPy, a large share of serving start-up)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), the inverse of :func:`expit`."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(p / (1.0 - p))


@dataclass
class Calibrator:
    """A fitted raw-score -> probability map. ``to_dict``/``from_dict`` round-trip exactly."""

    method: str = "identity"
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    a: float = 1.0
    b: float = 0.0
    base: dict | None = None  # logit_update: the calibrator it updates (its to_dict())

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if self.method in BREAKPOINT_METHODS:
            return np.interp(raw, np.asarray(self.x), np.asarray(self.y))
        if self.method == "logit_update":
            p = np.clip(Calibrator.from_dict(self.base or {})(raw), LOGIT_CLIP, 1 - LOGIT_CLIP)
            return expit(self.a * logit(p) + self.b)
        return expit(self.a * raw + self.b)

    def to_dict(self) -> dict:
        if self.method in BREAKPOINT_METHODS:
            return {"method": self.method, "x": list(map(float, self.x)),
                    "y": list(map(float, self.y))}
        if self.method == "logit_update":
            return {"method": self.method, "a": float(self.a), "b": float(self.b),
                    "base": dict(self.base or {})}
        return {"method": self.method, "a": float(self.a), "b": float(self.b)}

    @classmethod
    def from_dict(cls, state: dict) -> Calibrator:
        method = state.get("method")
        if method not in METHODS:
            raise InputError(f"unknown calibration method {method!r} in calibration file")
        if method in BREAKPOINT_METHODS:
            x, y = list(map(float, state["x"])), list(map(float, state["y"]))
            if len(x) != len(y) or not x:
                raise InputError(f"{method} calibration needs equal-length, non-empty x and y")
            if np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0):
                raise InputError(f"{method} calibration breakpoints must be non-decreasing")
            return cls(method=method, x=x, y=y)
        if method == "logit_update":
            base = state.get("base")
            if not isinstance(base, dict):
                raise InputError("logit_update calibration needs the calibrator it updates "
                                 "('base')")
            cls.from_dict(base)  # checked now, not at the first prediction
            return cls(method=method, a=float(state.get("a", 1.0)),
                       b=float(state.get("b", 0.0)), base=base)
        return cls(method=method, a=float(state.get("a", 1.0)), b=float(state.get("b", 0.0)))


def fit_calibrator(raw: np.ndarray, y: np.ndarray, method: str | None) -> Calibrator:
    """Fit on out-of-fold raw scores (never in-sample ones, which are overconfident)."""
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if method is None or method == "identity":
        return Calibrator(method="identity")
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression  # fitting only (applying: numpy)

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
        iso.fit(raw, y)
        return Calibrator(method="isotonic", x=iso.X_thresholds_.tolist(),
                          y=iso.y_thresholds_.tolist())
    if method == "centered_isotonic":
        x, y_knots = centered_isotonic(raw, y)
        return Calibrator(method="centered_isotonic", x=x.tolist(), y=y_knots.tolist())
    if method == "sigmoid":
        a, b = platt(raw, y)
        return Calibrator(method="sigmoid", a=a, b=b)
    raise InputError(f"unknown calibration {method!r} "
                     "(use 'centered_isotonic', 'isotonic', 'sigmoid' or none)")


def centered_isotonic(raw: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots (x strictly increasing, y strictly increasing) of centered isotonic regression,
    with the nearly flat tails described in the module docstring."""
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not len(raw):
        raise InputError("calibration needs at least one score")
    order = np.argsort(raw, kind="mergesort")
    raw_sorted = raw[order]
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True)
    fitted = iso.fit(raw, y).predict(raw_sorted)
    # constant blocks: runs of equal fitted value (patients with equal raw scores share one)
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    counts = np.diff(np.r_[starts, len(fitted)])
    knot_x = np.add.reduceat(raw_sorted, starts) / counts
    knot_y = np.clip(fitted[starts], CIR_EDGE, 1.0 - CIR_EDGE)
    # a block's mean equals the next one's only in float round-off: keep the first of them
    keep = np.r_[True, np.diff(knot_x) > 0]
    knot_x, knot_y = knot_x[keep], knot_y[keep]
    span = float(raw_sorted[-1] - raw_sorted[0]) or 1.0
    low_x, high_x = raw_sorted[0] - span, raw_sorted[-1] + span
    low_y = knot_y[0] - CIR_EDGE * knot_y[0]
    high_y = knot_y[-1] + CIR_EDGE * (1.0 - knot_y[-1])
    return np.r_[low_x, knot_x, high_x], np.r_[low_y, knot_y, high_y]


def platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling with Platt's smoothed targets (avoids infinite slopes on separable data)."""
    n_pos = float(np.sum(y == 1))
    n_neg = float(np.sum(y == 0))
    target = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * raw + theta[1]
        p = expit(z)
        # log-loss in a stable form: log(1 + exp(z)) - t z
        value = float(np.sum(np.logaddexp(0.0, z) - target * z))
        resid = p - target
        return value, np.array([np.sum(resid * raw), np.sum(resid)])

    from scipy.optimize import minimize

    result = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="BFGS")
    return float(result.x[0]), float(result.x[1])
