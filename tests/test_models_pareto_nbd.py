"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987) against the published CDNOW fit, an
independent high-precision likelihood, and clients simulated from the model itself."""

import mpmath
import numpy as np
import pytest

import cdnow
from clv_xl.engine.models import ParetoNBD

CDNOW = dict(r=0.553, alpha=10.578, s=0.606, beta=11.669)  # Fader, Hardie & Lee (2005), note 009


def test_reproduces_the_published_cdnow_fit():
    data = cdnow.summary()
    model = ParetoNBD().fit(data["frequency"], data["recency"], data["T"])
    for name, published in CDNOW.items():
        assert model.params_[name] == pytest.approx(published, abs=6e-4 if published < 1 else 6e-3)
    assert model.loglik_ == pytest.approx(-9595.0, abs=0.05)
    assert all(se > 0 for se in model.se_.values())


def reference_loglik(r, alpha, s, beta, x, t_x, T):
    """The likelihood at 50 digits with mpmath's own 2F1 (no Euler transformation, no
    quadrature, no cancellation at this precision): death after T, or at tau in (t_x, T]."""
    mpmath.mp.dps = 50
    r, alpha, s, beta, x, t_x, T = map(mpmath.mpf, (r, alpha, s, beta, x, t_x, T))
    rho = r + s + x
    big, small, shape = (alpha, beta, s + 1) if alpha >= beta else (beta, alpha, r + x)

    def g(t):
        return (big + t) ** -rho * mpmath.hyp2f1(rho, shape, rho + 1, (big - small) / (big + t))

    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    dead = s * (g(t_x) - g(T)) / rho
    constant = mpmath.loggamma(r + x) - mpmath.loggamma(r) + r * mpmath.log(alpha) + s * mpmath.log(beta)
    return float(constant + mpmath.log(alive + dead))


HISTORIES = [(0, 0, 38.86), (2, 30.43, 38.86), (7, 35, 36), (1, 1e-6, 39), (5, 38.86, 38.86),
             (5, 38.8599, 38.86), (40, 20, 39), (300, 38, 39), (2000, 10, 78), (1, 0.5, 0.5)]


@pytest.mark.parametrize("params", [CDNOW, dict(r=2.0, alpha=1.0, s=0.5, beta=30.0),
                                    dict(r=0.3, alpha=40.0, s=3.0, beta=2.0)])
def test_loglik_equals_the_defining_integral_at_high_precision(params):
    model = ParetoNBD(params=params)
    for x, t_x, T in HISTORIES:
        expected = reference_loglik(*params.values(), x, t_x, T)
        assert model.loglik(x, t_x, T) == pytest.approx(expected, rel=1e-10, abs=1e-10), (x, t_x, T)


def test_heavy_buyers_and_recency_equal_to_age_stay_finite():
    model = ParetoNBD(params=CDNOW)
    x = np.array([0, 1, 10, 100, 1000, 10000, 50000], float)
    for t_x in (0.0, 20.0, 39.0):
        values = [model.p_alive(x, np.where(x > 0, t_x, 0), 39.0),
                  model.conditional_expected_purchases(39.0, x, np.where(x > 0, t_x, 0), 39.0),
                  model.prob_no_purchase(39.0, x, np.where(x > 0, t_x, 0), 39.0)]
        assert all(np.all(np.isfinite(v)) for v in values)
    assert model.p_alive(50000, 39.0, 39.0) == pytest.approx(1.0)
    assert model.p_alive(50000, 20.0, 39.0) < 1e-100 + 1e-300


def simulate(params, n, T, horizon, seed):
    """Clients from the model: purchases in (0, T] (the history) and in (T, T + horizon]."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    lifetime = rng.exponential(1 / rng.gamma(params["s"], 1 / params["beta"], n))
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        end = min(lifetime[i], T + horizon)
        times = np.sort(rng.uniform(0, end, rng.poisson(lam[i] * end)))
        past = times[times <= T]
        x[i], future[i] = len(past), len(times) - len(past)
        t_x[i] = past[-1] if len(past) else 0.0
    return x, t_x, future


def test_predictions_match_clients_simulated_from_the_model():
    model = ParetoNBD(params=CDNOW)
    x, t_x, future = simulate(CDNOW, 60_000, 39.0, 39.0, seed=11)
    # Every client here made a first purchase at time 0 in the model's convention: x counts repeats.
    expected = model.conditional_expected_purchases(39.0, x, t_x, 39.0)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.03)
    none = model.prob_no_purchase(39.0, x, t_x, 39.0)
    assert none.mean() == pytest.approx(np.mean(future == 0), abs=0.01)
    for group in (x == 0, (x >= 1) & (x <= 3), x >= 4):
        assert expected[group].mean() == pytest.approx(future[group].mean(), rel=0.08)
    assert model.expected_purchases_new(39.0) == pytest.approx(x.mean(), rel=0.03)


def test_p_alive_falls_as_the_gap_since_the_last_purchase_grows():
    model = ParetoNBD(params=CDNOW)
    alive = model.p_alive(5, np.array([38.0, 30.0, 20.0, 10.0]), 39.0)
    assert np.all(np.diff(alive) < 0) and alive[0] < 1


def test_the_quadrature_fallback_agrees_with_the_closed_form():
    from clv_xl.engine.models import pareto_nbd

    x, t_x, T = (np.array(v, float) for v in zip(*[h for h in HISTORIES if h[1] < h[2]]))
    for params in (CDNOW, dict(r=0.3, alpha=40.0, s=3.0, beta=2.0)):
        closed = pareto_nbd._log_integral(*params.values(), x, t_x, T)
        quadrature = pareto_nbd._log_integral_quadrature(*params.values(), x, t_x, T)
        np.testing.assert_allclose(quadrature, closed, rtol=1e-4)


def test_no_purchase_in_no_time_is_certain_and_falls_with_the_horizon():
    model = ParetoNBD(params=CDNOW)
    assert model.prob_no_purchase(0.0, 3, 20.0, 39.0) == pytest.approx(1.0)
    chances = model.prob_no_purchase(np.array([1.0, 10.0, 52.0, 520.0]), 3, 20.0, 39.0)
    assert np.all(np.diff(chances) < 0)
    assert chances[-1] > 1 - model.p_alive(3, 20.0, 39.0) - 1e-9
