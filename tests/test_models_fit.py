"""The shared Newton fitter (clv_xl.engine.models._fit) on objectives with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from clv_xl.engine.models._fit import ModelFitError, fit_log_params

NAMES = ("p", "q")
OPTIMUM = np.array([2.0, 30.0])
CURVATURE = np.array([[3.0, 1.0], [1.0, 2.0]])  # of the objective in natural parameters


def quadratic(noise: bool = False, calls: list | None = None):
    """(value, gradient, Hessian) of 100 clients' 0.5 (theta - OPTIMUM)' C (theta - OPTIMUM) + 1.
    ``noise``: a deterministic jitter like the rounding of a sum over many clients, 1e-13
    relative on the value and 1e-8 per client on the gradient. ``calls`` counts evaluations."""

    def derivatives(theta):
        if calls is not None:
            calls.append(theta)
        d = theta - OPTIMUM
        jitter = np.sin(1e9 * theta.sum() + np.arange(3)) if noise else np.zeros(3)
        value = 100 * (0.5 * d @ CURVATURE @ d + 1.0) * (1 + 1e-13 * jitter[0])
        return value, 100 * (CURVATURE @ d + 1e-8 * jitter[1:]), 100 * CURVATURE

    return derivatives


def test_finds_the_optimum_and_its_standard_errors():
    result = fit_log_params(quadratic(), [1.0, 1.0], NAMES, "test", 100)
    np.testing.assert_allclose(result.params, OPTIMUM, rtol=1e-6)
    expected_se = np.sqrt(np.diag(np.linalg.inv(100 * CURVATURE)))
    np.testing.assert_allclose(result.se, expected_se, rtol=1e-6)
    assert result.loglik == pytest.approx(-100.0)


def test_stops_at_rounding_noise_instead_of_creeping_to_the_iteration_limit():
    """Near the optimum a likelihood summed over many clients is known only to its rounding;
    a Newton step that would gain less than that is not taken. (Before this rule, the
    Gamma-Gamma fit of bench/recompute.py's large book line-searched until the iteration
    limit.)"""
    calls: list = []
    result = fit_log_params(quadratic(noise=True, calls=calls), [1.0, 1.0], NAMES, "test", 100)
    np.testing.assert_allclose(result.params, OPTIMUM, rtol=1e-6)
    assert len(calls) < 50


def test_a_runaway_parameter_is_an_error():
    def derivatives(theta):  # decreasing forever in q: no maximum
        return -np.log(theta[1]) + theta[0] - np.log(theta[0]), np.array(
            [1 - 1 / theta[0], -1 / theta[1]]), np.diag([1 / theta[0] ** 2, 1 / theta[1] ** 2])

    with pytest.raises(ModelFitError, match="parameter q ran off"):
        fit_log_params(derivatives, [1.0, 1.0], NAMES, "test", 1)


def test_fits_hold_blas_at_one_thread_and_give_the_pool_back(monkeypatch):
    """A fit runs its likelihood with BLAS at one thread (seen from inside it), and the pool
    is as before afterwards, also for fits in other threads one after the other (OpenBLAS's
    pool is process-wide: the thread that limits it must give it back)."""
    import threading

    threadpoolctl = pytest.importorskip("threadpoolctl")
    from clv_xl.engine.models import BetaGeo, _fit

    def blas_threads_now():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]

    before = blas_threads_now()
    if not before:
        pytest.skip("no BLAS library found by threadpoolctl")
    seen = []
    newton = _fit._newton

    def watched(*args):
        seen.append(blas_threads_now())
        return newton(*args)

    monkeypatch.setattr(_fit, "_newton", watched)
    T = np.random.default_rng(5).integers(10, 40, 2000).astype(float)
    x, t_x = BetaGeo.from_params(r=0.3, alpha=4, a=0.8, b=2.5).sample(T, seed=6)
    for _ in range(3):
        fit = threading.Thread(target=lambda: BetaGeo().fit(x, np.round(t_x), T))
        fit.start()
        fit.join()
        assert blas_threads_now() == before
    BetaGeo().fit(x, np.round(t_x), T)
    assert seen == [[1] * len(before)] * 4, seen
    assert blas_threads_now() == before
