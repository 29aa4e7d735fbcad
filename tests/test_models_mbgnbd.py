"""MBG/NBD (Batislam, Denizel & Filiztekin 2007) on CDNOW, heavy buyers in both models,
P(no purchase), fit failures, Gamma-Gamma exclusions and the time unit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from clv_xl.engine.models import (BetaGeo, GammaGamma, ModelFitError, ModifiedBetaGeo, compress,
                           model_clv)
from clv_xl.engine.models.bgnbd import _histories, _loglik_derivatives

try:
    from tests import cdnow
except ImportError:  # pytest put tests/ itself on sys.path
    import cdnow

# BTYDplus' mbgnbd estimates on CDNOW, which lifetimes' own test suite
# (tests/test_estimation.py, TestModifiedBetaGammaFitter.test_params_out_is_close_to_BTYDplus)
# also asserts to 3 decimals.
BTYDPLUS = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
# Hardie's BG/NBD workbook values, which lifetimes' MBG/NBD tests accept within 5%:
HARDIE_TIMES = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
HARDIE_NEW = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])


@pytest.fixture(scope="module")
def cdnow_fit():
    data = cdnow.summary()
    return ModifiedBetaGeo().fit(data["frequency"], data["recency"], data["T"]), data


def test_cdnow_fit_matches_btydplus_and_lifetimes(cdnow_fit):
    model, data = cdnow_fit
    for name, value in BTYDPLUS.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-4), name
    assert model.n_clients_ == len(data) == 2357
    assert all(0 < se < model.params_[k] for k, se in model.se_.items())
    # lifetimes' known values for its ModifiedBetaGeoFitter on CDNOW:
    assert abs(model.conditional_expected_purchases(39, 2, 30.43, 38.86) - 1.226) < 0.05
    np.testing.assert_allclose(model.expected_purchases_new(HARDIE_TIMES), HARDIE_NEW, rtol=0.05)
    assert model.p_alive(0, 1, 1) < 1.0
    # slightly better than BG/NBD's -9582.43 with the same four parameters
    assert -9582.43 < model.loglik_ < -9582.0
    total = model.loglik(data["frequency"], data["recency"], data["T"]).sum()
    assert total == pytest.approx(model.loglik_, abs=1e-6)


PARAM_SETS = [
    BTYDPLUS,
    {"r": 2.0, "alpha": 30.0, "a": 3.5, "b": 0.6},
    {"r": 0.05, "alpha": 0.2, "a": 0.2, "b": 40.0},
]


def _literal(params, t, x, t_x, T):
    """The MBG/NBD formulas exactly as lifetimes 0.11.3 writes them (safe for moderate x)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    alive = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    hyp = special.hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t))
    expected = (a + b + x) / (a - 1) * (1 - hyp * ((alpha + T) / (alpha + t + T)) ** (r + x)) * alive
    new = b / (a - 1) * (1 - special.hyp2f1(r, b + 1, a + b, t / (alpha + t)) * (alpha / (alpha + t)) ** r)
    log_a = (special.betaln(a, b + x + 1) - special.betaln(a, b) - (r + x) * np.log(alpha + T))
    log_b = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    ll = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + log_a
          + np.logaddexp(log_b, 0))
    return alive, expected, new, ll


@pytest.mark.parametrize("params", PARAM_SETS)
def test_closed_forms_equal_lifetimes_formulas(params):
    model = ModifiedBetaGeo(params=params)
    x = np.array([0, 1, 3, 10, 20])
    t_x = np.array([0.0, 5.0, 20.0, 30.0, 38.0])
    T, t = 39.0, np.array([[1.0], [10.0], [39.0]])
    alive, expected, new, ll = _literal(params, t, x, t_x, T)
    np.testing.assert_allclose(model.p_alive(x, t_x, T), alive, rtol=1e-12)
    np.testing.assert_allclose(model.conditional_expected_purchases(t, x, t_x, T), expected, rtol=1e-9)
    np.testing.assert_allclose(model.expected_purchases_new(t[:, 0]), new[:, 0], rtol=1e-9)
    np.testing.assert_allclose(model.loglik(x, t_x, T), ll, rtol=1e-12)


def test_mbg_differs_from_bg_only_by_the_extra_dropout_chance():
    """MBG/NBD with x repeat purchases has BG/NBD's beta part at x + 1 (the shared code path)."""
    p = BTYDPLUS
    mbg, bg = ModifiedBetaGeo(params=p), BetaGeo(params=p)
    x, t_x, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.0, 35.0]), 39.0
    # BG/NBD: P(alive) = 1 at x = 0, MBG/NBD: b / (a + b) when bought at T, less otherwise;
    # for x > 0 the extra dropout chance survived makes MBG/NBD's P(alive) the higher one
    assert bg.p_alive(0, 0, 39) == 1.0
    assert mbg.p_alive(0, 0, 0) == pytest.approx(p["b"] / (p["a"] + p["b"]), rel=1e-12)
    assert mbg.p_alive(0, 0, 39) < mbg.p_alive(0, 0, 0)
    assert np.all(mbg.p_alive(x[1:], t_x[1:], T) > bg.p_alive(x[1:], t_x[1:], T))
    theta = np.array([p[k] for k in ("r", "alpha", "a", "b")])
    shifted, _, _ = _loglik_derivatives(theta, _histories(x, t_x, np.full(3, T), shift=1), order=0)
    np.testing.assert_allclose(mbg.loglik(x, t_x, T), shifted, rtol=1e-14)


# ------------------------------------------------------------------ heavy buyers, both models
@settings(max_examples=300, deadline=None)
@given(
    model_class=st.sampled_from([BetaGeo, ModifiedBetaGeo]),
    params=st.sampled_from(PARAM_SETS),
    x=st.integers(0, 5000),
    T=st.floats(0.5, 5000),
    recency_share=st.floats(0, 1),
    t=st.floats(0, 2000),
)
def test_heavy_buyers_stay_finite_and_monotone(model_class, params, x, T, recency_share, t):
    model = model_class(params=params)
    t_x = 0.0 if x == 0 else T * recency_share
    alive = model.p_alive(x, t_x, T)
    horizons = np.array([t, t * 1.5 + 1.0, t * 3 + 10.0])
    expected = model.conditional_expected_purchases(horizons, x, t_x, T)
    none = model.prob_no_purchase(horizons, x, t_x, T)
    assert 0.0 <= alive <= 1.0
    assert np.all(np.isfinite(expected)) and np.all(expected >= -1e-9)
    assert np.all(np.diff(expected) >= -1e-9 * (1 + expected[1:]))  # increasing in t
    assert np.all((0.0 <= none) & (none <= 1.0)) and np.all(np.diff(none) <= 1e-12)
    assert none[-1] >= 1 - alive - 1e-12
    # an active client buys at most at the posterior mean rate (r + x) / (alpha + T)
    assert np.all(expected <= (params["r"] + x) / (params["alpha"] + T) * horizons * (1 + 1e-6) + 1e-9)
    assert np.isfinite(model.loglik(x, t_x, T))


def test_very_heavy_buyers_no_overflow_warnings():
    for model in (BetaGeo(params=BTYDPLUS), ModifiedBetaGeo(params=BTYDPLUS)):
        x = np.array([1_000.0, 5_000.0, 20_000.0])
        T = np.array([500.0, 3_000.0, 10_000.0])
        with np.errstate(all="raise"):
            expected = model.conditional_expected_purchases(52.0, x, T - 0.5, T)
            alive = model.p_alive(x, T - 0.5, T)
        rate = (BTYDPLUS["r"] + x) / (BTYDPLUS["alpha"] + T)
        assert np.all(alive > 0.9)
        # at most the posterior rate x 52 weeks; a little less as some drop out on the way
        assert np.all(expected <= rate * 52 * alive) and np.all(expected > 0.9 * rate * 52 * alive)


# ------------------------------------------------------------------ P(no purchase)
@pytest.mark.parametrize("model_class", [BetaGeo, ModifiedBetaGeo])
def test_prob_no_purchase_closed_form(model_class):
    model = model_class(params=BTYDPLUS)
    r, alpha = BTYDPLUS["r"], BTYDPLUS["alpha"]
    x, t_x, T, t = 4, 20.0, 38.0, 13.0
    alive = model.p_alive(x, t_x, T)
    expected = alive * ((alpha + T) / (alpha + T + t)) ** (r + x) + (1 - alive)
    assert model.prob_no_purchase(t, x, t_x, T) == pytest.approx(expected, rel=1e-12)
    assert model.prob_no_purchase(0, x, t_x, T) == 1.0
    assert model.prob_no_purchase(1e9, x, t_x, T) == pytest.approx(1 - alive, abs=1e-6)
    assert model.prob_no_purchase(np.ones((2, 3)), 0, 0, 10.0).shape == (2, 3)
    with pytest.raises(ValueError, match="t must be 0 or more"):
        model.prob_no_purchase(-1, x, t_x, T)


def test_prob_no_purchase_by_simulation():
    """Simulate the future of clients with one history and count who buy nothing."""
    model = ModifiedBetaGeo(params=BTYDPLUS)
    r, alpha, a, b = BTYDPLUS.values()
    x, t_x, T, t = 3, 10.0, 30.0, 20.0
    rng = np.random.default_rng(1)
    n = 400_000
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    # keep draws with exactly this history's likelihood: importance weights
    weights = lam ** x * np.exp(-lam * T) * ((1 - p) ** (x + 1) + p * (1 - p) ** x * np.exp(lam * (T - t_x)))
    alive_weight = lam ** x * np.exp(-lam * T) * (1 - p) ** (x + 1)
    no_purchase = (weights - alive_weight + alive_weight * np.exp(-lam * t)).sum() / weights.sum()
    assert model.prob_no_purchase(t, x, t_x, T) == pytest.approx(no_purchase, abs=0.01)


# ------------------------------------------------------------------ recovery, failures
def test_parameter_recovery_on_simulated_clients():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}
    T = np.random.default_rng(21).uniform(20, 60, 10_000)
    frequency, recency = ModifiedBetaGeo(params=truth).sample(T, seed=22)
    assert 0.2 < np.mean(frequency == 0) < 0.8
    model = ModifiedBetaGeo().fit(frequency, recency, T)
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3 * model.se_[name], (name, model.params_, model.se_)


def test_compressed_weighted_fit_equals_full_fit():
    T = np.random.default_rng(3).integers(10, 40, 3000).astype(float)
    frequency, recency = ModifiedBetaGeo.from_params(r=0.5, alpha=6, a=0.9, b=1.6).sample(T, seed=4)
    recency = np.round(recency)
    full = ModifiedBetaGeo().fit(frequency, recency, T)
    rows = compress(frequency, recency, T)
    weighted = ModifiedBetaGeo().fit(rows.frequency, rows.recency, rows.T, weights=rows.weights)
    for name in full.params_:
        assert weighted.params_[name] == pytest.approx(full.params_[name], rel=1e-6)


@pytest.mark.parametrize("model_class, name", [(BetaGeo, "BG/NBD"), (ModifiedBetaGeo, "MBG/NBD")])
def test_fit_failures_name_the_cause(model_class, name):
    with pytest.raises(ModelFitError, match=f"too few repeat clients to fit {name}: 0 of 100"):
        model_class().fit(np.zeros(100), np.zeros(100), np.full(100, 30.0))
    with pytest.raises(ModelFitError, match=f"too few clients to fit {name}"):
        model_class().fit([1, 2, 0], [3.0, 5.0, 0.0], [10.0, 10.0, 10.0])
    with pytest.raises(ModelFitError, match="all 50 clients have the same history"):
        model_class().fit(np.full(50, 3.0), np.full(50, 12.0), np.full(50, 30.0))
    # all bought exactly once more, at the very end: no sign of dropout, a runs off to 0
    with pytest.raises(ModelFitError, match=f"{name} fit did not converge|cannot identify"):
        model_class().fit(np.ones(200), np.full(200, 20.0), np.full(200, 20.0))


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="recency"):
        ModifiedBetaGeo.from_params(r=1, alpha=1, a=1, b=1).p_alive(1, 5.0, 4.0)
    with pytest.raises(ValueError, match="MBG/NBD needs parameters"):
        ModifiedBetaGeo(params={"r": 1.0})
    with pytest.raises(ValueError, match="ModifiedBetaGeo has no parameters"):
        ModifiedBetaGeo().p_alive(1, 1, 2)


# ------------------------------------------------------------------ Gamma-Gamma refunds
def test_gamma_gamma_refunds_and_zero_spend_are_excluded_with_notes():
    rng = np.random.default_rng(5)
    x = np.r_[rng.integers(1, 10, 200), [0, 0, 3, 2, 4]].astype(float)
    m = np.r_[rng.gamma(4.0, 10.0, 200), [0.0, 0.0, 0.0, -15.0, -0.01]]
    model = GammaGamma().fit(x, m)
    assert model.n_excluded_ == 5 and model.n_clients_ == 200
    assert model.notes_ == [
        "2 clients with no repeat purchase (the model needs at least one) left out of the "
        "Gamma-Gamma fit",
        "1 client with a mean repeat spend of 0 left out of the Gamma-Gamma fit",
        "2 clients with a negative mean repeat spend (refunds exceeding purchases) left out "
        "of the Gamma-Gamma fit",
    ]
    clean = GammaGamma().fit(x[:200], m[:200])
    assert clean.notes_ == [] and clean.n_excluded_ == 0
    assert model.params_ == pytest.approx(clean.params_, rel=1e-9)
    with pytest.raises(ModelFitError, match="too few repeat clients with positive spend"):
        GammaGamma().fit(np.full(30, 2.0), -np.arange(1.0, 31.0))


# ------------------------------------------------------------------ time unit
def test_models_state_their_time_unit():
    assert BetaGeo.from_params(**BTYDPLUS).time_unit == "unspecified"
    weekly = ModifiedBetaGeo.from_params(**BTYDPLUS, time_unit_days=7)
    assert weekly.time_unit == "weeks" and "time unit weeks" in repr(weekly)
    assert BetaGeo(params=BTYDPLUS, time_unit_days=365.25 / 12).time_unit == "months"
    assert BetaGeo(params=BTYDPLUS, time_unit_days=14).time_unit == "14 days"
    data = cdnow.summary()
    fitted = ModifiedBetaGeo().fit(data["frequency"], data["recency"], data["T"], time_unit_days=7)
    assert fitted.time_unit_days == 7.0
    with pytest.raises(ValueError, match="time_unit_days"):
        BetaGeo(params=BTYDPLUS, time_unit_days=0)


class _LinearModel:
    """E[Y(t)] = 2 t purchases per week, exactly: a hand-checkable stand-in."""

    time_unit_days = 7.0

    def conditional_expected_purchases(self, t, x, t_x, T):
        return 2.0 * np.broadcast_to(t, np.broadcast_shapes(np.shape(t), np.shape(x)))


def test_discounting_uses_julian_months_hand_computed():
    # a month is 365.25 / 12 = 30.4375 days = 4.348214... weeks -> 8.6964286 purchases of 10,
    # worth 86.964286, discounted 1% a month: 86.964286 / 1.01 + 86.964286 / 1.0201
    # = 86.103253 + 85.250746 = 171.353999
    value = model_clv(_LinearModel(), None, 1.0, 0.0, 1.0, 10.0, months=2, monthly_discount_rate=0.01)
    assert value == pytest.approx(171.353999, abs=1e-5)
    # with 30-day months it would be 168.89 instead
    assert value != pytest.approx(2 * 30 / 7 * 10 * (1 / 1.01 + 1 / 1.01 ** 2), abs=1.0)
    # the model's own unit is used when none is given; a contradicting unit is refused
    with pytest.raises(ValueError, match="contradicts the model's time unit"):
        model_clv(_LinearModel(), None, 1.0, 0.0, 1.0, 10.0, months=2, time_unit_days=1.0)


def test_model_clv_accepts_mbgnbd():
    gg = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    mbg = ModifiedBetaGeo.from_params(**BTYDPLUS, time_unit_days=7)
    clv = model_clv(mbg, gg, [0, 2], [0, 30.43], [38.86, 38.86], [0, 22.35], months=12,
                    monthly_discount_rate=0.0)
    purchases = mbg.conditional_expected_purchases(365.25 / 7, [0, 2], [0, 30.43], [38.86, 38.86])
    spend = gg.conditional_expected_average_profit([0, 2], [0, 22.35])
    np.testing.assert_allclose(clv, purchases * spend, rtol=1e-12)
