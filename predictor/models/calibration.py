"""Map raw LightGBM scores to probabilities with a calibrator small enough to live in JSON.

The serving layer computes raw scores in compiled code, so the calibrator must apply to raw
scores alone: isotonic keeps its breakpoints (``np.interp``, flat outside the fitted range),
sigmoid keeps Platt's ``a``/``b`` (p = 1 / (1 + exp(-(a * raw + b)))), identity is the logistic
link LightGBM itself uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from predictor.errors import InputError

METHODS = ("isotonic", "sigmoid", "identity")


@dataclass
class Calibrator:
    """A fitted raw-score -> probability map. ``to_dict``/``from_dict`` round-trip exactly."""

    method: str = "identity"
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    a: float = 1.0
    b: float = 0.0

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(raw, np.asarray(self.x), np.asarray(self.y))
        return expit(self.a * raw + self.b)

    def to_dict(self) -> dict:
        if self.method == "isotonic":
            return {"method": "isotonic", "x": list(map(float, self.x)),
                    "y": list(map(float, self.y))}
        return {"method": self.method, "a": float(self.a), "b": float(self.b)}

    @classmethod
    def from_dict(cls, state: dict) -> Calibrator:
        method = state.get("method")
        if method not in METHODS:
            raise InputError(f"unknown calibration method {method!r} in calibration file")
        if method == "isotonic":
            x, y = list(map(float, state["x"])), list(map(float, state["y"]))
            if len(x) != len(y) or not x:
                raise InputError("isotonic calibration needs equal-length, non-empty x and y")
            return cls(method=method, x=x, y=y)
        return cls(method=method, a=float(state.get("a", 1.0)), b=float(state.get("b", 0.0)))


def fit_calibrator(raw: np.ndarray, y: np.ndarray, method: str | None) -> Calibrator:
    """Fit on out-of-fold raw scores (never in-sample ones, which are overconfident)."""
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if method is None or method == "identity":
        return Calibrator(method="identity")
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
        iso.fit(raw, y)
        return Calibrator(method="isotonic", x=iso.X_thresholds_.tolist(),
                          y=iso.y_thresholds_.tolist())
    if method == "sigmoid":
        a, b = platt(raw, y)
        return Calibrator(method="sigmoid", a=a, b=b)
    raise InputError(f"unknown calibration {method!r} (use 'isotonic', 'sigmoid' or none)")


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

    result = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="BFGS")
    return float(result.x[0]), float(result.x[1])
