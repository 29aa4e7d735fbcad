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


def numeric_derivatives(value: Callable[[np.ndarray], float],
                        many: Callable[[np.ndarray], np.ndarray] | None = None):
    """(value, gradient, Hessian) of ``value(theta)`` at theta, from central differences in log
    theta. ``many``, when given, is the same function of several points at once (an (m, k)
    array in, m values out): the 2k^2 + 1 points of a step are then evaluated in one call."""

    def derivatives(theta: np.ndarray):
        theta = np.asarray(theta, dtype=float)
        u = np.log(theta)
        k = len(u)
        eye = np.eye(k) * STEP
        pairs = [(i, j) for i in range(k) for j in range(i)]
        shifts = np.concatenate([np.zeros((1, k)), eye, -eye] + [
            np.stack([eye[i] + eye[j], eye[i] - eye[j], eye[j] - eye[i], -eye[i] - eye[j]])
            for i, j in pairs])
        points = np.exp(u + shifts)
        values = (np.asarray(many(points), dtype=float) if many is not None
                  else np.array([value(point) for point in points]))
        centre, plus, minus = values[0], values[1:k + 1], values[k + 1:2 * k + 1]
        grad_u = (plus - minus) / (2 * STEP)
        hess_u = np.diag((plus - 2 * centre + minus) / STEP**2)
        for n, (i, j) in enumerate(pairs):
            pp, pm, mp, mm = values[2 * k + 1 + 4 * n: 2 * k + 5 + 4 * n]
            hess_u[i, j] = hess_u[j, i] = (pp - pm - mp + mm) / (4 * STEP**2)
        grad = grad_u / theta
        hess = (hess_u - np.diag(grad_u)) / np.outer(theta, theta)
        return centre, grad, hess

    return derivatives
