"""BG/NBD against Fader, Hardie & Lee (2005) on CDNOW, plus numerical properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from clv_xl.engine.models import (BetaGeo, ModelFitError, ModifiedBetaGeo, compress,
                                  rfm_from_transactions)
from clv_xl.engine.models.bgnbd import _expected_if_alive_quad, _histories, _loglik_derivatives

try:
    from tests import cdnow
except ImportError:  # pytest put tests/ itself on sys.path
    import cdnow

# Published estimates: Fader, Hardie & Lee (2005), section 5 (CDNOW, 39-week calibration).
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4


@pytest.fixture(scope="module")
def cdnow_fit():
    data = cdnow.summary()
    return BetaGeo().fit(data["frequency"], data["recency"], data["T"]), data


def test_cdnow_fit_matches_published_estimates(cdnow_fit):
    model, data = cdnow_fit
    for name, value in PUBLISHED.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-4), name
    assert model.loglik_ == pytest.approx(PUBLISHED_LL, abs=0.05)
    assert model.n_clients_ == len(data) == 2357
    assert set(model.se_) == set(PUBLISHED)
    assert all(0 < se < model.params_[k] for k, se in model.se_.items())


def test_cdnow_loglik_method_sums_to_fitted_loglik(cdnow_fit):
    model, data = cdnow_fit
    total = model.loglik(data["frequency"], data["recency"], data["T"]).sum()
    assert total == pytest.approx(model.loglik_, abs=1e-6)


def test_matches_hardie_spreadsheet_values(cdnow_fit):
    # Hardie's BG/NBD Excel workbook (as quoted in lifetimes' test suite): customer 1
    # (x=2, t_x=30.43, T=38.86) expects 1.226 purchases in the next 39 weeks, and
    # E[X(t)] for a new customer at the listed t.
    model, _ = cdnow_fit
    assert model.conditional_expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=1e-3)
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    expected = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(model.expected_purchases_new(times), expected, atol=1e-3)


def test_rfm_from_transactions_reproduces_cdnow_summary():
    tx = cdnow.transactions()
    rfm = rfm_from_transactions(tx["client"], tx["date"], cdnow.CALIBRATION_END, unit_days=7.0,
                                amounts=tx["amount"])
    published = cdnow.summary_with_monetary().set_index("ID").loc[rfm.index]
    np.testing.assert_array_equal(rfm["frequency"], published["frequency"])
    for column in ["recency", "T", "monetary_value"]:
        np.testing.assert_allclose(rfm[column], published[column], atol=0.005 + 1e-9)


def test_holdout_forecast_against_actual_repeat_transactions(cdnow_fit):
    """Weeks 40-78: sum of eq. (10) over clients vs repeat purchase days counted from the log.

    On this data the model predicts 1,653 against 1,882 actual (-12%); the
    in-sample total (eq. 7 at each client's T) is within 2% of the 2,457 observed.
    """
    model, _ = cdnow_fit
    tx = cdnow.transactions()
    calib = rfm_from_transactions(tx["client"], tx["date"], cdnow.CALIBRATION_END)
    full = rfm_from_transactions(tx["client"], tx["date"], cdnow.HOLDOUT_END)
    actual_holdout = (full["frequency"] - calib["frequency"]).sum()
    expected_holdout = model.conditional_expected_purchases(
        full["T"] - calib["T"], calib["frequency"], calib["recency"], calib["T"]).sum()
    assert expected_holdout == pytest.approx(actual_holdout, rel=0.15)
    in_sample = model.expected_purchases_new(calib["T"]).sum()
    assert in_sample == pytest.approx(calib["frequency"].sum(), rel=0.03)


PARAM_SETS = [
    {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    {"r": 2.0, "alpha": 30.0, "a": 3.5, "b": 0.6},
    {"r": 0.05, "alpha": 0.2, "a": 0.2, "b": 40.0},
]


@pytest.mark.parametrize("params", PARAM_SETS)
def test_conditional_expectation_equals_untransformed_eq10(params):
    """Eq. (10) computed literally with scipy's 2F1 where that is safe (moderate x)."""
    model = BetaGeo(params=params)
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x = np.array([0, 1, 3, 10, 20])
    t_x = np.array([0.0, 5.0, 20.0, 30.0, 38.0])
    T, t = 39.0, np.array([[1.0], [10.0], [39.0]])
    z = t / (alpha + T + t)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    alive_odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-300) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    literal = (a + b + x - 1) / (a - 1) * bracket / (1 + alive_odds)
    np.testing.assert_allclose(model.conditional_expected_purchases(t, x, t_x, T), literal, rtol=1e-9)


@pytest.mark.parametrize("params", PARAM_SETS[:2])
def test_quadrature_agrees_with_closed_form(params):
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x = np.array([0.0, 1.0, 3.0, 10.0, 200.0])
    T, t = 39.0, 52.0
    model = BetaGeo(params=params)
    closed = model.conditional_expected_purchases(t, x, T, T) / model.p_alive(x, T, T)
    np.testing.assert_allclose(_expected_if_alive_quad(r, alpha, a, b, x, T, t, x), closed, rtol=1e-6)


def _demo_rfm():
    import pandas as pd
    from clv_xl.demo import demo_data
    d = demo_data()
    s = d.sessions[(d.sessions["status"] == "Completed")
                   & (pd.to_datetime(d.sessions["date"]) <= pd.Timestamp(d.as_of))]
    return rfm_from_transactions(s["client_id"], s["date"], d.as_of, unit_days=7.0, amounts=s["amount"])


def _reference_eq10(params, t, x, t_x, T, shift=0):
    """Eq. (10) at 40 digits with mpmath, through the Pfaff form 2F1(r+x, a-1; a+b+k-1; -t/(alpha+T))."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(40):
        r, alpha, a, b = (mp.mpf(params[k]) for k in ("r", "alpha", "a", "b"))
        x, t_x, T, t = mp.mpf(x), mp.mpf(t_x), mp.mpf(T), mp.mpf(t)
        k = x + shift
        f = mp.hyp2f1(r + x, a - 1, a + b + k - 1, -t / (alpha + T), maxterms=10**6)
        if_alive = (a + b + k - 1) / (a - 1) * (1 - f)
        alive = 1 / (1 + a / (b + k - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)) if k > 0 else 1
        return float(if_alive * alive)


def test_demo_book_fit_gives_accurate_finite_expectations():
    """Demo book: almost no dropout heterogeneity (a, b ~ 1e4-1e7), where scipy's 2F1 overflows."""
    rfm = _demo_rfm()
    model = BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    assert model.params_["a"] > 100 and model.params_["b"] > 100  # the regime this test is about
    expected = model.conditional_expected_purchases(52.0, rfm["frequency"], rfm["recency"], rfm["T"])
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    rows = rfm[["frequency", "recency", "T"]].drop_duplicates().head(60)
    ours = model.conditional_expected_purchases(52.0, rows["frequency"], rows["recency"], rows["T"])
    reference = [_reference_eq10(model.params_, 52.0, *row) for row in rows.itertuples(index=False)]
    np.testing.assert_allclose(ours, reference, rtol=1e-6)


@pytest.mark.parametrize("model_class", [BetaGeo, "ModifiedBetaGeo"])
def test_large_a_b_limit_is_fixed_dropout_probability(model_class):
    """a, b -> inf with a/(a+b) = p: E = (1/p)(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) P(alive)."""
    if model_class == "ModifiedBetaGeo":
        from clv_xl.engine.models import ModifiedBetaGeo as model_class
    shift = model_class.DROPOUT_SHIFT
    r, alpha, p, scale = 0.8, 5.0, 0.02, 1e10  # corrections are O((x + 1) / (a + b))
    model = model_class.from_params(r=r, alpha=alpha, a=p * scale, b=(1 - p) * scale)
    x = np.array([0.0, 1.0, 4.0, 30.0, 500.0])
    t_x = np.array([0.0, 10.0, 30.0, 38.0, 39.0])
    T, t = 39.0, np.array([[1.0], [52.0], [1000.0]])
    if_alive = -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p
    odds_dead = np.where(x + shift > 0, p / (1 - p) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    limit = if_alive / (1 + odds_dead)
    np.testing.assert_allclose(model.conditional_expected_purchases(t, x, t_x, T), limit, rtol=1e-6)


EXTREME = [1e-2, 0.3, 0.999, 1.0, 1.001, 3.0, 25.0, 1e3, 1e5, 1e7]


@settings(max_examples=200, deadline=None)
@given(a=st.sampled_from(EXTREME), b=st.sampled_from(EXTREME), r=st.sampled_from([0.05, 1.0, 20.0]),
       alpha=st.sampled_from([0.1, 10.0, 500.0]), shift=st.sampled_from([0, 1]),
       x=st.sampled_from([0, 1, 7, 300, 5000]), T=st.floats(0.5, 500), recency_share=st.floats(0, 1))
def test_extreme_parameters_finite_nonnegative_increasing(a, b, r, alpha, shift, x, T, recency_share):
    from clv_xl.engine.models import ModifiedBetaGeo
    model = (BetaGeo, ModifiedBetaGeo)[shift].from_params(r=r, alpha=alpha, a=a, b=b)
    t_x = 0.0 if x == 0 else T * recency_share
    t = np.array([0.0, 0.1, 1.0, 13.0, 52.0, 520.0, 5200.0])
    expected = model.conditional_expected_purchases(t, x, t_x, T)
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    assert expected[0] == 0.0
    assert np.all(np.diff(expected) >= -1e-9 * expected[1:]), expected
    assert np.all(expected <= (r + x) / (alpha + T) * t * (1 + 1e-6) + 1e-12)


def test_p_alive_closed_form_properties(cdnow_fit):
    model, _ = cdnow_fit
    assert model.p_alive(0, 0, 38.86) == 1.0
    recency = np.linspace(1, 38, 20)
    alive = model.p_alive(5, recency, 38.86)
    assert np.all(np.diff(alive) > 0)  # more recent last purchase -> more likely alive
    assert np.all(np.diff(model.p_alive(5, 10.0, np.linspace(10, 80, 20))) < 0)
    # Purchasing at the very end: P(alive) = 1 / (1 + a / (b + x - 1)).
    r, alpha, a, b = (model.params_[k] for k in ("r", "alpha", "a", "b"))
    assert model.p_alive(4, 20.0, 20.0) == pytest.approx(1 / (1 + a / (b + 3)), rel=1e-12)


def test_expected_new_client_is_conditional_on_empty_history(cdnow_fit):
    model, _ = cdnow_fit
    t = np.array([0.5, 10, 100])
    np.testing.assert_allclose(model.expected_purchases_new(t),
                               model.conditional_expected_purchases(t, 0, 0, 0), rtol=1e-12)


def test_shapes_scalars_and_arrays(cdnow_fit):
    model, _ = cdnow_fit
    assert isinstance(model.p_alive(1, 2, 3), float)
    assert isinstance(model.conditional_expected_purchases(5, 1, 2, 3), float)
    grid = model.conditional_expected_purchases(np.ones((2, 3)), np.zeros(3), np.zeros(3), 10.0)
    assert grid.shape == (2, 3)
    assert model.expected_purchases_new(np.arange(4.0)).shape == (4,)


@settings(max_examples=300, deadline=None)
@given(
    params=st.sampled_from(PARAM_SETS),
    x=st.integers(0, 5000),
    T=st.floats(0.5, 2000),
    recency_share=st.floats(0, 1),
    t=st.floats(0, 2000),
)
def test_heavy_buyers_stay_finite(params, x, T, recency_share, t):
    model = BetaGeo(params=params)
    t_x = 0.0 if x == 0 else T * recency_share
    alive = model.p_alive(x, t_x, T)
    expected = model.conditional_expected_purchases(t, x, t_x, T)
    assert 0.0 <= alive <= 1.0
    assert np.isfinite(expected) and expected >= -1e-9
    # A client alive for sure buys at most at the posterior mean rate times t
    # (plus rounding); E[rate | history] = (r + x) / (alpha + T).
    assert expected <= (params["r"] + x) / (params["alpha"] + T) * t * (1 + 1e-6) + 1e-9
    assert np.isfinite(model.loglik(x, t_x, T))


@pytest.mark.parametrize("shift", [0, 1], ids=["BG/NBD", "MBG/NBD"])
def test_analytic_gradient_and_hessian_match_finite_differences(shift):
    rng = np.random.default_rng(0)
    T = rng.uniform(5, 50, 200)
    x = rng.integers(0, 30, 200).astype(float)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 200), 0.0)
    weights = rng.integers(1, 5, 200).astype(float)
    histories = _histories(x, t_x, T, shift, weights)
    theta = np.array([0.4, 3.0, 0.9, 1.7])
    _, grad, hess = _loglik_derivatives(theta, histories)

    def total(th):
        return weights @ _loglik_derivatives(th, histories, order=0)[0]

    for j in range(4):
        h = 1e-6 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        np.testing.assert_allclose(grad[j], (total(up) - total(down)) / (2 * h), rtol=1e-6)
        grad_up = _loglik_derivatives(up, histories, order=1)[1]
        grad_down = _loglik_derivatives(down, histories, order=1)[1]
        np.testing.assert_allclose(hess[:, j], (grad_up - grad_down) / (2 * h), rtol=1e-5,
                                   atol=1e-6 * np.abs(hess).max())
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12)


def test_per_client_loglik_does_not_depend_on_the_other_clients():
    """The distinct-x grouping inside the likelihood must not mix clients up."""
    rng = np.random.default_rng(1)
    T = rng.uniform(5, 50, 50)
    x = rng.integers(0, 6, 50).astype(float)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 50), 0.0)
    model = BetaGeo.from_params(r=0.4, alpha=3.0, a=0.9, b=1.7)
    together = model.loglik(x, t_x, T)
    one_by_one = [model.loglik(x[i], t_x[i], T[i]) for i in range(50)]
    np.testing.assert_allclose(together, one_by_one, rtol=1e-13)


def test_parameter_recovery_on_simulated_clients():
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 3.0}
    T = np.random.default_rng(11).uniform(20, 60, 10_000)
    frequency, recency = BetaGeo(params=truth).sample(T, seed=12)
    model = BetaGeo().fit(frequency, recency, T)
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3 * model.se_[name], (name, model.params_, model.se_)


def test_compressed_weighted_fit_equals_full_fit():
    T = np.random.default_rng(3).integers(10, 40, 3000).astype(float)
    frequency, recency = BetaGeo.from_params(r=0.3, alpha=4, a=0.8, b=2.5).sample(T, seed=4)
    recency = np.round(recency)
    full = BetaGeo().fit(frequency, recency, T)
    rows = compress(frequency, recency, T)
    weighted = BetaGeo().fit(rows.frequency, rows.recency, rows.T, weights=rows.weights)
    assert len(rows.T) < len(T)
    for name in full.params_:
        assert weighted.params_[name] == pytest.approx(full.params_[name], rel=1e-6)
    assert weighted.loglik_ == pytest.approx(full.loglik_, rel=1e-10)


@pytest.mark.parametrize("distinct_per_column", [3, 40, 2_000])
def test_compress_groups_rows_as_numpy_unique_does(distinct_per_column, monkeypatch):
    from clv_xl.engine.models import _data
    rng = np.random.default_rng(distinct_per_column)
    table = rng.integers(0, distinct_per_column, (5_000, 3)) / 7.0
    table[:50, 1] = -0.0  # the same group as 0.0
    weights = rng.uniform(0.5, 2.0, len(table))
    expected, inverse = np.unique(table, axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=weights)
    for way in ("hash", "sort"):
        if way == "sort":  # the fallback for keys too large to combine
            monkeypatch.setattr(_data, "_group_rows", _data._group_rows_by_sorting)
        rows = compress(table[:, 0], table[:, 1], table[:, 2], weights)
        found = np.column_stack([rows.frequency, rows.recency, rows.T])
        np.testing.assert_array_equal(found, expected)
        np.testing.assert_array_equal(found[rows.inverse], table)
        np.testing.assert_allclose(rows.weights, counts, rtol=1e-12)


def test_all_first_time_clients_raise_model_fit_error():
    with pytest.raises(ModelFitError, match="too few repeat clients to fit BG/NBD: 0 of 100"):
        BetaGeo().fit(np.zeros(100), np.zeros(100), np.full(100, 30.0))


def test_three_clients_raise_model_fit_error():
    with pytest.raises(ModelFitError, match="too few clients"):
        BetaGeo().fit([1, 2, 0], [3.0, 5.0, 0.0], [10.0, 10.0, 10.0])


def test_unidentifiable_data_raise_instead_of_returning_parameters():
    # 200 clients who all bought exactly once more, at the very end: no sign of
    # dropout, so the likelihood runs off to a boundary.
    x = np.ones(200)
    T = np.full(200, 20.0)
    with pytest.raises(ModelFitError, match="did not converge|cannot identify"):
        BetaGeo().fit(x, T, T)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="recency"):
        BetaGeo.from_params(r=1, alpha=1, a=1, b=1).p_alive(1, 5.0, 4.0)
    with pytest.raises(ValueError, match="missing"):
        BetaGeo(params={"r": 1.0})
    with pytest.raises(ValueError, match="no parameters"):
        BetaGeo().p_alive(1, 1, 2)


# ------------------------------------------------------------------ P(X(t) = n), eq. (8)

def test_prob_purchases_reproduces_the_cdnow_histogram_of_repeat_purchases():
    """FHL (2005), figure 3: calibration-period repeat purchases, actual against the model's
    expectation sum_i P(X(T_i) = x), x = 0..6 and 7+ (each client over its own T)."""
    import cdnow

    data = cdnow.summary()
    model = BetaGeo().fit(data["frequency"], data["recency"], data["T"])
    T = data["T"].to_numpy()
    expected = [float(np.sum(model.prob_purchases(x, T))) for x in range(7)]
    expected.append(len(T) - sum(expected))
    actual = [int((data["frequency"] == x).sum()) for x in range(7)] + [int((data["frequency"] >= 7).sum())]
    assert actual == [1411, 439, 214, 100, 62, 38, 29, 64]
    for e, a in zip(expected, actual):
        assert abs(e - a) < 0.12 * a + 5, (expected, actual)


@pytest.mark.parametrize("model_class", [BetaGeo, ModifiedBetaGeo])
def test_prob_purchases_sums_to_one_and_matches_clients_drawn_from_the_model(model_class):
    model = model_class.from_params(r=0.5, alpha=5.0, a=0.8, b=2.5)
    probabilities = np.array([model.prob_purchases(n, 39.0) for n in range(0, 300)])
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    x, _ = model.sample(np.full(200_000, 39.0), seed=12)
    drawn = np.bincount(x.astype(int), minlength=300)[:300] / len(x)
    np.testing.assert_allclose(drawn[:8], probabilities[:8], atol=0.004)
    mean = np.sum(np.arange(300) * probabilities)
    assert mean == pytest.approx(float(model.expected_purchases_new(39.0)), rel=1e-6)


# ------------------------------------------ P(X(T, T+t) = n | x, t_x, T), the conditional eq. (8)

def _monte_carlo_conditional(model, x, t_x, T, t, draws=1_000_000, seed=7):
    """P(n purchases in (T, T+t] | x, t_x, T) straight from the model's story, without eq. (8):
    (lambda, p) drawn from the prior, weighted by the history's likelihood split into 'alive
    at T' ((1-p)^k lambda^x e^(-lambda T)) and 'dropped at the last chance' (p (1-p)^(k-1)
    lambda^x e^(-lambda t_x)), k = x + shift dropout chances; the alive ones then buy as a
    Poisson process and drop out after each purchase with probability p. (probabilities for
    n = 0..9, their standard errors)."""
    r, alpha, a, b = (model.params_[k] for k in ("r", "alpha", "a", "b"))
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, draws)
    p = rng.beta(a, b, draws)
    k = x + model.DROPOUT_SHIFT
    log_rate = x * np.log(lam)
    alive = np.exp(k * np.log1p(-p) + log_rate - lam * T)
    dead = np.exp(np.log(p) + (k - 1) * np.log1p(-p) + log_rate - lam * t_x) if k > 0 else 0 * p
    future = np.minimum(rng.poisson(lam * t), rng.geometric(p))
    total = alive.sum() + np.sum(dead)
    probabilities, errors = [], []
    for n in range(10):
        w = alive * (future == n) + (dead if n == 0 else 0.0)
        share = w.sum() / total
        probabilities.append(share)
        # ratio-estimator standard error
        errors.append(np.sqrt(np.sum((w - share * (alive + dead)) ** 2)) / total)
    return np.array(probabilities), np.array(errors)


@pytest.mark.parametrize("model_class", [BetaGeo, ModifiedBetaGeo])
@pytest.mark.parametrize("x, t_x, T, t", [(2, 30.43, 38.86, 39.0), (0, 0.0, 20.0, 52.0),
                                          (7, 10.0, 38.0, 10.0)])
def test_conditional_prob_purchases_matches_the_models_story_by_monte_carlo(model_class, x, t_x,
                                                                           T, t):
    model = model_class.from_params(**PUBLISHED)
    expected, error = _monte_carlo_conditional(model, x, t_x, T, t)
    got = np.array([model.conditional_prob_purchases(n, t, x, t_x, T) for n in range(10)])
    assert np.all(np.abs(got - expected) < 5 * error + 1e-4), (got, expected, error)


@pytest.mark.parametrize("model_class", [BetaGeo, ModifiedBetaGeo])
def test_conditional_prob_purchases_sums_to_one_and_agrees_with_the_other_formulas(model_class):
    model = model_class.from_params(**PUBLISHED)
    x, t_x, T = np.array([0, 1, 2, 5, 30]), np.array([0, 5.0, 30.43, 20, 38]), 38.86
    n = np.arange(400)[:, None]
    pmf = model.conditional_prob_purchases(n, 39.0, x, t_x, T)
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-10)
    np.testing.assert_allclose((n * pmf).sum(axis=0),  # the mean is eq. (10)
                               model.conditional_expected_purchases(39.0, x, t_x, T), rtol=1e-9)
    np.testing.assert_allclose(pmf[0], model.prob_no_purchase(39.0, x, t_x, T), rtol=1e-12)
    # with no history yet it is the unconditional eq. (8)
    np.testing.assert_allclose(model.conditional_prob_purchases(np.arange(8), 39.0, 0, 0, 0),
                               model.prob_purchases(np.arange(8), 39.0), rtol=1e-12)
    with pytest.raises(ValueError, match="whole number"):
        model.conditional_prob_purchases(1.5, 39.0, 2, 30, 38)


# ---------------------------------------------------- tiny horizons and tiny chances (issue 18)

def _reference_no_purchase(params, t, x, t_x, T, shift):
    """1 - P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)) at 50 digits."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(50):
        r, alpha, a, b = (mp.mpf(params[k]) for k in ("r", "alpha", "a", "b"))
        x, t_x, T, t = mp.mpf(x), mp.mpf(t_x), mp.mpf(T), mp.mpf(t)
        k = x + shift
        odds = a / (b + k - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) if k > 0 else 0
        q = ((alpha + T) / (alpha + T + t)) ** (r + x)
        return float(1 - (1 - q) / (1 + odds))


@pytest.mark.parametrize("model_class", [BetaGeo, ModifiedBetaGeo])
@pytest.mark.parametrize("params", PARAM_SETS)
@pytest.mark.parametrize("t", [1e-9, 1e-6, 1e-3, 0.05, 1.0])
def test_expectation_keeps_its_relative_precision_at_tiny_horizons(model_class, params, t):
    """Eq. (10) and eq. (7) at t down to 1e-9: within 1e-12 relative of mpmath at 50 digits
    (before the short-horizon series, "1 - ..." kept only the difference's digits: 0.4%
    off at t = 1e-9)."""
    model = model_class(params=params)
    for x, t_x, T in ((0, 0.0, 0.0), (0, 0.0, 20.0), (2, 30.43, 38.86), (10, 30.0, 38.0),
                      (50, 37.0, 38.0)):
        got = float(model.conditional_expected_purchases(t, x, t_x, T))
        want = _reference_eq10(params, t, x, t_x, T, model_class.DROPOUT_SHIFT)
        assert got == pytest.approx(want, rel=1e-12, abs=0), (x, t_x, T)


@pytest.mark.parametrize("model_class", [BetaGeo, ModifiedBetaGeo])
def test_a_chance_of_no_purchase_below_1e_16_is_not_rounded_to_0(model_class):
    """Almost no dropout (b = 1e20) and a fast buyer over a long horizon: P(no purchase) is
    about 5e-21 (the dropout odds a/(b+k-1)), which 1 - P(alive)(1 - q) rounds to 0."""
    params = {"r": 20.0, "alpha": 1.0, "a": 0.5, "b": 1e20}
    model = model_class(params=params)
    for t, x, t_x, T in ((1e4, 5, 38.0, 38.0), (1e3, 40, 30.0, 38.0), (1e-6, 3, 10.0, 38.0),
                         (52.0, 0, 0.0, 10.0)):
        got = float(model.prob_no_purchase(t, x, t_x, T))
        want = _reference_no_purchase(params, t, x, t_x, T, model_class.DROPOUT_SHIFT)
        assert got == pytest.approx(want, rel=1e-12, abs=0), (t, x, got, want)
    assert 0 < float(model.prob_no_purchase(1e4, 5, 38.0, 38.0)) < 1e-16
    assert float(model.prob_no_purchase(0.0, 5, 38.0, 38.0)) == 1.0
