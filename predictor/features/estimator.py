"""The scikit-learn estimator contract for feature steps, without importing scikit-learn.

Why: ``sklearn.base`` imports ``sklearn.utils.validation``, which imports ``scipy.stats``: over
2 s of start-up on a busy 2-core machine, paid by every ``predictor predict`` although a fitted
feature step needs none of it to transform. These classes keep the contract the steps follow
(parameters stored by ``__init__`` only and read back by ``get_params``; learned state in
attributes ending in ``_``; ``fit_transform``; :func:`check_is_fitted`), so
``sklearn.base.clone`` and grid searches still work on them.
"""

from __future__ import annotations

import inspect
from typing import Any


class NotFittedError(ValueError, AttributeError):
    """A step used before ``fit`` (the same bases as scikit-learn's ``NotFittedError``)."""


class BaseEstimator:
    """``get_params``/``set_params`` read off the ``__init__`` signature, as scikit-learn's."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        return sorted(p.name for p in params
                      if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> BaseEstimator:
        valid = self._get_param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__} "
                                 f"(valid: {', '.join(valid)})")
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


class TransformerMixin:
    """``fit_transform`` = ``fit`` then ``transform``."""

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        return self.fit(X, y, **fit_params).transform(X)


def check_is_fitted(estimator: Any, attribute: str) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has the learned ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"this {type(estimator).__name__} instance is not fitted yet; "
                             "call 'fit' first")
