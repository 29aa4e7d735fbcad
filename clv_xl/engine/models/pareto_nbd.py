"""Pareto/NBD model of repeat buying: Schmittlein, Morrison & Colombo (1987).

"Counting your customers: who are they and what will they do next?", Management
Science 33(1), 1-24; the expressions as derived in Fader, Hardie & Lee (2005),
"A note on deriving the Pareto/NBD model and related expressions" (note 009 on
brucehardie.com). While active, a client buys as a Poisson process with rate
lambda ~ Gamma(r, alpha); the client's lifetime is exponential with rate
mu ~ Gamma(s, beta), so dropout can happen at any moment, not only at a
purchase as in BG/NBD. Inputs as in ``bgnbd``: frequency x, recency t_x, T.

Equations (rho = r + s + x):

* L = Gamma(r+x) alpha^r beta^s / Gamma(r) [ (alpha+T)^-(r+x) (beta+T)^-s
  + s integral_{t_x}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau ]        (note 009, eq. 11)
  where the integral (death at tau between the last purchase and T) is, for
  alpha >= beta, [G(t_x) - G(T)] / rho with
  G(t) = (alpha+t)^-rho 2F1(rho, s+1; rho+1; (alpha-beta)/(alpha+t)), and
  with alpha and beta, r+x and s+1 swapped for alpha < beta.
* P(alive) = the first term of L over L                                       (note 009, eq. 18)
* E[Y(t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1))
  [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)                                  (note 009, eq. 22)
* E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]               (note 009, eq. 17)
* P(no purchase in (T, T+t]) = L(x, t_x, T+t) / L(x, t_x, T): the history
  extended by t with nothing bought, over the history.

Stability: everything is computed in logs, the difference G(t_x) - G(T) as
log G(t_x) + log1p(-G(T)/G(t_x)), the hypergeometric function after Euler's
transformation 2F1(rho, s+1; rho+1; z) = (1-z)^-s 2F1(1, rho-s; rho+1; z)
(a series of positive terms). Where recency is close to T (the differences
cancel, and where lifetimes returns NaN) or 2F1 overflows, the integral is
taken by Gauss-Legendre quadrature instead. The equation numbers of note 009
were not checked against the PDF.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._base import FittedModel
from ._data import compress
from ._fit import fit_log_params, scalar_or_array
from ._numeric import numeric_derivatives
from .bgnbd import _check_enough_data, _checked_data, _checked_horizon

PARAM_NAMES = ("r", "alpha", "s", "beta")
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)
_NEAR = -1e-3  # log(G(T)/G(t_x)) above this: the two terms nearly cancel, use quadrature


class ParetoNBD(FittedModel):
    """Pareto/NBD model; ``fit`` estimates r, alpha, s, beta by maximum likelihood.

    Build from known parameters with ``ParetoNBD(params={...})`` or
    ``ParetoNBD.from_params(r=..., alpha=..., s=..., beta=...)``.
    """

    MODEL = "Pareto/NBD"
    PARAM_NAMES = PARAM_NAMES

    def fit(self, frequency, recency, T, weights=None):
        """Maximum-likelihood estimates of r, alpha, s, beta; returns self.

        Maximises the sum of log L (module docstring, note 009 eq. 11) over
        distinct (frequency, recency, T) rows weighted by their count.
        Raises ModelFitError when the data cannot support a fit.
        """
        x, t_x, T = _checked_data(frequency, recency, T)
        data = compress(x, t_x, T, weights)
        n = float(data.weights.sum())
        n_repeat = float(data.weights[data.frequency > 0].sum())
        _check_enough_data(n, n_repeat, len(data.weights), self.MODEL)

        def negative(theta):
            ll = _loglik(*theta, data.frequency, data.recency, data.T)
            return -float(data.weights @ ll)

        mean_rate = float(np.dot(data.weights, data.frequency) / np.dot(data.weights, data.T))
        mean_T = float(np.dot(data.weights, data.T) / n)
        start = [1.0, 1.0 / max(mean_rate, 1e-6), 1.0, mean_T]
        result = fit_log_params(numeric_derivatives(negative), start, PARAM_NAMES, self.MODEL, n)
        self.params_ = dict(zip(PARAM_NAMES, map(float, result.params)))
        self.se_ = dict(zip(PARAM_NAMES, map(float, result.se)))
        self.loglik_ = result.loglik
        self.n_clients_ = int(round(n))
        self.n_iter_ = result.iterations
        return self

    def loglik(self, frequency, recency, T):
        """Per-client log-likelihood (note 009, eq. 11)."""
        x, t_x, T = _checked_data(frequency, recency, T)
        return scalar_or_array(_loglik(*self._theta(), x, t_x, T))

    def p_alive(self, frequency, recency, T):
        """Probability the client is still active at T (note 009, eq. 18): the part of the
        likelihood where the client outlives T, over the whole likelihood."""
        r, alpha, s, beta = self._theta()
        x, t_x, T = _checked_data(frequency, recency, T)
        log_first, log_both = _log_terms(r, alpha, s, beta, x, t_x, T)
        return scalar_or_array(np.exp(log_first - log_both))

    def conditional_expected_purchases(self, t, frequency, recency, T):
        """Expected purchases in (T, T+t] given the history (note 009, eq. 22):
        (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)."""
        r, alpha, s, beta = self._theta()
        t = _checked_horizon(t)
        x, t_x, T = _checked_data(frequency, recency, T)
        t, x, t_x, T = np.broadcast_arrays(t, x, t_x, T)
        alive = self.p_alive(x, t_x, T)
        years = _lifetime_integral(s, t / (beta + T))  # int_0^t of the survival, in (beta+T) units
        return scalar_or_array((r + x) / (alpha + T) * (beta + T) * years * alive)

    def expected_purchases_new(self, t):
        """Expected purchases in (0, t] by a new client (note 009, eq. 17):
        r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]."""
        r, alpha, s, beta = self._theta()
        t = _checked_horizon(t)
        return scalar_or_array(r / alpha * beta * _lifetime_integral(s, t / beta))

    def prob_no_purchase(self, t, frequency, recency, T):
        """Probability of no purchase in (T, T+t] given the history: L(x, t_x, T+t) / L(x, t_x, T),
        the likelihood of the history extended by t with nothing bought, over the history's."""
        theta = self._theta()
        t = _checked_horizon(t)
        x, t_x, T = _checked_data(frequency, recency, T)
        t, x, t_x, T = np.broadcast_arrays(t, x, t_x, T)
        ratio = np.exp(_loglik(*theta, x, t_x, T + t) - _loglik(*theta, x, t_x, T))
        return scalar_or_array(np.clip(ratio, 0.0, 1.0))

    def sample(self, T, seed=None):
        """Draw (frequency, recency) for clients observed for T: lambda ~ Gamma(r, alpha),
        mu ~ Gamma(s, beta), lifetime ~ Exponential(mu), purchases Poisson while alive
        (Schmittlein, Morrison & Colombo 1987, assumptions i-v)."""
        r, alpha, s, beta = self._theta()
        rng = np.random.default_rng(seed)
        T = np.asarray(T, dtype=float)
        lam = rng.gamma(r, 1.0 / alpha, size=T.shape)
        lifetime = rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, size=T.shape))
        active = np.minimum(lifetime, T)
        x = rng.poisson(lam * active).astype(float)
        t_x = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1.0), 0.0)
        return x, t_x


def _lifetime_integral(s, z):
    """[1 - (1+z)^-(s-1)] / (s-1), and log1p(z) at s = 1: the expected alive time, scaled."""
    z = np.asarray(z, dtype=float)
    if abs(s - 1.0) < 1e-9:
        return np.log1p(z)
    return -np.expm1(-(s - 1.0) * np.log1p(z)) / (s - 1.0)


def _loglik(r, alpha, s, beta, x, t_x, T):
    _, log_both = _log_terms(r, alpha, s, beta, x, t_x, T)
    return (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
            + log_both)


def _log_terms(r, alpha, s, beta, x, t_x, T):
    """log of the likelihood's two terms' first (alive at T) and of their sum, without the constants."""
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    log_first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_dead = np.log(s) + _log_integral(r, alpha, s, beta, x, t_x, T)
    return log_first, np.logaddexp(log_first, log_dead)


def _log_integral(r, alpha, s, beta, x, t_x, T):
    """log of the integral over tau in (t_x, T] of (alpha+tau)^-(r+x) (beta+tau)^-(s+1)."""
    rho = r + s + x
    if alpha >= beta:
        big, small, shape = alpha, beta, s + 1.0
    else:
        big, small, shape = beta, alpha, r + x
    with np.errstate(all="ignore"):
        log_g_tx = _log_g(rho, shape, big, small, t_x)
        log_g_T = _log_g(rho, shape, big, small, T)
        gap = log_g_T - log_g_tx
        closed = log_g_tx + np.log(-np.expm1(gap)) - np.log(rho)
    use_quadrature = ~np.isfinite(closed) | (gap > _NEAR)
    out = np.where(use_quadrature, -np.inf, closed)  # -inf: t_x = T, nothing to integrate
    some = use_quadrature & (T > t_x)
    if some.any():
        out[some] = _log_integral_quadrature(r, alpha, s, beta, x[some], t_x[some], T[some])
    return out


def _log_g(rho, shape, big, small, t):
    """log[(big+t)^-rho 2F1(rho, shape; rho+1; z)], z = (big-small)/(big+t), by Euler's
    transformation: 2F1(rho, shape; rho+1; z) = (1-z)^(1-shape) 2F1(1, rho+1-shape; rho+1; z)."""
    z = (big - small) / (big + t)
    series = special.hyp2f1(1.0, rho + 1.0 - shape, rho + 1.0, z)
    return -rho * np.log(big + t) + (1.0 - shape) * np.log1p(-z) + np.log(series)


def _log_integral_quadrature(r, alpha, s, beta, x, t_x, T):
    """The same integral by 32-point Gauss-Legendre, in logs.

    With m = r + x - 1 > 1/2 (a peaked integrand: heavy buyers) the variable is
    p = ((alpha+tau)/(alpha+t_x))^-m, which turns (alpha+tau)^-(r+x) dtau into
    (alpha+t_x)^-m dp / m and leaves only the slowly varying (beta+tau)^-(s+1)
    to integrate; otherwise tau itself. About 1e-5 relative against the closed
    form (tests/test_models_pareto_nbd.py), which is used wherever it is finite.
    """
    out = np.empty(len(x))
    m = r + x - 1.0
    peaked = m > 0.5
    if peaked.any():
        mp, y0 = m[peaked], np.log(alpha + t_x[peaked])
        log_p_min = -mp * (np.log(alpha + T[peaked]) - y0)
        width = -np.expm1(log_p_min)  # 1 - p_min
        p = 1.0 - width[:, None] * (1.0 - _NODES[None, :]) / 2.0
        tau = np.exp(y0[:, None] - np.log(p) / mp[:, None]) - alpha
        log_f = -(s + 1.0) * np.log(beta + tau)
        total = special.logsumexp(log_f + np.log(_WEIGHTS)[None, :], axis=1)
        out[peaked] = total + np.log(width / 2.0) - mp * y0 - np.log(mp)
    flat = ~peaked
    if flat.any():
        half = (T[flat] - t_x[flat])[:, None] / 2.0
        tau = t_x[flat][:, None] + half * (_NODES[None, :] + 1.0)
        log_f = -(r + x[flat])[:, None] * np.log(alpha + tau) - (s + 1.0) * np.log(beta + tau)
        out[flat] = (special.logsumexp(log_f + np.log(_WEIGHTS)[None, :], axis=1)
                     + np.log(half[:, 0]))
    return out
