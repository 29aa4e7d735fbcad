"""Gamma-Gamma model of spend per transaction.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
base analysis", Journal of Marketing Research 42(4), 415-430, and Fader &
Hardie (2013), "The Gamma-Gamma model of monetary value" (note). A client's
transaction values are Gamma(p, nu); nu ~ Gamma(q, gamma) across clients.
The model is fitted on repeat clients only: x = number of repeat purchases,
m = their mean value.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

from ._data import distinct_with_weights
from ._base import checked_params
from ._fit import ModelFitError, as_float_array, fit_log_params, scalar_or_array

PARAM_NAMES = ("p", "q", "gamma")
MIN_CLIENTS = 10


class GammaGamma:
    """Gamma-Gamma spend model; ``fit`` estimates p, q, gamma by maximum likelihood.

    Build from known parameters with ``GammaGamma(params={...})`` or
    ``GammaGamma.from_params(p=..., q=..., gamma=...)``.
    """

    def __init__(self, params: dict | None = None):
        self.params_ = None
        self.se_ = None
        self.loglik_ = None
        self.n_clients_ = None
        self.n_iter_ = None
        self.n_excluded_ = None
        self.notes_ = []
        if params is not None:
            self.params_ = checked_params(params, PARAM_NAMES, "Gamma-Gamma")

    @classmethod
    def from_params(cls, p: float, q: float, gamma: float) -> "GammaGamma":
        """A model with known parameters, without fitting."""
        return cls(params={"p": p, "q": q, "gamma": gamma})

    def __repr__(self) -> str:
        if self.params_ is None:
            return "GammaGamma()"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"GammaGamma({shown})"

    def fit(self, frequency, monetary_value, weights=None) -> "GammaGamma":
        """Maximum-likelihood estimates of p, q, gamma.

        Maximises the sum of the log marginal density of the mean spend,
        Fader & Hardie (2013) note, eq. (4) (the f(m_x | p, q, gamma, x) of
        Fader, Hardie & Lee 2005). Clients with no repeat purchase or a mean
        spend <= 0 (e.g. net of refunds) are left out, counted in ``n_excluded_``
        and explained in ``notes_`` (a list of sentences); they never make the
        fit fail by themselves.
        """
        x = as_float_array(frequency, "frequency").ravel()
        m = as_float_array(monetary_value, "monetary_value").ravel()
        w = np.ones_like(x) if weights is None else as_float_array(weights, "weights").ravel()
        if not (len(x) == len(m) == len(w)):
            raise ValueError("frequency, monetary_value and weights must have the same length")
        keep = (x > 0) & (m > 0) & (w > 0)
        self.n_excluded_ = int(np.sum(~keep))
        self.notes_ = _exclusion_notes(x, m, w)
        x, m, w = x[keep], m[keep], w[keep]
        n = float(w.sum())
        if n < MIN_CLIENTS:
            raise ModelFitError(
                f"too few repeat clients with positive spend to fit Gamma-Gamma: {n:g} "
                f"({self.n_excluded_} excluded); need at least {MIN_CLIENTS}"
            )
        if np.ptp(m) == 0:
            raise ModelFitError("cannot fit Gamma-Gamma: every client has the same mean spend")

        spends = _spends(x, m, w)

        def negative(theta):
            ll, grad, hess = _loglik_derivatives(theta, spends)
            return -(w @ ll), -grad, -hess

        mean_spend = float(np.dot(w, m) / n)
        start = [1.0, 2.0, mean_spend]
        result = fit_log_params(negative, start, PARAM_NAMES, "Gamma-Gamma", n)
        self.params_ = dict(zip(PARAM_NAMES, map(float, result.params)))
        self.se_ = dict(zip(PARAM_NAMES, map(float, result.se)))
        self.loglik_ = result.loglik
        self.n_clients_ = int(round(n))
        self.n_iter_ = result.iterations
        return self

    def loglik(self, frequency, monetary_value):
        """Per-client log density of the mean spend, Fader & Hardie (2013) note, eq. (4)."""
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        x, m = np.broadcast_arrays(x, m)
        ll, _, _ = _loglik_derivatives(self._theta(), _spends(x, m), order=0)
        return scalar_or_array(ll.reshape(x.shape))

    def conditional_expected_average_profit(self, frequency, monetary_value):
        """Expected spend per transaction given x repeat purchases of mean m.

        Fader & Hardie (2013) note, eq. (5); Fader, Hardie & Lee (2005), eq. (5):
        (gamma + m x) p / (p x + q - 1), a weighted mean of the population
        mean p gamma / (q - 1) and the client's own mean m. A client with
        x = 0 gets the population mean (needs q > 1).
        """
        p, q, gamma = self._theta()
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        x, m = np.broadcast_arrays(x, m)
        m = np.where(x > 0, m, 0.0)
        return scalar_or_array((gamma + m * x) * p / (p * x + q - 1.0))

    def expected_average_profit(self):
        """Population mean spend per transaction, p gamma / (q - 1) (needs q > 1)."""
        p, q, gamma = self._theta()
        return float(p * gamma / (q - 1.0)) if q > 1 else float("inf")

    def _theta(self) -> np.ndarray:
        if self.params_ is None:
            raise ValueError("GammaGamma has no parameters: call fit() or use from_params()")
        return np.array([self.params_[k] for k in PARAM_NAMES])


def _exclusion_notes(x, m, w) -> list:
    """Readable sentences on the rows left out of a Gamma-Gamma fit."""
    reasons = [
        ((w > 0) & (x == 0), "with no repeat purchase (the model needs at least one)"),
        ((w > 0) & (x > 0) & (m == 0), "with a mean repeat spend of 0"),
        ((w > 0) & (x > 0) & (m < 0), "with a negative mean repeat spend (refunds "
                                      "exceeding purchases)"),
        (w <= 0, "with a weight of 0 or less"),
    ]
    notes = []
    for mask, why in reasons:
        count = int(mask.sum())
        if count:
            noun = "client" if count == 1 else "clients"
            notes.append(f"{count:,} {noun} {why} left out of the Gamma-Gamma fit")
    return notes


class _Spends(NamedTuple):
    """Repeat clients' (x, mean spend m) prepared for the likelihood: the Gamma functions
    depend on the data only through x, which takes few distinct values, so they are
    evaluated once per distinct x and gathered back with ``which``."""

    x: np.ndarray
    m: np.ndarray
    weights: np.ndarray
    distinct_x: np.ndarray
    which: np.ndarray  # x == distinct_x[which]
    weight_per_x: np.ndarray  # summed weights per distinct x


def _spends(x, m, weights=None) -> _Spends:
    x, m = (np.asarray(v, dtype=float).ravel() for v in (x, m))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    return _Spends(x, m, w, *distinct_with_weights(x, w))


def _loglik_derivatives(theta, data: _Spends, order: int = 2):
    """log f(m | p, q, gamma, x) per client, and the weighted sums of its gradient and Hessian.

    f = Gamma(px+q) / (Gamma(px) Gamma(q)) gamma^q x^(px) m^(px-1) / (gamma + x m)^(px+q).
    Returns (ll, gradient (3), Hessian (3 x 3)) of sum(weights * ll) in (p, q, gamma);
    the last two are None below ``order`` 1 and 2.
    """
    p, q, gamma = theta
    x, m, w, ux, which = data.x, data.m, data.weights, data.distinct_x, data.which
    px = p * x
    log_gxm = np.log(gamma + x * m)
    ll = ((special.gammaln(p * ux + q) - special.gammaln(p * ux))[which] - special.gammaln(q)
          + q * np.log(gamma) + px * np.log(x) + (px - 1.0) * np.log(m) - (px + q) * log_gxm)
    if order < 1:
        return ll, None, None
    n, W_j = w.sum(), data.weight_per_x
    d_pxq = special.digamma(p * ux + q)
    inv_gxm = 1.0 / (gamma + x * m)
    wx = w * x
    grad = np.array([
        (W_j * ux) @ (d_pxq - special.digamma(p * ux)) + wx @ (np.log(x * m) - log_gxm),
        W_j @ d_pxq - w @ log_gxm + n * (np.log(gamma) - special.digamma(q)),
        n * q / gamma - w @ ((px + q) * inv_gxm),
    ])
    if order < 2:
        return ll, grad, None
    tg_pxq = special.zeta(2.0, p * ux + q)  # trigamma, as polygamma(1, .)
    hess = np.empty((3, 3))
    hess[0, 0] = (W_j * ux ** 2) @ (tg_pxq - special.zeta(2.0, p * ux))
    hess[0, 1] = hess[1, 0] = (W_j * ux) @ tg_pxq
    hess[0, 2] = hess[2, 0] = -wx @ inv_gxm
    hess[1, 1] = W_j @ tg_pxq - n * special.zeta(2.0, q)
    hess[1, 2] = hess[2, 1] = n / gamma - w @ inv_gxm
    hess[2, 2] = -n * q / gamma ** 2 + w @ ((px + q) * inv_gxm ** 2)
    return ll, grad, hess
