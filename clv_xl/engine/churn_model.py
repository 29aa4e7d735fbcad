"""Churn risk as a probability, learned from the book's own past.

Churn risk is the probability that a client has no completed session within the churn
horizon after the as-of day (Settings: "Churn horizon (months)"). No single signal is right
for every business (a gym's regulars, a wedding studio's once-in-a-lifetime clients), so
the book chooses among candidates by a backtest inside its own history:

1. Cut the history at ``as_of - h`` (h = the horizon, or half the history when that is
   shorter). Describe every client with a completed session by the cut using only what was
   known at the cut; the truth is whether they completed a session in (cut, as_of].
2. Each candidate is a logistic regression (Cox 1958) of that truth on a few features:

   - ``recency``: log days since the last session (the plain anchor);
   - ``rhythm``: log(days since / usual interval), the business's median interval for
     clients with fewer than two sessions (seed 001's "past the client's usual rhythm");
   - ``BG/NBD``, ``MBG/NBD``: logit of the model's P(no purchase in h), fitted on the
     history before the cut (Fader, Hardie & Lee 2005; Batislam, Denizel & Filiztekin 2007);
   - ``warning signs``: the seed 001 weighted score, when the book has signs that vary;
   - ``logistic``: recency, its square, repeat sessions, age, rhythm ratio, one-time
     client, and the warning-sign score and the cancellation and reply signs where the
     book has them;
   - ``logistic + MBG/NBD``: the same plus the model's logit.

   A one-feature logistic is Platt scaling (Platt 1999): it keeps the candidate's ranking
   and calibrates it.
3. Out-of-fold predictions (5 folds of clients) give each candidate's AUC and Brier score.
   Among the candidates whose AUC is at least recency's, the lowest Brier score wins (the
   next when its purchase model cannot be fitted as of ``as_of``); it is refitted on all
   clients at the cut and applied to the clients as of ``as_of``.
4. When h is shorter than the horizon, the probabilities are shifted (one constant on the
   logit scale, which keeps the ranking) so that their mean moves by as much as the
   purchase model's mean P(no purchase) moves from h to the horizon (it falls: a longer
   horizon leaves more time to come back).
5. A client with a session booked within the horizon keeps only the chance that bookings
   fall through (the book's share of cancelled bookings, at least 5%).

When the history cannot support a backtest (too short, too few clients, or one outcome
only), the fallback is recency on a log-logistic curve, d^2 / (d^2 + c^2) for d days since,
50% at the days c that a share s of the clients exceed: s is the business's share of
lapsed clients (of the clients first seen a window ago or more, the share with no session
in the window, the window being the horizon or half the history; else a purchase model's
mean P(no purchase); else 50%). It ranks exactly as recency does, and the template can
compute it with native formulas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize
from scipy.special import expit, logit
from scipy.stats import rankdata

from . import churn
from .history import summarize, summarize_contacts
from .models import BetaGeo, ModelFitError, ModifiedBetaGeo, compress, rfm_from_transactions
from .models.discounted import DAYS_PER_MONTH
from .models._threads import blas_threads
from .units import UNIT_DAYS
from ..book.settings import Settings

FALLBACK = "recency without a backtest"
MODELS = (BetaGeo, ModifiedBetaGeo)
#: Candidates in order of simplicity (ties go to the simpler one).
CANDIDATES = ("recency", "rhythm", "warning signs", "BG/NBD", "MBG/NBD", "logistic",
              "logistic + MBG/NBD")
MIN_CLIENTS = 30  # clients with history at the cut
MIN_EACH = 10  # clients who came back, and clients who did not, in the backtest
MIN_BACKTEST_DAYS = 28
FOLDS = 5
MIN_BOOKING_FAILS = 0.05
EPS = 1e-6
#: Corrections of the native curve's centre (each one AVERAGE over the clients).
NATIVE_STEPS = 2


@dataclass(frozen=True)
class ChurnResult:
    """Churn probabilities and how they were made.

    - probability: per client id (the ids given, in order); NaN for a client with no
      completed session by as_of;
    - method: the candidate used (one of CANDIDATES) or FALLBACK;
    - horizon_days: the churn horizon; backtest_days: h (0 without a backtest);
    - backtest: per candidate, {"auc", "brier"} out of fold, or {"skipped": why};
    - message: one sentence for the Start sheet;
    - business_rhythm: the median usual interval (days) used for clients with fewer than
      two sessions;
    - lapsed_share: the fallback's target mean (NaN when a backtest was used).
    """

    probability: pd.Series
    method: str
    horizon_days: float
    backtest_days: float
    backtest: dict = field(default_factory=dict)
    message: str = ""
    business_rhythm: float = np.nan
    lapsed_share: float = np.nan

    @property
    def chosen(self) -> dict:
        return self.backtest.get(self.method, {})


def horizon_days(settings: Settings) -> float:
    """The churn horizon in days (months x 365.25/12)."""
    return float(settings.churn_horizon_months) * DAYS_PER_MONTH


def business_rhythm(interval_days, default: float) -> float:
    """The business's usual interval: the median of the clients' own, or ``default`` when
    no client has two sessions on different days."""
    known = np.asarray(interval_days, dtype=float)
    known = known[np.isfinite(known)]
    return float(np.median(known)) if known.size else float(default)


def client_features(sessions: pd.DataFrame, contacts: pd.DataFrame | None, ids, date,
                    settings: Settings, upcoming: bool = True) -> pd.DataFrame:
    """What is known about each client on ``date`` (clients with a completed session only).

    Columns: days (since the last completed session), frequency (repeat days), age (days
    since the first), interval (own usual interval or NaN), rhythm (own or the business's),
    cancel (share of recent bookings cancelled or rescheduled), reply_drop (the seed 001
    reply sign), upcoming (a session booked on or after ``date``; False when ``upcoming`` is
    False, as in a backtest, where today's statuses do not say what was booked then) and
    warning (the seed 001 weighted score with that rhythm).
    """
    date = pd.Timestamp(date).normalize()
    index = pd.Index(ids, name="client_id")
    hist = summarize(sessions, date, settings.recent_days).reindex(index)
    hist = hist[hist["completed"].fillna(0) > 0]
    out = pd.DataFrame(index=hist.index)
    out["days"] = (date - hist["last_session"]).dt.days.astype(float)
    out["frequency"] = hist["frequency"].astype(float)
    out["age"] = hist["T"].astype(float)
    out["interval"] = hist["interval_days"].astype(float)
    rhythm = business_rhythm(out["interval"], settings.default_interval_days)
    out["rhythm"] = out["interval"].fillna(rhythm)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cancel"] = np.where(hist["recent_bookings"] > 0,
                                 hist["recent_cancelled"] / hist["recent_bookings"], 0.0)
    if contacts is not None and len(contacts):
        talk = summarize_contacts(contacts, date, settings.recent_days).reindex(out.index)
        talk = talk.fillna(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            now = talk["recent_replied"] / talk["recent_out"].where(talk["recent_out"] > 0)
            before = talk["earlier_replied"] / talk["earlier_out"].where(talk["earlier_out"] > 0)
        out["reply_drop"] = churn.reply_sign(now.to_numpy(float), before.to_numpy(float))
        reply_now, reply_before = now.to_numpy(float), before.to_numpy(float)
    else:
        out["reply_drop"] = 0.0
        reply_now = reply_before = np.full(len(out), np.nan)
    out["upcoming"] = (hist["upcoming"] > 0).to_numpy() if upcoming else False
    out["warning"] = churn.churn_risk(out["days"].to_numpy(), out["rhythm"].to_numpy(),
                                      out["cancel"].to_numpy(), reply_now, reply_before,
                                      out["upcoming"].to_numpy(), settings)
    out.attrs["business_rhythm"] = rhythm
    return out


def learn_churn(clients_ids, sessions: pd.DataFrame, contacts: pd.DataFrame | None, as_of,
                settings: Settings | None = None) -> ChurnResult:
    """Churn probabilities for the clients, learned by a backtest on the book's history
    (see the module docstring)."""
    settings = settings if settings is not None else Settings()
    as_of = pd.Timestamp(as_of or settings.as_of or pd.Timestamp.today()).normalize()
    index = pd.Index(list(clients_ids), name="client_id")
    H = horizon_days(settings)
    unit_days = UNIT_DAYS[str(settings.time_unit).lower()]
    sessions = sessions[sessions["client_id"].isin(index)]
    date = pd.to_datetime(sessions["date"]).dt.normalize()
    done = sessions[(sessions["status"] == "Completed") & (date <= as_of)]
    now = client_features(sessions, contacts, index, as_of, settings)
    probability = pd.Series(np.nan, index=index, name="churn_probability")
    rhythm = now.attrs.get("business_rhythm", float(settings.default_interval_days))
    if now.empty:
        return ChurnResult(probability, FALLBACK, H, 0.0, {},
                           "Churn risk: no client has a completed session yet.", rhythm)

    first = pd.to_datetime(done["date"]).min().normalize()
    span = float((as_of - first).days)
    h = H if span / 2.0 >= H else float(np.floor(span / 2.0))
    models_now = _fit_models(done, as_of, unit_days)
    backtest, why_not = {}, ""
    if h < MIN_BACKTEST_DAYS:
        why_not = f"the history ({span:.0f} days) is too short for a backtest"
    else:
        cut = as_of - pd.Timedelta(days=h)
        past = client_features(sessions, contacts, index, cut, settings, upcoming=False)
        back = done[pd.to_datetime(done["date"]).dt.normalize() > cut]["client_id"]
        y = (~past.index.isin(pd.unique(back))).astype(float)
        if len(past) < MIN_CLIENTS:
            why_not = (f"only {len(past)} client{'s' * (len(past) != 1)} had a session "
                       "before the backtest cut")
        elif min(y.sum(), len(y) - y.sum()) < MIN_EACH:
            why_not = "almost every client in the backtest did the same (came back or not)"
        else:
            models_cut = _fit_models(done, cut, unit_days)
            X_past = _candidate_inputs(past, models_cut, h, unit_days)
            backtest = _backtest(X_past, y)
    if not backtest or not any("auc" in v for v in backtest.values()):
        p, share, source = _fallback(now, models_now, H, unit_days, span)
        probability.loc[now.index] = _booked(p, now, sessions, as_of, H)
        message = (f"Churn risk (no completed session in {settings.churn_horizon_months:g} "
                   f"months): {FALLBACK}, scaled to {share:.0%} lapsed ({source}), because "
                   f"{why_not or 'no candidate could be backtested'}.")
        return ChurnResult(probability, FALLBACK, H, 0.0, backtest, message, rhythm, share)

    X_now = _candidate_inputs(now, models_now, h, unit_days)
    # the best that can also be computed today (a model that fitted at the cut may not now)
    method = next(n for n in _ranked(backtest) if n in X_now)
    weights, scale = _fit_logistic(X_past[method], y)
    z = _logit_of(X_now[method], weights, scale)
    shift_note = ""
    if h < H:
        z, shift_note = _extend_horizon(z, now, models_now, h, H, unit_days)
    p = expit(z)
    probability.loc[now.index] = _booked(p, now, sessions, as_of, H)
    best, rec = backtest[method], backtest["recency"]
    message = (f"Churn risk (no completed session in {settings.churn_horizon_months:g} months): "
               f"{method}, chosen by a backtest on the last {h:.0f} days: AUC {best['auc']:.2f}, "
               f"Brier {best['brier']:.3f} (recency: AUC {rec['auc']:.2f}, Brier "
               f"{rec['brier']:.3f}); {best['predicted']:.0%} predicted to leave, "
               f"{best['actual']:.0%} left{shift_note}.")
    return ChurnResult(probability, method, H, h, backtest, message, rhythm)


def native_churn_risk(days_since, age_days, booked, fails: float, horizon: float,
                      span: float) -> tuple[np.ndarray, dict]:
    """The churn risk the template computes with native formulas (docs/template.md): the
    fallback curve of :func:`_fallback` without a purchase model, in the steps a worksheet
    can take.

    ``days_since`` and ``age_days`` (days since the first completed session) per client with
    a completed session, ``booked`` whether a session is booked within the horizon, ``fails``
    the share of bookings that fall through, ``span`` days from the first completed session
    to the as-of day. The lapsed share is taken over a window of the horizon or half the span
    (50% when fewer than ``MIN_EACH`` clients were first seen that long ago; kept within 1% to
    99%); the curve's centre starts at the (1 - share) quantile of days since and is corrected
    ``NATIVE_STEPS`` times (:func:`clv_xl.engine.churn.recency_center`). Returns the
    probabilities and the scalars the template shows (window, share, centres)."""
    days, age = (np.asarray(v, dtype=float) for v in (days_since, age_days))
    window = min(horizon, span / 2.0)
    old = age >= window
    share = 0.5 if old.sum() < MIN_EACH else float(np.clip(np.mean(days[old] >= window),
                                                           0.01, 0.99))
    centers = [churn.recency_center(days, share, steps=k) for k in range(NATIVE_STEPS + 1)]
    p = np.asarray(churn.recency_probability(days, centers[-1]), dtype=float)
    p = np.where(np.asarray(booked, dtype=bool), p * fails, p)
    return p, {"window": window, "share": share, "centers": centers, "fails": fails}


def booking_fails(completed: int, cancelled: int) -> float:
    """The share of bookings that fall through: cancelled / (completed + cancelled), at
    least ``MIN_BOOKING_FAILS``."""
    return max(cancelled / max(completed + cancelled, 1), MIN_BOOKING_FAILS)


# ------------------------------------------------------------------ candidates
def _fit_models(done: pd.DataFrame, date: pd.Timestamp, unit_days: float) -> dict:
    """BG/NBD and MBG/NBD fitted on the completed sessions up to ``date`` (those that fit)."""
    upto = done[pd.to_datetime(done["date"]).dt.normalize() <= date]
    if upto.empty:
        return {}
    rfm = rfm_from_transactions(upto["client_id"].to_numpy(), upto["date"].to_numpy(), date,
                                unit_days=unit_days)
    x, t_x, T = (rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    fitted = {}
    for cls in MODELS:
        try:
            fitted[cls.MODEL] = cls(time_unit_days=unit_days).fit(x, t_x, T)
        except (ModelFitError, ValueError, FloatingPointError):
            continue
    return fitted


def _model_no_purchase(model, features: pd.DataFrame, h_days: float, unit_days: float):
    """The model's P(no purchase in h_days) for the clients in ``features``."""
    x = features["frequency"].to_numpy()
    t_x = (features["age"] - features["days"]).to_numpy() / unit_days
    T = features["age"].to_numpy() / unit_days
    rows = compress(x, t_x, T)
    with np.errstate(all="ignore"):
        p = np.asarray(model.prob_no_purchase(h_days / unit_days, rows.frequency,
                                              rows.recency, rows.T))[rows.inverse]
    return p


def _candidate_inputs(f: pd.DataFrame, models: dict, h_days: float, unit_days: float) -> dict:
    """Feature matrices per candidate, for the clients of ``f``."""
    log_days = np.log1p(f["days"].to_numpy())
    ratio = np.log((f["days"].to_numpy() + 1.0) / f["rhythm"].to_numpy())
    inputs = {"recency": log_days[:, None], "rhythm": ratio[:, None]}
    if np.ptp(f["warning"].to_numpy()) > 0:
        inputs["warning signs"] = f["warning"].to_numpy()[:, None]
    rich = [log_days, log_days ** 2, np.log1p(f["frequency"].to_numpy()),
            np.log1p(f["age"].to_numpy()), ratio, (f["frequency"].to_numpy() == 0) * 1.0]
    for sign in ("warning", "cancel", "reply_drop"):
        if np.ptp(f[sign].to_numpy()) > 0:
            rich.append(f[sign].to_numpy())
    inputs["logistic"] = np.column_stack(rich)
    for name, model in models.items():
        p = _model_no_purchase(model, f, h_days, unit_days)
        if np.all(np.isfinite(p)):
            inputs[name] = logit(np.clip(p, EPS, 1 - EPS))[:, None]
    if "MBG/NBD" in inputs:
        inputs["logistic + MBG/NBD"] = np.column_stack([inputs["logistic"], inputs["MBG/NBD"]])
    return inputs


def _backtest(inputs: dict, y: np.ndarray) -> dict:
    """Out-of-fold AUC, Brier score, mean prediction and truth per candidate."""
    folds = np.random.default_rng(0).permutation(len(y)) % FOLDS
    scores = {}
    for name in CANDIDATES:
        if name not in inputs:
            scores[name] = {"skipped": "not available on this book"}
            continue
        X = inputs[name]
        oof = np.empty(len(y))
        for k in range(FOLDS):
            train = folds != k
            weights, scale = _fit_logistic(X[train], y[train])
            oof[~train] = expit(_logit_of(X[~train], weights, scale))
        scores[name] = {"auc": auc(oof, y), "brier": float(np.mean((oof - y) ** 2)),
                        "predicted": float(oof.mean()), "actual": float(y.mean())}
    return scores


def _ranked(backtest: dict) -> list[str]:
    """The candidates at least as good as recency in AUC, lowest Brier score first (ties:
    the simpler one); recency itself is always among them."""
    floor = backtest["recency"]["auc"]
    ok = [n for n in CANDIDATES if "auc" in backtest[n] and backtest[n]["auc"] >= floor]
    return sorted(ok, key=lambda n: (round(backtest[n]["brier"], 4), CANDIDATES.index(n)))


# ------------------------------------------------------------------ logistic regression
def _fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1e-4):
    """Maximum-likelihood logistic regression on standardised features, a small ridge
    penalty keeping it finite when a feature separates the outcomes. Returns (weights,
    (mean, sd))."""
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = np.column_stack([np.ones(len(X)), (X - mean) / sd])
    n = len(y)

    def loss(w):
        eta = Z @ w
        value = np.sum(np.logaddexp(0.0, eta) - y * eta) / n + 0.5 * l2 * np.sum(w[1:] ** 2)
        grad = Z.T @ (expit(eta) - y) / n
        grad[1:] += l2 * w[1:]
        return value, grad

    w0 = np.zeros(Z.shape[1])
    w0[0] = logit(np.clip(y.mean(), EPS, 1 - EPS))
    with blas_threads():  # L-BFGS-B's own small BLAS calls: thread wake-ups cost more than they do
        result = minimize(loss, w0, jac=True, method="L-BFGS-B")
    return result.x, (mean, sd)


def _logit_of(X: np.ndarray, weights: np.ndarray, scale) -> np.ndarray:
    mean, sd = scale
    return weights[0] + ((X - mean) / sd) @ weights[1:]


def auc(score, y) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); 0.5 is random."""
    score, y = np.asarray(score, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(score)
    score, y = score[keep], y[keep]
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# ------------------------------------------------------------------ adjustments
def _extend_horizon(z, now, models: dict, h: float, H: float, unit_days: float):
    """Shift the logits by one constant so the mean probability moves from h to H by as
    much as the purchase model's mean P(no purchase) does (MBG/NBD, else BG/NBD)."""
    for name in ("MBG/NBD", "BG/NBD"):
        if name in models:
            short = _model_no_purchase(models[name], now, h, unit_days)
            long = _model_no_purchase(models[name], now, H, unit_days)
            if np.all(np.isfinite(short)) and np.all(np.isfinite(long)):
                break
    else:
        return z, (f"; the backtest covers {h:.0f} days of the {H:.0f}-day horizon and no "
                   "purchase model could extend it")
    target = float(np.clip(expit(z).mean() + long.mean() - short.mean(), 0.001, 0.999))
    delta = brentq(lambda d: expit(z + d).mean() - target, -50.0, 50.0)
    return z + delta, (f"; carried from {h:.0f} to {H:.0f} days by {name} "
                       f"({long.mean() - short.mean():+.0%} on average)")


def _booked(p: np.ndarray, now: pd.DataFrame, sessions: pd.DataFrame, as_of, H: float):
    """A client with a session booked within the horizon leaves only if bookings fall
    through: p times the book's share of cancelled bookings (at least 5%)."""
    date = pd.to_datetime(sessions["date"]).dt.normalize()
    status = sessions["status"]
    booked = sessions[(status == "Booked") & (date >= as_of)
                      & (date <= as_of + pd.Timedelta(days=H))]["client_id"]
    past = date <= as_of
    n_done = int(((status == "Completed") & past).sum())
    n_cancel = int(((status == "Cancelled") & past).sum())
    fails = booking_fails(n_done, n_cancel)
    has = now.index.isin(pd.unique(booked))
    return np.where(has, np.asarray(p) * fails, p)


def _fallback(now: pd.DataFrame, models: dict, H: float, unit_days: float, span: float):
    """Recency scaled to the business's share of lapsed clients: (p, share, source).

    :func:`clv_xl.engine.churn.recency_probability`, 50% at the days since that about that
    share of clients exceed; the share over a window of the horizon or half the history
    when shorter, else a purchase model's mean P(no purchase), else 50%. The template can
    compute the same natively (docs/churn-risk.md)."""
    window = min(H, span / 2.0)
    share = churn.lapsed_share(now["age"], now["days"], window)
    source = (f"clients first seen {window:.0f} days ago or more with no session since"
              if np.isfinite(share) and (now["age"] >= window).sum() >= MIN_EACH else "")
    if not source:
        share, source = 0.5, "no history to tell, so 50%"
        for name in ("MBG/NBD", "BG/NBD"):
            if name in models:
                p = _model_no_purchase(models[name], now, H, unit_days)
                if np.all(np.isfinite(p)):
                    share, source = float(p.mean()), f"{name}'s mean P(no purchase)"
                    break
    share = float(np.clip(share, 0.01, 0.99))
    center = churn.recency_center(now["days"], share)
    return np.asarray(churn.recency_probability(now["days"].to_numpy(), center)), share, source
