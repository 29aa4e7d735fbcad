"""Shifted-beta-geometric (sBG) model of contract renewal: Fader & Hardie (2007).

"How to project customer retention", Journal of Interactive Marketing 21(1),
76-90; and for the value of a member, Fader & Hardie (2010), "Customer-base
valuation in a contractual setting: the perils of ignoring heterogeneity",
Marketing Science 29(1), 85-93.

For memberships, subscriptions and class passes: a member renews at the end
of each period with probability 1 - theta and leaves for good otherwise, so
the lifetime T (periods paid, counting the first) is geometric; the churn
probability theta varies across members as Beta(alpha, beta). The cohort's
retention then rises with time (the members likely to leave leave first),
which is what a single retention rate misses.

Equations (B = Beta function; t = 1, 2, ... periods):

* P(T = t) = B(alpha+1, beta+t-1) / B(alpha, beta)           (2007, section 3)
* S(t) = P(T > t) = B(alpha, beta+t) / B(alpha, beta)          (2007, section 3)
* r_t = S(t) / S(t-1) = (beta+t-1) / (alpha+beta+t-1)          (2007, section 3)
* log-likelihood of a cohort with n_0 members at the start and n_t still
  active at the start of period t+1, observed for k periods:
  sum_{t=1..k} (n_{t-1} - n_t) log P(T = t) + n_k log S(k)     (2007, section 4)
* E[T] = (alpha+beta-1) / (alpha-1) for alpha > 1, otherwise infinite
* DEL(d) = sum_{t>=0} S(t) / (1+d)^t = 2F1(1, beta; alpha+beta; 1/(1+d))
  (2010, section 2: discounted expected lifetime of a new member)
* DERL(d | n-1 renewals) = (beta+n-1)/(alpha+beta+n-1)
  2F1(1, beta+n; alpha+beta+n; 1/(1+d))                        (2010, eq. (6))

The section numbers of the 2007 paper were not checked against the PDF; the
formulas were, against the published fits (tests/test_models_sbg.py).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._base import FittedModel
from ._fit import ModelFitError, fit_log_params, scalar_or_array

PARAM_NAMES = ("alpha", "beta")


class ShiftedBetaGeometric(FittedModel):
    """sBG model; ``fit`` estimates alpha, beta from cohorts' survivor counts.

    Build from known parameters with ``ShiftedBetaGeometric(params={...})`` or
    ``ShiftedBetaGeometric.from_params(alpha=..., beta=...)``. Periods are the
    contract's (months, years): every method counts in them. ``n_members_`` is
    the members fitted.
    """

    MODEL = "sBG"
    PARAM_NAMES = PARAM_NAMES

    # ------------------------------------------------------------------ fit
    def fit(self, survivors):
        """Maximum-likelihood estimates of alpha, beta; returns self.

        ``survivors``: one cohort's members active at the start of each period
        (n_0, n_1, ..., n_k: the first is the cohort's size), or a list of such
        sequences for several cohorts of different ages, which share the
        parameters. Maximises Fader & Hardie (2007)'s log-likelihood (module
        docstring). Raises ModelFitError when the counts cannot support a fit.
        """
        lost, still, periods = _cohort_counts(survivors)
        n = float(lost.sum() + still.sum())
        if lost.sum() == 0:
            raise ModelFitError("sBG needs at least one member who left; every member renewed")
        if still.sum() == 0 and np.all(lost[:, 1:] == 0):
            raise ModelFitError("sBG needs members who renewed at least once; all left after one period")

        def negative(theta):
            ll, grad, hess = _loglik_derivatives(theta, lost, still, periods)
            return -ll, -grad, -hess

        result = fit_log_params(negative, [1.0, 1.0], PARAM_NAMES, self.MODEL, n)
        self.params_ = dict(zip(PARAM_NAMES, map(float, result.params)))
        self.se_ = dict(zip(PARAM_NAMES, map(float, result.se)))
        self.loglik_ = result.loglik
        self.n_members_ = self.n_clients_ = int(round(n))
        self.n_iter_ = result.iterations
        return self

    # --------------------------------------------------------- predictions
    def churn_probability(self, t):
        """P(T = t): the chance a new member pays exactly t periods (leaves at renewal t).

        Fader & Hardie (2007): B(alpha+1, beta+t-1) / B(alpha, beta).
        """
        alpha, beta = self._theta()
        t = _checked_periods(t, minimum=1)
        return scalar_or_array(np.exp(special.betaln(alpha + 1, beta + t - 1)
                                      - special.betaln(alpha, beta)))

    def survival(self, t):
        """S(t): the share of a new cohort still a member after t periods.

        Fader & Hardie (2007): B(alpha, beta+t) / B(alpha, beta); S(0) = 1.
        """
        alpha, beta = self._theta()
        t = _checked_periods(t, minimum=0)
        return scalar_or_array(np.exp(special.betaln(alpha, beta + t)
                                      - special.betaln(alpha, beta)))

    def retention(self, t):
        """r_t: the share of members active in period t-1 who renew into period t.

        Fader & Hardie (2007): (beta+t-1) / (alpha+beta+t-1), rising with t.
        """
        alpha, beta = self._theta()
        t = _checked_periods(t, minimum=1)
        return scalar_or_array((beta + t - 1) / (alpha + beta + t - 1))

    def expected_lifetime(self) -> float:
        """E[T], periods paid by a new member: (alpha+beta-1)/(alpha-1); infinite if alpha <= 1."""
        alpha, beta = self._theta()
        return float((alpha + beta - 1) / (alpha - 1)) if alpha > 1 else float("inf")

    def discounted_expected_lifetime(self, discount_rate):
        """DEL: periods a new member pays, each discounted per period, the first undiscounted.

        Fader & Hardie (2010), section 2: 2F1(1, beta; alpha+beta; 1/(1+d)).
        Multiply by the fee per period for the value of a new member.
        """
        return self.discounted_expected_residual_lifetime(discount_rate, renewals=-1)

    def discounted_expected_residual_lifetime(self, discount_rate, renewals):
        """DERL: the periods a member who has renewed ``renewals`` times will still pay, discounted.

        Fader & Hardie (2010), eq. (6), at the end of period n = renewals + 1,
        just before the member's next renewal decision:
        (beta+n-1)/(alpha+beta+n-1) 2F1(1, beta+n; alpha+beta+n; 1/(1+d)).
        ``renewals = -1`` gives DEL, the value of a member not yet signed up.
        With d = 0 the sum is E[T] = (alpha+beta-1)/(alpha-1) for a new member
        and (beta+n-1)/(alpha-1) after n-1 renewals (Gauss's 2F1 at 1), infinite
        when alpha <= 1: some members then never leave.
        """
        alpha, beta = self._theta()
        d = np.asarray(discount_rate, dtype=float)
        if np.any(~np.isfinite(d)) or np.any(d < 0):
            raise ValueError("discount rate must be 0 or more (e.g. 0.1 for 10% a period)")
        renewals = _checked_periods(renewals, minimum=-1)
        d, n = np.broadcast_arrays(d, renewals + 1)
        first = np.where(n > 0, (beta + n - 1) / (alpha + beta + n - 1), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            discounted = first * special.hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + d))
            plain = np.where(n > 0, beta + n - 1, alpha + beta - 1) / (alpha - 1)
        plain = plain if alpha > 1 else np.full(np.shape(n), np.inf)
        return scalar_or_array(np.where(d > 0, discounted, plain))

    def loglik(self, survivors) -> float:
        """The log-likelihood of cohorts' survivor counts under the parameters (module docstring)."""
        lost, still, periods = _cohort_counts(survivors)
        ll, _, _ = _loglik_derivatives(self._theta(), lost, still, periods, order=0)
        return float(ll)


def _checked_periods(t, minimum: int) -> np.ndarray:
    arr = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(arr < minimum) or np.any(arr != np.floor(arr)):
        raise ValueError(f"periods must be whole numbers from {minimum}")
    return arr


def _cohort_counts(survivors):
    """Each cohort's members lost in periods 1..k and still active after k, padded to a grid.

    Returns ``lost`` (cohorts x k_max: members who left after paying exactly t
    periods), ``still`` (cohorts: members active after the cohort's last
    observed period) and ``periods`` (cohorts: k).
    """
    first = np.asarray(survivors[0] if len(survivors) else [], dtype=object)
    cohorts = survivors if first.ndim == 1 and len(first) else [survivors]
    arrays = []
    for cohort in cohorts:
        counts = np.asarray(cohort, dtype=float)
        if counts.ndim != 1 or len(counts) < 2:
            raise ValueError("a cohort needs its size and at least one later count of active members")
        if np.any(~np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError("member counts must be numbers of at least 0")
        if np.any(np.diff(counts) > 0):
            raise ValueError("members active can only fall from one period to the next "
                             "(a cohort is the members who started together)")
        arrays.append(counts)
    width = max(len(c) for c in arrays) - 1
    lost = np.zeros((len(arrays), width))
    for row, counts in enumerate(arrays):
        lost[row, : len(counts) - 1] = -np.diff(counts)
    still = np.array([c[-1] for c in arrays])
    periods = np.array([len(c) - 1 for c in arrays])
    return lost, still, periods


def _loglik_derivatives(theta, lost, still, periods, order: int = 2):
    """Log-likelihood of the cohorts, with gradient and Hessian in (alpha, beta).

    log P(T=t) = betaln(alpha+1, beta+t-1) - betaln(alpha, beta);
    log S(k) = betaln(alpha, beta+k) - betaln(alpha, beta). The derivatives of
    betaln(x, y) are digamma(x) - digamma(x+y) and trigamma differences.
    """
    alpha, beta = theta
    t = np.arange(1, lost.shape[1] + 1, dtype=float)
    weights = lost.sum(axis=0)
    k = periods.astype(float)
    # terms: log B(a_i, b_i) with weights w_i, for the lost (P(T=t)) and survivors (S(k))
    a_terms = np.concatenate([np.full_like(t, alpha + 1), np.full_like(k, alpha)])
    b_terms = np.concatenate([beta + t - 1, beta + k])
    w_terms = np.concatenate([weights, still])
    n = w_terms.sum()
    ll = w_terms @ special.betaln(a_terms, b_terms) - n * special.betaln(alpha, beta)
    if order == 0:
        return ll, None, None

    def first(a, b):
        s = special.digamma(a + b)
        return special.digamma(a) - s, special.digamma(b) - s

    def second(a, b):
        s = special.polygamma(1, a + b)
        return special.polygamma(1, a) - s, -s, special.polygamma(1, b) - s

    da, db = first(a_terms, b_terms)
    da0, db0 = first(alpha, beta)
    grad = np.array([w_terms @ da - n * da0, w_terms @ db - n * db0])
    haa, hab, hbb = second(a_terms, b_terms)
    haa0, hab0, hbb0 = second(alpha, beta)
    hess = np.array([
        [w_terms @ haa - n * haa0, w_terms @ hab - n * hab0],
        [w_terms @ hab - n * hab0, w_terms @ hbb - n * hbb0],
    ])
    return ll, grad, hess
