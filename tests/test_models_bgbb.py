"""BG/BB (Fader, Hardie & Shang 2010) against the published donations fit and clients simulated
from the model."""

import numpy as np
import pandas as pd
import pytest

import cdnow
from clv_xl.engine.models import BetaGeoBetaBinom

PUBLISHED = dict(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)


def donations() -> pd.DataFrame:
    folder = cdnow.datasets_dir()
    if folder is None or not (folder / "donations.csv").exists():
        pytest.skip(cdnow.SKIP_REASON)
    return pd.read_csv(folder / "donations.csv")


def test_reproduces_the_published_donations_fit():
    data = donations()
    model = BetaGeoBetaBinom().fit(data["frequency"], data["recency"], data["periods"], data["weights"])
    for name, published in PUBLISHED.items():
        assert model.params_[name] == pytest.approx(published, abs=6e-4)
    assert model.loglik_ == pytest.approx(-33225.6, abs=0.05)
    assert model.n_clients_ == 11104


def simulate(params, clients, n, n_future, seed):
    """Each opportunity: an active client first dies with probability theta, then buys with p."""
    rng = np.random.default_rng(seed)
    p = rng.beta(params["alpha"], params["beta"], clients)
    theta = rng.beta(params["gamma"], params["delta"], clients)
    deaths = rng.random((clients, n + n_future)) < theta[:, None]
    alive = np.cumprod(~deaths, axis=1).astype(bool)
    buys = alive & (rng.random((clients, n + n_future)) < p[:, None])
    past = buys[:, :n]
    x = past.sum(axis=1)
    t_x = np.where(x > 0, n - np.argmax(past[:, ::-1], axis=1), 0)
    return x, t_x, buys[:, n:].sum(axis=1), alive[:, n]


def test_predictions_match_clients_simulated_from_the_model():
    model = BetaGeoBetaBinom(params=PUBLISHED)
    x, t_x, future, alive_next = simulate(PUBLISHED, 200_000, 6, 5, seed=5)
    assert model.expected_purchases_new(6) == pytest.approx(x.mean(), rel=0.02)
    expected = model.conditional_expected_purchases(5, x, t_x, 6)
    assert expected.sum() == pytest.approx(future.sum(), rel=0.02)
    p_alive = model.p_alive(x, t_x, 6)
    assert p_alive.mean() == pytest.approx(alive_next.mean(), abs=0.005)
    for history in [(0, 0), (1, 1), (3, 6), (6, 6), (2, 3)]:
        rows = (x == history[0]) & (t_x == history[1])
        assert model.p_alive(*history, 6) == pytest.approx(alive_next[rows].mean(), abs=0.03)
        assert model.conditional_expected_purchases(5, *history, 6) == pytest.approx(
            future[rows].mean(), rel=0.08, abs=0.02)


def test_the_likelihood_sums_to_one_over_every_possible_history():
    model = BetaGeoBetaBinom(params=PUBLISHED)
    n = 6
    histories = [(0, 0)] + [(x, t) for t in range(1, n + 1) for x in range(1, t + 1)]
    total = 0.0
    for x, t in histories:
        ways = 1 if x == 0 else __import__("math").comb(t - 1, x - 1)  # orders with the last at t
        total += ways * np.exp(model.loglik(x, t, n))
    assert total == pytest.approx(1.0, abs=1e-12)


def test_bad_histories_are_refused():
    model = BetaGeoBetaBinom(params=PUBLISHED)
    with pytest.raises(ValueError, match="frequency <= recency"):
        model.p_alive(3, 2, 6)
