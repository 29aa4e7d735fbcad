"""Derivatives by central differences, for models whose likelihood has no handy analytic ones.

``fit_log_params`` wants the value, gradient and Hessian of the negative log-likelihood in
natural parameters. Differences are taken in log parameters (steps relative to each
parameter's size) and carried back by the chain rule. The error is O(h^2) = about 1e-8
relative: enough for Newton's steps and for standard errors to 6 digits.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

STEP = 1e-4  # in log parameters: a relative change of 0.01%


def numeric_derivatives(value: Callable[[np.ndarray], float]):
    """(value, gradient, Hessian) of ``value(theta)`` at theta, from central differences in log theta."""

    def derivatives(theta: np.ndarray):
        theta = np.asarray(theta, dtype=float)
        u = np.log(theta)
        k = len(u)

        def at(shift):
            return value(np.exp(u + shift))

        centre = at(np.zeros(k))
        eye = np.eye(k) * STEP
        plus = np.array([at(eye[i]) for i in range(k)])
        minus = np.array([at(-eye[i]) for i in range(k)])
        grad_u = (plus - minus) / (2 * STEP)
        hess_u = np.empty((k, k))
        for i in range(k):
            hess_u[i, i] = (plus[i] - 2 * centre + minus[i]) / STEP**2
            for j in range(i):
                cross = (at(eye[i] + eye[j]) - at(eye[i] - eye[j])
                         - at(eye[j] - eye[i]) + at(-eye[i] - eye[j])) / (4 * STEP**2)
                hess_u[i, j] = hess_u[j, i] = cross
        grad = grad_u / theta
        hess = (hess_u - np.diag(grad_u)) / np.outer(theta, theta)
        return centre, grad, hess

    return derivatives
