"""BG/NBD model of repeat buying: Fader, Hardie & Lee (2005).

"Counting your customers the easy way: an alternative to the Pareto/NBD
model", Marketing Science 24(2), 275-284. While active, a client buys as a
Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase the
client drops out with probability p ~ Beta(a, b).

Inputs follow the paper: ``frequency`` x = number of repeat purchases,
``recency`` t_x = time of the last purchase, ``T`` = time since the first
purchase, all in the model's time unit (e.g. weeks) measured from the first
purchase.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

from ..units import UNIT_DAYS
from ._data import compress, distinct_with_weights
from ._threads import one_blas_thread
from ._base import checked_params
from ._fit import ModelFitError, as_float_array, fit_log_params, scalar_or_array

PARAM_NAMES = ("r", "alpha", "a", "b")
MIN_CLIENTS = 10
MIN_REPEAT_CLIENTS = 5
UNIT_NAMES = {days: name for name, days in UNIT_DAYS.items()}


class BetaGeo:
    """BG/NBD model; ``fit`` estimates r, alpha, a, b by maximum likelihood.

    Build from known parameters with ``BetaGeo(params={...})`` or
    ``BetaGeo.from_params(r=..., alpha=..., a=..., b=...)``.

    ``time_unit_days`` (optional, e.g. 7.0 for weeks) records the unit of
    recency, T, t and alpha; ``model_clv`` uses it when given no unit.
    """

    MODEL = "BG/NBD"
    # Dropout chances per client are x + DROPOUT_SHIFT: BG/NBD after each repeat purchase
    # (x), MBG/NBD also right after the first purchase (x + 1). Everything that differs
    # between the two models goes through this one number (see _loglik_derivatives).
    DROPOUT_SHIFT = 0

    def __init__(self, params: dict | None = None, time_unit_days: float | None = None):
        self.params_ = None
        self.se_ = None
        self.loglik_ = None
        self.n_clients_ = None
        self.n_iter_ = None
        self.time_unit_days = _checked_unit(time_unit_days)
        if params is not None:
            self.params_ = checked_params(params, PARAM_NAMES, self.MODEL)

    @classmethod
    def from_params(cls, r: float, alpha: float, a: float, b: float,
                    time_unit_days: float | None = None):
        """A model with known parameters, without fitting."""
        return cls(params={"r": r, "alpha": alpha, "a": a, "b": b}, time_unit_days=time_unit_days)

    @property
    def time_unit(self) -> str:
        """The time unit in words: "weeks", "days", "months", "N days" or "unspecified"."""
        return unit_name(self.time_unit_days)

    def __repr__(self) -> str:
        name = type(self).__name__
        if self.params_ is None:
            return f"{name}()"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{name}({shown}; time unit {self.time_unit})"

    # ------------------------------------------------------------------ fit
    def fit(self, frequency, recency, T, weights=None, time_unit_days: float | None = None):
        """Maximum-likelihood estimates of r, alpha, a, b; returns self.

        Maximises the sum of Fader, Hardie & Lee (2005), eq. (6) in log form,
        over distinct (frequency, recency, T) rows weighted by their count.
        Raises ModelFitError when the data cannot support a fit.
        """
        x, t_x, T = _checked_data(frequency, recency, T)
        data = compress(x, t_x, T, weights)
        n = float(data.weights.sum())
        n_repeat = float(data.weights[data.frequency > 0].sum())
        _check_enough_data(n, n_repeat, len(data.weights), self.MODEL)
        histories = _histories(data.frequency, data.recency, data.T, self.DROPOUT_SHIFT,
                               data.weights)

        def negative(theta):
            ll, grad, hess = _loglik_derivatives(theta, histories)
            return -(data.weights @ ll), -grad, -hess

        mean_rate = float(np.dot(data.weights, data.frequency) / np.dot(data.weights, data.T))
        start = [1.0, 1.0 / max(mean_rate, 1e-6), 1.0, 1.0]
        result = fit_log_params(negative, start, PARAM_NAMES, self.MODEL, n)
        self.params_ = dict(zip(PARAM_NAMES, map(float, result.params)))
        self.se_ = dict(zip(PARAM_NAMES, map(float, result.se)))
        self.loglik_ = result.loglik
        self.n_clients_ = int(round(n))
        self.n_iter_ = result.iterations
        if time_unit_days is not None:
            self.time_unit_days = _checked_unit(time_unit_days)
        return self

    # ---------------------------------------------------------- likelihood
    def loglik(self, frequency, recency, T):
        """Per-client log-likelihood, Fader, Hardie & Lee (2005), eq. (6)."""
        x, t_x, T = _checked_data(frequency, recency, T)
        shape = x.shape
        histories = _histories(x, t_x, T, self.DROPOUT_SHIFT)
        ll, _, _ = _loglik_derivatives(self._theta(), histories, order=0)
        return scalar_or_array(ll.reshape(shape))

    # --------------------------------------------------------- predictions
    def p_alive(self, frequency, recency, T):
        """Probability the client is still active at T.

        Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD
        model", eq. (2): 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).
        """
        r, alpha, a, b = self._theta()
        x, t_x, T = _checked_data(frequency, recency, T)
        return scalar_or_array(_p_alive(r, alpha, a, b, x, t_x, T, self.DROPOUT_SHIFT))

    @one_blas_thread
    def conditional_expected_purchases(self, t, frequency, recency, T):
        """Expected purchases in (T, T+t] given the history (x, t_x, T).

        Fader, Hardie & Lee (2005), eq. (10).
        """
        r, alpha, a, b = self._theta()
        t = _checked_horizon(t)
        x, t_x, T = _checked_data(frequency, recency, T)
        t, x, t_x, T = np.broadcast_arrays(t, x, t_x, T)
        k = x + self.DROPOUT_SHIFT
        if_alive = _expected_if_alive(r, alpha, a, b, x, T, t, k)
        return scalar_or_array(if_alive * _p_alive(r, alpha, a, b, x, t_x, T, self.DROPOUT_SHIFT))

    def expected_purchases_new(self, t):
        """Expected purchases in (0, t] by a newly acquired client.

        Fader, Hardie & Lee (2005), eq. (7).
        """
        t = _checked_horizon(t)
        zero = np.zeros_like(t)
        return self.conditional_expected_purchases(t, zero, zero, zero)

    def prob_purchases(self, n, t):
        """P(X(t) = n): the chance a new client makes exactly n repeat purchases in (0, t].

        Fader, Hardie & Lee (2005), eq. (8): with NB_j = Gamma(r+j)/(Gamma(r) j!)
        (alpha/(alpha+t))^r (t/(alpha+t))^j the count while active,
        B(a, b+n)/B(a, b) NB_n + [n>0] B(a+1, b+n-1)/B(a, b) (1 - sum_{j<n} NB_j).
        MBG/NBD: the same with n+1 dropout chances (b+n+1 and b+n), for every n.
        """
        r, alpha, a, b = self._theta()
        t = _checked_horizon(t)
        n = _checked_count(n)
        n, t = np.broadcast_arrays(n, t)
        return scalar_or_array(_eq8(n, t, r, alpha, a, b, self.DROPOUT_SHIFT))

    def conditional_prob_purchases(self, n, t, frequency, recency, T):
        """P(X(T, T+t) = n | x, t_x, T): the chance of exactly n purchases in the next t,
        given the client's history.

        Fader, Hardie & Lee (2007), "Deriving the conditional PMF of purchases" (the note to
        the 2005 BG/NBD paper): a client dead at T buys nothing; one alive at T has the
        posterior lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+k) (k = x dropout chances
        survived; x + 1 for MBG/NBD) and from T on buys as a new BG/NBD client does (a dropout
        chance after each purchase), so
        P = [n=0] (1 - P(alive)) + P(alive) eq8(n, t; r+x, alpha+T, a, b+k),
        eq8 being ``prob_purchases``' BG/NBD formula with those parameters. Summed over the
        note's two terms this is the note's expression divided by the likelihood eq. (6).
        """
        r, alpha, a, b = self._theta()
        t = _checked_horizon(t)
        n = _checked_count(n)
        x, t_x, T = _checked_data(frequency, recency, T)
        n, t, x, t_x, T = np.broadcast_arrays(n, t, x, t_x, T)
        alive = _p_alive(r, alpha, a, b, x, t_x, T, self.DROPOUT_SHIFT)
        with np.errstate(all="ignore"):
            future = _eq8(n, t, r + x, alpha + T, a, b + x + self.DROPOUT_SHIFT, 0)
        return scalar_or_array(np.where(n == 0, 1.0 - alive, 0.0) + alive * future)

    def prob_no_purchase(self, t, frequency, recency, T):
        """Probability of no purchase in (T, T+t] given the history: a churn measure.

        A dead client buys nothing; an active one buys nothing in t with
        probability E[exp(-lambda t)] under the posterior lambda ~ Gamma(r+x,
        alpha+T) (Fader, Hardie & Lee 2005, eq. (10)'s derivation), so
        P = 1 - P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)), with P(alive)
        as in ``p_alive``. Falls from 1 at t = 0 towards 1 - P(alive).
        """
        r, alpha, a, b = self._theta()
        t = _checked_horizon(t)
        x, t_x, T = _checked_data(frequency, recency, T)
        t, x, t_x, T = np.broadcast_arrays(t, x, t_x, T)
        # 1 - alive (1 - q) = (odds + q) / (1 + odds), with P(alive) = 1 / (1 + odds) and
        # q = P(no purchase | alive): no difference of nearly equal numbers, so a chance far
        # below 1e-16 (a heavy buyer over a long horizon) keeps its digits instead of
        # rounding to 0.
        odds = _dropout_odds(r, alpha, a, b, x, t_x, T, self.DROPOUT_SHIFT)
        q = np.exp(-(r + x) * np.log1p(t / (alpha + T)))
        with np.errstate(invalid="ignore", over="ignore"):
            silent = np.where(np.isinf(odds), 1.0, (odds + q) / (1.0 + odds))
        return scalar_or_array(np.clip(silent, 0.0, 1.0))

    def sample(self, T, seed=None):
        """Draw (frequency, recency) for clients observed for T, from the model.

        The generative process of Fader, Hardie & Lee (2005), section 3,
        assumptions (i)-(v): lambda ~ Gamma(r, alpha), p ~ Beta(a, b); the
        client drops out after each repeat purchase with probability p.
        Given N(T) = k Poisson arrivals and x = min(k, D) purchases before
        dropout D ~ Geometric(p), t_x is the x-th of k uniform order
        statistics on (0, T): T * Beta(x, k - x + 1).
        """
        r, alpha, a, b = self._theta()
        rng = np.random.default_rng(seed)
        T = np.asarray(T, dtype=float)
        lam = rng.gamma(r, 1.0 / alpha, size=T.shape)
        p = rng.beta(a, b, size=T.shape)
        arrivals = rng.poisson(lam * T)
        # Dropout chance number D ~ Geometric(p) on 1, 2, ...: BG/NBD's first chance
        # follows repeat purchase 1, MBG/NBD's follows the first purchase (shift 1).
        last_purchase = rng.geometric(p) - self.DROPOUT_SHIFT
        x = np.minimum(arrivals, last_purchase)
        repeat = x > 0
        t_x = np.zeros_like(T)
        t_x[repeat] = T[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
        return x.astype(float), t_x

    def _theta(self) -> np.ndarray:
        if self.params_ is None:
            raise ValueError(f"{type(self).__name__} has no parameters: call fit() or use "
                             "from_params()")
        return np.array([self.params_[k] for k in PARAM_NAMES])


# ---------------------------------------------------------------- helpers
def _checked_unit(time_unit_days):
    if time_unit_days is None:
        return None
    unit = float(time_unit_days)
    if not (np.isfinite(unit) and unit > 0):
        raise ValueError("time_unit_days must be a positive number of days (7 for weeks)")
    return unit


def unit_name(time_unit_days) -> str:
    """"weeks" for 7, "days" for 1, "months" for 365.25/12, else "N days"; "unspecified" for None."""
    if time_unit_days is None:
        return "unspecified"
    for days, name in UNIT_NAMES.items():
        if abs(time_unit_days - days) < 1e-9:
            return name
    return f"{time_unit_days:g} days"


def _checked_horizon(t) -> np.ndarray:
    t = as_float_array(t, "t")
    if np.any(t < 0):
        raise ValueError("t must be 0 or more")
    return t


def _checked_data(frequency, recency, T):
    """(x, t_x, T) as float arrays of one shape; ValueError naming the first bad input."""
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                      for v in (frequency, recency, T)))
    if x.size and _plainly_valid(x, t_x, T):
        return x, t_x, T
    return _checked_data_one_by_one(frequency, recency, T)


def _plainly_valid(x, t_x, T) -> bool:
    """All finite, x whole and >= 0, 0 <= t_x <= T: by reductions (NaN fails every
    comparison), without an array of flags per check."""
    return bool(x.min() >= 0 and x.max() < np.inf and t_x.min() >= 0 and T.max() < np.inf
                and not np.any(t_x > T) and np.array_equal(x, np.round(x)))


def _checked_data_one_by_one(frequency, recency, T):
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    T = as_float_array(T, "T")
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a whole number >= 0")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("recency must lie between 0 and T")
    return x, t_x, T


def _checked_count(n) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    if np.any(~np.isfinite(n)) or np.any(n < 0) or np.any(n != np.round(n)):
        raise ValueError("n must be a whole number of purchases, 0 or more")
    return n


def _eq8(n, t, r, alpha, a, b, shift):
    """Fader, Hardie & Lee (2005), eq. (8), P(X(t) = n) for a new client, elementwise over
    arrays n, t, r, alpha, b (k = n + shift dropout chances: 0 BG/NBD, 1 MBG/NBD)."""
    n, t, r, alpha, b = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                              for v in (n, t, r, alpha, b)))
    k = n + shift
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = r * np.log(alpha / (alpha + t))
        log_p = np.log(t / (alpha + t))  # -inf at t = 0, where only n = 0 has a chance
        term = np.where(n == 0, 0.0, n * log_p)
    log_nb = special.gammaln(r + n) - special.gammaln(r) - special.gammaln(n + 1) + log_q + term
    base = special.betaln(a, b)
    alive = np.exp(special.betaln(a, b + k) - base + log_nb)
    # sum_{j<n} NB_j = P(NB < n) = I_{alpha/(alpha+t)}(r, n), the regularised incomplete beta
    below = np.zeros(n.shape)
    some = n > 0
    below[some] = special.betainc(r[some], n[some], (alpha / (alpha + t))[some])
    dropped = np.where(k > 0, np.exp(special.betaln(a + 1, b + np.maximum(k, 1) - 1) - base), 0.0)
    return alive + dropped * (1.0 - below)


def _check_enough_data(n: float, n_repeat: float, n_distinct: int = 2,
                       model: str = "BG/NBD") -> None:
    if n < MIN_CLIENTS:
        raise ModelFitError(
            f"too few clients to fit {model}: {n:g}; need at least {MIN_CLIENTS}"
        )
    if n_repeat < MIN_REPEAT_CLIENTS:
        raise ModelFitError(
            f"too few repeat clients to fit {model}: {n_repeat:g} of {n:g} clients "
            f"bought again; need at least {MIN_REPEAT_CLIENTS}"
        )
    if n_distinct < 2:
        raise ModelFitError(
            f"cannot fit {model}: all {n:g} clients have the same history (frequency, "
            "recency, T); the data cannot identify the parameters"
        )


class _Histories(NamedTuple):
    """Client histories prepared for the likelihood: rows, weights and distinct frequencies.

    Everything in eq. (6) that involves a Gamma function depends on the data only
    through x (and k = x + shift), which takes few distinct values, so the special
    functions are evaluated once per distinct x and gathered back with ``which``.
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    shift: int  # dropout chances k = x + shift: 0 for BG/NBD, 1 for MBG/NBD
    distinct_x: np.ndarray
    which: np.ndarray  # x == distinct_x[which]
    weight_per_x: np.ndarray  # summed weights per distinct x


def _histories(x, t_x, T, shift=0, weights=None) -> _Histories:
    x, t_x, T = (np.asarray(v, dtype=float).ravel() for v in (x, t_x, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    return _Histories(x, t_x, T, w, shift, *distinct_with_weights(x, w))


def _loglik_derivatives(theta, h: _Histories, order: int = 2):
    """Eq. (6) per client, and the weighted sums of its gradient and Hessian.

    Returns (ll, gradient, hessian): ll per client (n), the gradient (4) and the
    Hessian (4 x 4) of sum(weights * ll) in (r, alpha, a, b); the last two are
    None below ``order`` 1 and 2. Per client, L = Gamma(r+x) alpha^r / Gamma(r) (A + [k>0] B),
    A = B(a, b+k)/B(a, b) (alpha+T)^-(r+x), B = B(a+1, b+k-1)/B(a, b) (alpha+t_x)^-(r+x),
    so with w_A, w_B = A, B / (A + B):

    - d log(A+B) = w_A d log A + w_B d log B;
    - d2 log(A+B) = w_A d2 log A + w_B d2 log B + w_A w_B D D', with
      D = d log A - d log B = (log((alpha+t_x)/(alpha+T)), (r+x)(1/(alpha+t_x) - 1/(alpha+T)),
      -1/a, 1/(b+k-1)).

    ``k`` is the number of dropout chances: k = x for BG/NBD (eq. 6 as printed);
    k = x + 1 gives the MBG/NBD likelihood (Batislam, Denizel & Filiztekin 2007,
    with Wagner & Hoppe's 2008 erratum). The gamma part (r, alpha, x, t_x, T) is
    the same in both models; only the beta part sees k.
    """
    r, alpha, a, b = theta
    x, t_x, T, w = h.x, h.t_x, h.T, h.weights
    # per distinct x (index j): the Gamma-function parts
    ux, uk = h.distinct_x, h.distinct_x + h.shift
    repeat = uk > 0
    bk1 = b + np.where(repeat, uk, 1.0) - 1.0  # b+k-1 where k > 0 (b otherwise, unused)
    lg_abk = special.gammaln(a + b + uk)
    log_A_j = special.gammaln(b + uk) - lg_abk
    log_B_j = np.where(repeat, np.log(a) + special.gammaln(bk1) - lg_abk, -np.inf)
    # per client
    rx = r + x
    log_at, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    log_A = log_A_j[h.which] - rx * log_at
    log_B = log_B_j[h.which] - rx * log_atx
    log_sum = np.logaddexp(log_A, log_B)
    ll = (special.gammaln(r + ux)[h.which] - special.gammaln(r) + r * np.log(alpha)
          + special.gammaln(a + b) - special.gammaln(b) + log_sum)
    if order < 1:
        return ll, None, None

    w_B = np.exp(log_B - log_sum)
    w_A = 1.0 - w_B
    n, W_j = w.sum(), h.weight_per_x
    wB = w * w_B
    WB_j = np.bincount(h.which, weights=wB, minlength=len(ux))
    WA_j = W_j - WB_j
    dg = special.digamma
    inv_at, inv_atx = 1.0 / (alpha + T), 1.0 / (alpha + t_x)
    mix_inv = w_A * inv_at + w_B * inv_atx
    grad = np.array([
        W_j @ dg(r + ux) + n * (np.log(alpha) - dg(r)) - w @ (log_at + w_B * (log_atx - log_at)),
        n * r / alpha - (w * rx) @ mix_inv,
        n * dg(a + b) - W_j @ dg(a + b + uk) + wB.sum() / a,
        n * (dg(a + b) - dg(b)) - W_j @ dg(a + b + uk) + WA_j @ dg(b + uk) + WB_j @ dg(bk1),
    ])
    if order < 2:
        return ll, grad, None

    def tg(y):  # trigamma: polygamma(1, y) = Hurwitz zeta(2, y), without polygamma's overhead
        return special.zeta(2.0, y)

    tg_ab, tg_abk = tg(a + b), W_j @ tg(a + b + uk)
    hess = np.zeros((4, 4))
    hess[0, 0] = W_j @ tg(r + ux) - n * tg(r)
    hess[0, 1] = n / alpha - w @ mix_inv
    hess[1, 1] = (w * rx) @ (w_A * inv_at ** 2 + w_B * inv_atx ** 2) - n * r / alpha ** 2
    hess[2, 3] = n * tg_ab - tg_abk
    hess[2, 2] = hess[2, 3] - wB.sum() / a ** 2
    hess[3, 3] = n * (tg_ab - tg(b)) - tg_abk + WA_j @ tg(b + uk) + WB_j @ tg(bk1)
    hess[1, 0], hess[3, 2] = hess[0, 1], hess[2, 3]
    D = np.vstack([log_atx - log_at, rx * (inv_atx - inv_at),
                   np.full_like(x, -1.0 / a), (1.0 / bk1)[h.which]])
    hess += (D * (wB * w_A)) @ D.T
    return ll, grad, hess


def _dropout_odds(r, alpha, a, b, x, t_x, T, shift):
    """(1 - P(alive)) / P(alive) = [k>0] a/(b+k-1) ((alpha+T)/(alpha+t_x))^(r+x), k = x + shift
    (inf where it overflows: the client is gone to double precision)."""
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    k = x + shift
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        odds = a / np.where(k > 0, b + k - 1.0, 1.0) * np.power((alpha + T) / (alpha + t_x), r + x)
    return np.where(k > 0, odds, 0.0)


def _p_alive(r, alpha, a, b, x, t_x, T, shift):
    """P(alive) = 1 / (1 + [k>0] a/(b+k-1) ((alpha+T)/(alpha+t_x))^(r+x)), k = x + shift
    dropout chances (as in _loglik_derivatives). For heavy buyers the power overflows to
    infinity and P(alive) is 0, as it is to double precision; computed in place, one array
    at a time (elementwise only: no BLAS, so no thread limit)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        odds = np.asarray(np.add(alpha, T))  # an array even for one client
        odds /= np.add(alpha, t_x)
        np.power(odds, np.add(r, x), out=odds)
        factor = np.asarray(np.add(x, b - 1.0 + shift))
        np.divide(a, factor, out=factor)
        odds *= factor
        odds += 1.0
        alive = np.reciprocal(odds, out=odds)
    if shift == 0:  # BG/NBD: no dropout chance before the first repeat purchase
        alive[x == 0] = 1.0
    return alive


# The closed form (scipy's 2F1, or its series for short horizons) is used for
# a <= CLOSED_FORM_MAX_A and b + k <= CLOSED_FORM_MAX_B, where it matches a 50-digit reference
# to ~1e-12 relative, horizons down to t = 1e-9 included (tests/test_models_bgnbd.py); elsewhere (e.g. a ~ 1e5, b ~ 1e6: almost no
# heterogeneity in dropout) 2F1 overflows or loses digits, and the quadrature takes over.
CLOSED_FORM_MAX_A = 20.0
CLOSED_FORM_MAX_B = 1e4


def _expected_if_alive(r, alpha, a, b, x, T, t, k):
    """E[purchases in (T, T+t] | history, alive at T]: eq. (10) without P(alive).

    (a+b+k-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+k; a+b+k-1; t/(alpha+T+t))]
    (k = x for BG/NBD, x + 1 for MBG/NBD). Equivalently E_p[g(p)] over the posterior
    p ~ Beta(a, b+k) of the dropout probability, with
    g(p) = (1 - (1 + p t/(alpha+T))^-(r+x)) / p: given p and lambda ~ Gamma(r+x, alpha+T),
    an active client makes (1 - exp(-lambda p t)) / p purchases on average. Uses the
    closed form where scipy's 2F1 is accurate (moderate a and b, see CLOSED_FORM_MAX_A)
    and the quadrature ``_expected_if_alive_quad`` elsewhere or where 2F1 fails.
    """
    r, alpha, a, b = (float(v) for v in (r, alpha, a, b))
    x, T, t, k = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T, t, k)))
    out = np.full(x.shape, np.nan)
    closed = (a <= CLOSED_FORM_MAX_A) & (b + k <= CLOSED_FORM_MAX_B) & (abs(a - 1.0) > 1e-3)
    if np.any(closed):
        with np.errstate(all="ignore"):
            zc = t[closed] / (alpha + T[closed] + t[closed])
            head = (a + b + k[closed] - 1.0) / (a - 1.0)
            out[closed] = head * _one_minus_scaled_hyp2f1(r, a, b, x[closed], zc, k[closed])
    # Fall back wherever the closed form is unusable or breaks its bounds
    # 0 <= E <= (r+x) t / (alpha+T) (the posterior mean rate times t).
    bound = (r + x) * t / (alpha + T)
    redo = ~np.isfinite(out) | (out < 0) | (out > bound * (1 + 1e-9))
    if np.any(redo):
        out[redo] = _expected_if_alive_quad(r, alpha, a, b, x[redo], T[redo], t[redo], k[redo])
    return out


# Gauss-Legendre panels over the Beta quantile v in (0, 1), graded towards both ends
# so that the power-law behaviour of the quantile function near 0 and 1 is resolved.
_QUAD_BREAKS = np.array([0.0, 1e-12, 1e-8, 1e-5, 1e-3, 0.03, 0.2, 0.5])
_QUAD_BREAKS = np.concatenate([_QUAD_BREAKS, 1.0 - _QUAD_BREAKS[-2::-1]])
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_QUAD_V = (np.diff(_QUAD_BREAKS)[:, None] * (_GL_NODES + 1.0) / 2.0
           + _QUAD_BREAKS[:-1, None]).ravel()
_QUAD_W = (np.diff(_QUAD_BREAKS)[:, None] / 2.0 * _GL_WEIGHTS).ravel()
_QUAD_UPPER = _QUAD_V > 0.5


def _expected_if_alive_quad(r, alpha, a, b, x, T, t, k):
    """E_p[(1 - (1 + p u)^-(r+x)) / p], p ~ Beta(a, b+k), u = t/(alpha+T), by quadrature.

    The integrand is bounded (by (r+x) u), non-negative and smooth in p, so
    Gauss-Legendre in the Beta quantile (p = F^-1(v), 240 nodes on graded panels)
    is accurate to ~1e-8 relative for any a, b > 0, including a, b ~ 1e7 where the
    Beta is a narrow spike. Upper nodes use 1 - p = F^-1_{Beta(b+k, a)}(1 - v) for
    accuracy near p = 1. Nodes depend only on k, so they are computed per distinct k.
    """
    x, T, t, k = (v.ravel() for v in np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                           for v in (x, T, t, k))))
    out = np.empty(x.shape)
    n = r + x
    u = t / (alpha + T)
    ks, which = np.unique(k, return_inverse=True)
    for j, kj in enumerate(ks):
        beta = b + kj
        with np.errstate(all="ignore"):
            p = np.where(_QUAD_UPPER,
                         1.0 - special.betaincinv(beta, a, np.where(_QUAD_UPPER, 1.0 - _QUAD_V, 0.5)),
                         special.betaincinv(a, beta, np.where(_QUAD_UPPER, 0.5, _QUAD_V)))
        rows = which == j
        nu = n[rows, None]
        uu = u[rows, None]
        with np.errstate(all="ignore"):
            g = -np.expm1(-nu * np.log1p(p * uu)) / p
        g = np.where(p > 0, g, nu * uu)  # the p -> 0 limit
        out[rows] = g @ _QUAD_W
    return out


def _one_minus_scaled_hyp2f1(r, a, b, x, z, k=None):
    """1 - (1-z)^(r+x) 2F1(r+x, b+k; a+b+k-1; z), the bracket of eqs. (7) and (10).

    (k = x for BG/NBD; k = x + 1 for MBG/NBD.) Euler's transformation
    2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A,C-B;C;z) turns it into
    1 - (1-z)^(a-1) 2F1(a+b-1-r+k-x, a-1; a+b+k-1; z): the first two
    arguments no longer grow with x, so heavy buyers neither overflow nor
    lose precision, and the series converges quickly for z < 1.

    For short horizons (w = z/(1-z) = t/(alpha+T) up to SERIES_MAX_W / max(1, |a-1|)) the bracket is
    nearly 0 and "1 - ..." would keep only the digits of the difference (at t = 1e-6
    about a third of them wrong); there Pfaff's form 1 - 2F1(r+x, a-1; a+b+k-1; -w)
    is summed term by term from its first, without the 1: full relative precision.
    """
    k = x if k is None else k
    x, z, k = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, z, k)))
    c = a + b + k - 1.0
    p = a + b - 1.0 - r + (k - x)
    out = np.empty(x.shape)
    with np.errstate(all="ignore"):
        w = z / (1.0 - z)
    short = w * max(1.0, abs(a - 1.0)) <= SERIES_MAX_W
    if np.any(short):
        out[short] = _short_horizon_bracket(r + x[short], a - 1.0, c[short], w[short])
    long = ~short
    if np.any(long):
        f = special.hyp2f1(p[long], a - 1.0, c[long], z[long])
        out[long] = 1.0 - np.exp((a - 1.0) * np.log1p(-z[long])) * f
    return out


#: Up to w = t/(alpha+T) = SERIES_MAX_W / max(1, |a-1|) the bracket of eqs. (7) and (10) is
#: summed as a series (each term then at most SERIES_MAX_W times the one before).
SERIES_MAX_W = 0.05


def _short_horizon_bracket(A, B, C, w, terms: int = 60):
    """1 - 2F1(A, B; C; -w) = -sum_{n>=1} (A)_n (B)_n / ((C)_n n!) (-w)^n for small w > 0.

    With B = a - 1 and C = a+b+k-1 >= A - 1 + a (so (A+n)/(C+n) stays near or below 1)
    each term is at most about max(1, |B|) w <= SERIES_MAX_W times the one before it, so 15
    terms reach 1e-17 of the sum."""
    term = A * B / C * w  # the n = 1 term of -sum(...): -(A B / C)(-w)
    total = term.copy()
    for n in range(1, terms):
        term = term * (-(A + n) * (B + n) / ((C + n) * (n + 1.0)) * w)
        total += term
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            break
    return total
