"""What every fitted model shares: scikit-learn's conventions (``fit`` returns self, fitted
values end in ``_``, no work in ``__init__``) and a checked set of positive parameters."""

from __future__ import annotations

import numpy as np


class FittedModel:
    """A model whose parameters are fitted or given. Subclasses set ``MODEL`` (its name in
    messages) and ``PARAM_NAMES`` (in the papers' order)."""

    MODEL = ""
    PARAM_NAMES: tuple = ()

    def __init__(self, params: dict | None = None):
        self.params_ = None
        self.se_ = None
        self.loglik_ = None
        self.n_clients_ = None
        self.n_iter_ = None
        if params is not None:
            self.params_ = checked_params(params, self.PARAM_NAMES, self.MODEL)

    @classmethod
    def from_params(cls, *values, **params):
        """A model with known parameters (in ``PARAM_NAMES`` order, or by name), without fitting."""
        return cls(params={**dict(zip(cls.PARAM_NAMES, values)), **params})

    def __repr__(self) -> str:
        name = type(self).__name__
        if self.params_ is None:
            return f"{name}()"
        return f"{name}(" + ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items()) + ")"

    def _theta(self) -> np.ndarray:
        if self.params_ is None:
            raise ValueError(f"{type(self).__name__} has no parameters: call fit() or use "
                             "from_params()")
        return np.array([self.params_[k] for k in self.PARAM_NAMES])


def checked_params(params: dict, names: tuple, model: str) -> dict:
    """The parameters as floats, or a ValueError naming the one missing or not positive."""
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"{model} needs parameters {', '.join(names)}; missing {', '.join(missing)}")
    values = {k: float(params[k]) for k in names}
    bad = [k for k, v in values.items() if not (np.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"{model} parameter {bad[0]} must be a positive number")
    return values
