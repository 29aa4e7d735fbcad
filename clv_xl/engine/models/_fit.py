"""Shared maximum-likelihood machinery for the probabilistic models.

Every model hands over a function returning the weighted negative
log-likelihood with its analytic gradient and Hessian in natural parameters.
We minimise in log parameters (so positivity needs no constraint) by Newton's
method with a line search, and take standard errors from the same Hessian.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from ._threads import blas_threads

Derivatives = Callable[[np.ndarray], "tuple[float, np.ndarray, np.ndarray]"]

LOG_BOUND = 20.0  # |log parameter| beyond this (a factor 5e8) means it has run away
MAX_ITERATIONS = 500
MAX_STEP = 2.0  # largest change of a log parameter in one Newton step (a factor e^2)
GRADIENT_TOLERANCE = 1e-9  # per client, in log parameters
ROUNDING = 1e-14  # relative: a Newton step that would gain less than this is not taken


class ModelFitError(ValueError):
    """A model could not be fitted; the message names the cause."""


class FitResult(NamedTuple):
    params: np.ndarray
    se: np.ndarray
    loglik: float
    iterations: int


class _Stop(NamedTuple):
    """Where Newton's method stopped: the point, the objective per client there (value,
    gradient and Hessian in log parameters), the steps taken, and why if it failed ("")."""

    u: np.ndarray
    value: float
    grad: np.ndarray
    hess: np.ndarray | None
    iterations: int
    why: str


def fit_log_params(
    derivatives: Derivatives,
    start: Sequence[float],
    names: Sequence[str],
    model: str,
    total_weight: float,
) -> FitResult:
    """Minimise the negative log-likelihood over positive parameters; raise ModelFitError on failure.

    ``derivatives(theta)`` gives (value, gradient, Hessian) of the negative
    log-likelihood in natural parameters.
    """
    scale = float(total_weight)
    with blas_threads():
        stop = _newton(derivatives, np.log(np.asarray(start, float)), scale)
    theta = np.exp(stop.u)
    _check_converged(stop, theta, names, model)
    se = standard_errors(stop.hess * scale, theta, names, model)
    return FitResult(theta, se, -float(stop.value) * scale, stop.iterations)


def _newton(derivatives: Derivatives, u: np.ndarray, scale: float) -> _Stop:
    """Newton's method in u = log(theta) on the per-client objective, with backtracking.

    The Hessian is made positive definite by taking absolute eigenvalues (with a
    floor), so every step goes downhill even far from the optimum (Nocedal &
    Wright, Numerical Optimization, 2nd ed., section 3.4).
    """

    def evaluate(u):
        if np.any(np.abs(u) > LOG_BOUND + 5.0):
            return np.inf, None, None
        theta = np.exp(u)
        with np.errstate(all="ignore"):
            value, grad, hess = derivatives(theta)
        if not (np.isfinite(value) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
            return np.inf, None, None
        grad_u = grad * theta
        hess_u = hess * np.outer(theta, theta) + np.diag(grad_u)
        return value / scale, grad_u / scale, hess_u / scale

    value, grad, hess = evaluate(u)
    if not np.isfinite(value):
        return _Stop(u, value, np.full_like(u, np.nan), None, 0,
                     "the starting point has no likelihood")
    for iteration in range(1, MAX_ITERATIONS + 1):
        if np.max(np.abs(grad)) < GRADIENT_TOLERANCE:
            return _Stop(u, value, grad, hess, iteration - 1, "")
        eigenvalues, vectors = np.linalg.eigh(hess)
        floor = max(1e-8 * np.max(np.abs(eigenvalues)), 1e-12)
        step = -vectors @ ((vectors.T @ grad) / np.maximum(np.abs(eigenvalues), floor))
        step *= min(1.0, MAX_STEP / np.max(np.abs(step)))
        slope = grad @ step
        if -slope < ROUNDING * max(1.0, abs(value)):
            # the Newton step would gain less than the rounding error of the likelihood
            return _Stop(u, value, grad, hess, iteration - 1, "")
        t = 1.0
        while True:
            trial = evaluate(u + t * step)
            if trial[0] <= value + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-10:
                return _Stop(u, value, grad, hess, iteration,
                             "no step lowers the likelihood further")
        u = u + t * step
        value, grad, hess = trial
        if np.any(np.abs(u) > LOG_BOUND):
            return _Stop(u, value, grad, hess, iteration, "")
    return _Stop(u, value, grad, hess, MAX_ITERATIONS, f"no convergence in {MAX_ITERATIONS} steps")


def _check_converged(stop: _Stop, theta, names, model) -> None:
    if not np.isfinite(stop.value) or not np.all(np.isfinite(theta)):
        raise ModelFitError(f"{model} fit gave non-finite values: {_show(names, theta)}")
    at_bound = np.abs(stop.u) > LOG_BOUND
    if at_bound.any():
        name = names[int(np.argmax(at_bound))]
        raise ModelFitError(
            f"{model} fit did not converge: parameter {name} ran off to "
            f"{theta[int(np.argmax(at_bound))]:.3g}; the data cannot identify it"
        )
    largest = np.max(np.abs(stop.grad))
    if largest > 1e-4:
        raise ModelFitError(
            f"{model} fit did not converge ({stop.why or 'stopped early'}); "
            f"largest scaled gradient {largest:.2g}"
        )


def standard_errors(hessian_log, theta, names, model) -> np.ndarray:
    """Standard errors from the observed information in log parameters (delta method).

    se(theta_i) = theta_i sqrt([H^-1]_ii), H the Hessian of the negative
    log-likelihood in log parameters at the optimum; there the gradient is 0, so
    this equals the square root of the inverse natural-parameter Hessian's diagonal.
    """
    try:
        np.linalg.cholesky(hessian_log)
    except np.linalg.LinAlgError:
        raise ModelFitError(
            f"{model} fit did not converge: the likelihood is flat or not at a maximum "
            f"at {_show(names, theta)}; the data cannot identify the parameters"
        ) from None
    return theta * np.sqrt(np.diag(np.linalg.inv(hessian_log)))


def _show(names, theta) -> str:
    return ", ".join(f"{name}={value:.6g}" for name, value in zip(names, theta))


def as_float_array(values, name: str) -> np.ndarray:
    """A float array with no missing values, or a ValueError naming the input."""
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains missing or infinite values")
    return arr


def scalar_or_array(arr: np.ndarray):
    """Return a Python float for 0-d results, the array otherwise."""
    return float(arr) if np.ndim(arr) == 0 else arr
