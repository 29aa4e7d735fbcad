"""sBG (Fader & Hardie 2007, 2010) against the papers' published fits and against direct sums."""

import numpy as np
import pytest

from clv_xl.engine.models import ModelFitError, ShiftedBetaGeometric

# Fader & Hardie (2007), "How to project customer retention": % of 1,000 members active, years 0-12.
REGULAR = [100, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1, 22.3, 20.7, 19.4, 18.3, 17.3]
HIGH_END = [100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1, 46.8, 44.5, 42.7, 40.9, 39.4]


def members(percent, years=7):
    return [round(p * 10) for p in percent[: years + 1]]


@pytest.mark.parametrize("percent, alpha, beta, loglik", [
    (REGULAR, 0.704, 1.182, -1680.3),
    (HIGH_END, 0.668, 3.806, -1611.2),
])
def test_reproduces_the_published_fit_on_years_1_to_7(percent, alpha, beta, loglik):
    model = ShiftedBetaGeometric().fit(members(percent))
    assert model.params_["alpha"] == pytest.approx(alpha, abs=5e-4)
    assert model.params_["beta"] == pytest.approx(beta, abs=5e-4)
    assert model.loglik_ == pytest.approx(loglik, abs=0.05)
    assert model.n_members_ == 1000


@pytest.mark.parametrize("percent", [REGULAR, HIGH_END])
def test_projects_years_8_to_12_close_to_what_happened(percent):
    """Fitted on 7 years, the model tracks the next 5 within the paper's 1.6 points."""
    model = ShiftedBetaGeometric().fit(members(percent))
    projected = 100 * model.survival(np.arange(8, 13))
    actual = np.array(percent[8:13])
    assert np.max(np.abs(projected - actual)) < 1.7


def test_survival_retention_and_churn_agree_with_each_other():
    model = ShiftedBetaGeometric.from_params(alpha=0.9, beta=2.5)
    t = np.arange(1, 40)
    survival = model.survival(np.arange(0, 40))
    assert survival[0] == 1.0
    np.testing.assert_allclose(model.retention(t), survival[1:] / survival[:-1], rtol=1e-12)
    np.testing.assert_allclose(model.churn_probability(t), survival[:-1] - survival[1:], rtol=1e-10)


@pytest.mark.parametrize("alpha, beta", [(0.704, 1.182), (1.5, 2.0), (3.0, 0.4)])
@pytest.mark.parametrize("d", [0.05, 0.1, 0.5])
def test_discounted_lifetimes_equal_their_sums(alpha, beta, d):
    model = ShiftedBetaGeometric.from_params(alpha=alpha, beta=beta)
    t = np.arange(0, 5000)
    survival = model.survival(t)
    discount = np.exp(-np.log1p(d) * t)
    assert model.discounted_expected_lifetime(d) == pytest.approx(np.sum(survival * discount), rel=1e-9)
    for renewals in (0, 3, 10):
        n = renewals + 1  # the member has paid n periods
        expected = np.sum(survival[n:] * discount[: len(t) - n]) / survival[n - 1]
        assert model.discounted_expected_residual_lifetime(d, renewals) == pytest.approx(expected, rel=1e-9)


def test_undiscounted_lifetime_is_the_mean_and_has_no_end_when_alpha_is_at_most_1():
    model = ShiftedBetaGeometric.from_params(alpha=1.5, beta=2.0)
    assert model.expected_lifetime() == pytest.approx(5.0)
    assert model.discounted_expected_lifetime(0.0) == pytest.approx(5.0)
    light_tail = ShiftedBetaGeometric.from_params(alpha=4.0, beta=3.0)
    lifetimes = np.random.default_rng(3).geometric(np.random.default_rng(4).beta(4.0, 3.0, 2_000_000))
    paid = 4  # three renewals: the member has paid 4 periods; what is still to come?
    assert np.mean(lifetimes[lifetimes >= paid] - paid) == pytest.approx(
        light_tail.discounted_expected_residual_lifetime(0.0, paid - 1), rel=0.02)
    assert np.isinf(ShiftedBetaGeometric.from_params(alpha=0.7, beta=1.2).expected_lifetime())


def test_fit_recovers_the_parameters_of_simulated_cohorts_of_different_ages():
    rng = np.random.default_rng(7)
    cohorts = []
    for age in (12, 9, 6, 3):
        lifetimes = rng.geometric(rng.beta(0.8, 3.0, 4000))
        cohorts.append([int(np.sum(lifetimes > t)) for t in range(age + 1)])
    model = ShiftedBetaGeometric().fit(cohorts)
    for name, truth in (("alpha", 0.8), ("beta", 3.0)):
        assert abs(model.params_[name] - truth) < 3 * model.se_[name]
    assert model.loglik_ == pytest.approx(model.loglik(cohorts))


@pytest.mark.parametrize("counts, message", [
    ([1000, 1000, 1000], "left"),
    ([100, 0, 0], "renewed"),
    ([100, 120], "fall"),
    ([100], "at least one later"),
])
def test_counts_that_cannot_be_fitted_say_why(counts, message):
    with pytest.raises(ValueError, match=message):
        ShiftedBetaGeometric().fit(counts)


def test_a_fit_error_is_a_model_fit_error():
    with pytest.raises(ModelFitError):
        ShiftedBetaGeometric().fit([10, 10])
