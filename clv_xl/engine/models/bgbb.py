"""BG/BB model for discrete purchase opportunities: Fader, Hardie & Shang (2010).

"Customer-base analysis in a discrete-time noncontractual setting", Marketing
Science 29(6), 1086-1108. For businesses whose clients can come only at fixed
occasions (a yearly shoot, a term of classes, an annual event): at each of n
opportunities an active client buys with probability p ~ Beta(alpha, beta),
and before each opportunity an active client drops out for good with
probability theta ~ Beta(gamma, delta).

Inputs: ``frequency`` x = purchases in the n opportunities after the first
(0 <= x <= n), ``recency`` t_x = the opportunity of the last one (0 if none),
``n`` = opportunities observed. B = Beta function.

* L = B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n)/B(gamma,delta)
  + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha,beta)
  B(gamma+1, delta+t_x+i)/B(gamma,delta)                                       (FHS 2010, eq. 5)
* P(alive at n+1) = B(alpha+x, beta+n-x)/B(alpha,beta)
  B(gamma, delta+n+1)/B(gamma,delta) / L                                       (FHS 2010, eq. 11)
* E[X(n*) | x, t_x, n] = B(alpha+x+1, beta+n-x)/B(alpha,beta) delta/(gamma-1)
  Gamma(gamma+delta)/Gamma(1+delta) [Gamma(1+delta+n)/Gamma(gamma+delta+n)
  - Gamma(1+delta+n+n*)/Gamma(gamma+delta+n+n*)] / L                           (FHS 2010, eq. 13)
* E[X(n)] = alpha/(alpha+beta) delta/(gamma-1) [1 - Gamma(gamma+delta)
  Gamma(1+delta+n) / (Gamma(gamma+delta+n) Gamma(1+delta))]                    (FHS 2010, eq. 7)

All in logs (log-sum-exp over the likelihood's terms). The equation numbers
were not checked against the PDF; the expressions are checked against the
published fit and against clients simulated from the model.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._base import FittedModel
from ._fit import ModelFitError, fit_log_params, scalar_or_array
from ._numeric import numeric_derivatives

PARAM_NAMES = ("alpha", "beta", "gamma", "delta")


class BetaGeoBetaBinom(FittedModel):
    """BG/BB model; ``fit`` estimates alpha, beta, gamma, delta by maximum likelihood.

    Build from known parameters with ``BetaGeoBetaBinom(params={...})`` or
    ``BetaGeoBetaBinom.from_params(alpha=..., beta=..., gamma=..., delta=...)``.
    """

    MODEL = "BG/BB"
    PARAM_NAMES = PARAM_NAMES

    def fit(self, frequency, recency, n, weights=None):
        """Maximum-likelihood estimates of alpha, beta, gamma, delta; returns self.

        Maximises the sum of log L (FHS 2010, eq. 5) over distinct (x, t_x, n)
        rows weighted by their count (``weights``: how many clients have each
        row, as in the donations data). Raises ModelFitError when the data
        cannot support a fit.
        """
        x, t_x, n = _checked_data(frequency, recency, n)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        keys = np.stack([x, t_x, n], axis=1)
        rows, which = np.unique(keys, axis=0, return_inverse=True)
        counts = np.bincount(which.ravel(), weights=w, minlength=len(rows))
        total = float(counts.sum())
        if total < 10 or counts[rows[:, 0] > 0].sum() < 5 or len(counts) < 2:
            raise ModelFitError(f"too little data to fit BG/BB: {total:g} clients, "
                                f"{counts[rows[:, 0] > 0].sum():g} who bought again")

        def negative_many(thetas):
            return -(_loglik_many(thetas, rows[:, 0], rows[:, 1], rows[:, 2]) @ counts)

        def negative(theta):
            return float(negative_many(np.asarray(theta, dtype=float)[None, :])[0])

        result = fit_log_params(numeric_derivatives(negative, negative_many), [1.0, 1.0, 1.0, 1.0],
                                PARAM_NAMES, self.MODEL, total)
        self.params_ = dict(zip(PARAM_NAMES, map(float, result.params)))
        self.se_ = dict(zip(PARAM_NAMES, map(float, result.se)))
        self.loglik_ = result.loglik
        self.n_clients_ = int(round(total))
        self.n_iter_ = result.iterations
        return self

    def loglik(self, frequency, recency, n):
        """Per-client log-likelihood (FHS 2010, eq. 5)."""
        x, t_x, n = _checked_data(frequency, recency, n)
        return scalar_or_array(_loglik(*self._theta(), x, t_x, n))

    def p_alive(self, frequency, recency, n):
        """Probability the client is still active at the next opportunity (FHS 2010, eq. 11)."""
        alpha, beta, gamma, delta = self._theta()
        x, t_x, n = _checked_data(frequency, recency, n)
        log_alive = (special.betaln(alpha + x, beta + n - x) - special.betaln(alpha, beta)
                     + special.betaln(gamma, delta + n + 1) - special.betaln(gamma, delta))
        return scalar_or_array(np.exp(log_alive - _loglik(alpha, beta, gamma, delta, x, t_x, n)))

    def conditional_expected_purchases(self, n_future, frequency, recency, n):
        """Expected purchases in the next ``n_future`` opportunities given the history (FHS 2010, eq. 13)."""
        alpha, beta, gamma, delta = self._theta()
        m = _checked_count(n_future, "future opportunities")
        x, t_x, n = _checked_data(frequency, recency, n)
        m, x, t_x, n = np.broadcast_arrays(m, x, t_x, n)
        log_front = (special.betaln(alpha + x + 1, beta + n - x) - special.betaln(alpha, beta)
                     + np.log(delta) - np.log(abs(gamma - 1)) + special.gammaln(gamma + delta)
                     - special.gammaln(1 + delta))
        now = special.gammaln(1 + delta + n) - special.gammaln(gamma + delta + n)
        later = special.gammaln(1 + delta + n + m) - special.gammaln(gamma + delta + n + m)
        # [e^now - e^later] / (gamma - 1) > 0 either way; gamma = 1 is the limit, by continuity
        difference = np.exp(now) * -np.expm1(later - now) * np.sign(gamma - 1)
        value = np.exp(log_front - _loglik(alpha, beta, gamma, delta, x, t_x, n)) * difference
        return scalar_or_array(value)

    def expected_purchases_new(self, n):
        """Expected purchases in the first n opportunities of a new client (FHS 2010, eq. 7)."""
        alpha, beta, gamma, delta = self._theta()
        n = _checked_count(n, "opportunities")
        ratio = np.exp(special.gammaln(gamma + delta) + special.gammaln(1 + delta + n)
                       - special.gammaln(gamma + delta + n) - special.gammaln(1 + delta))
        return scalar_or_array(alpha / (alpha + beta) * delta / (gamma - 1) * (1 - ratio))


def _checked_count(values, name) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be whole numbers of at least 0")
    return arr


def _checked_data(frequency, recency, n):
    x = _checked_count(frequency, "frequency")
    t_x = _checked_count(recency, "recency")
    n = _checked_count(n, "opportunities")
    x, t_x, n = np.broadcast_arrays(x, t_x, n)
    if np.any(x > n) or np.any(t_x > n) or np.any(x > t_x) or np.any((x > 0) & (t_x == 0)):
        raise ValueError("need 0 <= frequency <= recency <= opportunities, recency 0 only with no purchase")
    return x, t_x, n


def _loglik(alpha, beta, gamma, delta, x, t_x, n):
    """log L, FHS (2010) eq. 5, per client (see :func:`_loglik_many`)."""
    x, t_x, n = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(x, t_x, n))
    theta = np.array([[alpha, beta, gamma, delta]], dtype=float)
    return _loglik_many(theta, x.ravel(), t_x.ravel(), n.ravel())[0].reshape(x.shape)


def _loglik_many(theta, x, t_x, n):
    """log L, FHS (2010) eq. 5, as log-sum-exp over its n - t_x + 1 terms, for each parameter
    row of ``theta`` (m, 4) and each client of the 1-d ``x``, ``t_x``, ``n``: an (m, clients)
    array."""
    alpha, beta, gamma, delta = (theta[:, j, None, None] for j in range(4))
    x, t_x, n = (np.asarray(v, dtype=float)[None, :, None] for v in (x, t_x, n))
    base = special.betaln(alpha, beta) + special.betaln(gamma, delta)
    survived = special.betaln(alpha + x, beta + n - x) + special.betaln(gamma, delta + n)
    width = int(np.max(n - t_x)) if x.size else 0
    i = np.arange(width)
    died = (special.betaln(alpha + x, beta + t_x - x + i)
            + special.betaln(gamma + 1, delta + t_x + i))
    died = np.where(i < n - t_x, died, -np.inf)
    terms = np.concatenate([np.broadcast_to(survived, died.shape[:2] + (1,)), died], axis=-1)
    return (special.logsumexp(terms, axis=-1) - base[..., 0])
