"""Shared maximum-likelihood machinery for the probabilistic models.

Every model hands over a function returning the weighted negative
log-likelihood and its analytic gradient in natural parameters. We minimise
in log parameters (so positivity needs no constraint), then compute standard
errors from a finite-difference Hessian of the analytic gradient.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np
from scipy import optimize

NegLogLik = Callable[[np.ndarray], "tuple[float, np.ndarray]"]

LOG_BOUND = 20.0  # |log parameter| beyond this (a factor 5e8) means it has run away


class ModelFitError(ValueError):
    """A model could not be fitted; the message names the cause."""


class FitResult(NamedTuple):
    params: np.ndarray
    se: np.ndarray
    loglik: float
    iterations: int


def fit_log_params(
    neg_loglik: NegLogLik,
    start: Sequence[float],
    names: Sequence[str],
    model: str,
    total_weight: float,
) -> FitResult:
    """Minimise ``neg_loglik`` over positive parameters; raise ModelFitError on failure."""
    scale = float(total_weight)

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        if np.any(np.abs(u) > LOG_BOUND + 5.0):
            return np.inf, np.zeros_like(u)
        theta = np.exp(u)
        with np.errstate(all="ignore"):
            value, grad = neg_loglik(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(u)
        return value / scale, grad * theta / scale

    # Plain BFGS: for 3-4 parameters it is several times cheaper per step than
    # L-BFGS-B, and log parameters need no bounds (run-away is checked below).
    u0 = np.log(np.asarray(start, dtype=float))
    res = optimize.minimize(objective, u0, jac=True, method="BFGS",
                            options={"maxiter": 2000, "gtol": 1e-9})
    theta = np.exp(res.x)
    with np.errstate(all="ignore"):
        value, grad = neg_loglik(theta)
    _check_converged(res, theta, value, grad * theta / scale, names, model)
    se = standard_errors(lambda th: neg_loglik(th)[1], theta, names, model)
    return FitResult(theta, se, -float(value), int(res.nit))


def _check_converged(res, theta, value, grad_log, names, model) -> None:
    if not np.isfinite(value) or not np.all(np.isfinite(theta)):
        raise ModelFitError(f"{model} fit gave non-finite values: {_show(names, theta)}")
    at_bound = np.abs(res.x) > LOG_BOUND
    if at_bound.any():
        name = names[int(np.argmax(at_bound))]
        raise ModelFitError(
            f"{model} fit did not converge: parameter {name} ran off to "
            f"{theta[int(np.argmax(at_bound))]:.3g}; the data cannot identify it"
        )
    if np.max(np.abs(grad_log)) > 1e-4:
        raise ModelFitError(
            f"{model} fit did not converge ({res.message}); "
            f"largest scaled gradient {np.max(np.abs(grad_log)):.2g}"
        )


def standard_errors(gradient, theta, names, model) -> np.ndarray:
    """Square roots of the diagonal of the inverse Hessian (observed information)."""
    hessian = numerical_hessian(gradient, theta)
    try:
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        raise ModelFitError(
            f"{model} fit did not converge: the likelihood is flat or not at a maximum "
            f"at {_show(names, theta)}; the data cannot identify the parameters"
        ) from None
    return np.sqrt(np.diag(np.linalg.inv(hessian)))


def _show(names, theta) -> str:
    return ", ".join(f"{name}={value:.6g}" for name, value in zip(names, theta))


def numerical_hessian(gradient, theta: np.ndarray, rel_step: float = 1e-5) -> np.ndarray:
    """Central differences of an analytic gradient, symmetrised."""
    n = theta.size
    hessian = np.empty((n, n))
    for j in range(n):
        h = rel_step * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        hessian[:, j] = (gradient(up) - gradient(down)) / (2.0 * h)
    return 0.5 * (hessian + hessian.T)


def as_float_array(values, name: str) -> np.ndarray:
    """A float array with no missing values, or a ValueError naming the input."""
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains missing or infinite values")
    return arr


def scalar_or_array(arr: np.ndarray):
    """Return a Python float for 0-d results, the array otherwise."""
    return float(arr) if np.ndim(arr) == 0 else arr
