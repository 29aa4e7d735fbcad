"""The Excel formulas: =CLV(...), =TLV(...), =CHURN_RISK(...) and friends.

In Excel: ``xlwings addin install``, put ``clv_xl.excel.udfs`` in UDF Modules, Import Functions.
Each formula takes a cell or a range (ranges of one size) and answers in the same shape.
Each one is a thin layer over the engine; the docstring is the help Excel shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine import churn, formulas
from .args import DateArg, Flag, Number, SessionsRange, SettingsRange
from .function import Answers, cell_formula, table_formula
from ..engine.metrics import client_figures
from ..book.schema import CLIENTS, LABELS

ORDER_VALUE = Number("order value", "Average order value: what the client spends per purchase.")
PURCHASES = Number("purchases", "Number of purchases over the client's lifetime.")
ACQUISITION = Number("acquisition cost", "Optional: what winning the client cost (default 0).",
                     default=0.0)
MARGIN = Number("margin", "Optional: gross margin as a percentage, e.g. 20% (default 100%).",
                fraction=True, default=1.0)
DAYS_SINCE = Number("days since", "Days since the client's last session.")
INTERVAL = Number("usual interval", "Optional: the client's usual days between sessions "
                  "(blank: the default in settings).", minimum=1.0, default=np.nan)
UPCOMING = Flag("upcoming", "Optional: TRUE if the client has a session booked.")
SETTINGS = SettingsRange()


@cell_formula(avg_order_value=ORDER_VALUE, purchases=PURCHASES,
              acquisition_cost=ACQUISITION, margin=MARGIN)
def CLV(avg_order_value, purchases, acquisition_cost=0.0, margin=1.0):
    """Client lifetime value: ((order value x purchases) - acquisition cost) x margin, as in seed 004's example: ((90 x 3) - 6) x 20% = 52.80. The margin also cuts the cost; NET_CLV is the common form."""
    return formulas.clv(avg_order_value, purchases, acquisition_cost, margin)


@cell_formula(avg_order_value=ORDER_VALUE, purchases=PURCHASES,
              acquisition_cost=ACQUISITION, margin=MARGIN)
def NET_CLV(avg_order_value, purchases, acquisition_cost=0.0, margin=1.0):
    """Net client lifetime value, the common form: order value x purchases x margin - acquisition cost (cost not cut by the margin): 90 x 3 x 20% - 6 = 48.00, where CLV gives 52.80."""
    return formulas.net_clv(avg_order_value, purchases, acquisition_cost, margin)


@cell_formula(
    avg_sale=Number("average sale", "Average value of one sale."),
    purchases_per_period=Number("purchases per period", "Purchases per month or per year."),
    periods=Number("periods", "How many months or years the client stays."),
    referrals=Number("referrals", "Optional: clients this client sends you (default 0).",
                     default=0.0),
    referral_value=Number("referral value", "Optional: the value of each referral "
                          "(blank: the client's own value).", default=np.nan),
)
def TLV(avg_sale, purchases_per_period, periods, referrals=0.0, referral_value=None):
    """Total life value: average sale x purchases per period x periods, plus referrals (seed 000): 20 x 12 x 5 = 1,200."""
    return formulas.tlv(avg_sale, purchases_per_period, periods, referrals, referral_value)


@cell_formula(
    unbounded="with 100% retention and no discount the value never ends: give periods",
    margin_per_period=Number("margin per period", "Profit from the client per period."),
    retention_rate=Number("retention rate", "Share of clients kept each period, e.g. 80%.",
                          fraction=True),
    discount_rate=Number("discount rate", "Discount rate per period, e.g. 10%.", fraction=True),
    periods=Number("periods", "Optional: the horizon in periods (blank: no end; 2.5 "
                   "interpolates between 2 and 3).", default=np.nan),
)
def RETENTION_CLV(margin_per_period, retention_rate, discount_rate, periods=None):
    """Lifetime value from margin, retention and discount: m x r / (1 + d - r) with no end (Gupta & Lehmann 2003), or the discounted sum over a horizon."""
    return formulas.retention_clv(margin_per_period, retention_rate, discount_rate, periods)


CHURN_SIGNS = dict(
    days_since=DAYS_SINCE, usual_interval=INTERVAL,
    cancel_share=Number("cancel share", "Optional: share of recent bookings cancelled or "
                        "rescheduled, e.g. 25%.", fraction=True, default=0.0),
    reply_rate_now=Number("reply rate now", "Optional: share of your recent messages the "
                          "client answered (blank: none sent).", fraction=True, default=np.nan),
    reply_rate_before=Number("reply rate before", "Optional: the same share before "
                             "(blank: 100%).", fraction=True, default=np.nan),
    upcoming=UPCOMING, settings=SETTINGS,
)


@cell_formula(**CHURN_SIGNS)
def CHURN_RISK(days_since, usual_interval=None, cancel_share=0.0, reply_rate_now=None,
               reply_rate_before=None, upcoming=False, settings=None):
    """Warning-sign score from 0 to 1: overdue against the client's rhythm, cancellations and fewer replies, weighted (seed 001). Not a probability: CHURN_PROBABILITY gives the chance a client leaves (docs/churn-risk.md)."""
    return churn.churn_risk(days_since, usual_interval, cancel_share, reply_rate_now,
                            reply_rate_before, upcoming, settings)


@cell_formula(**CHURN_SIGNS)
def CHURN_REASON(days_since, usual_interval=None, cancel_share=0.0, reply_rate_now=None,
                 reply_rate_before=None, upcoming=False, settings=None):
    """The warning sign that adds most to the churn risk: Overdue, Cancellations or Fewer replies."""
    return churn.main_reason(days_since, usual_interval, cancel_share, reply_rate_now,
                             reply_rate_before, upcoming, settings)


@cell_formula(score=Number("score", "A churn-risk score from 0 to 1.", fraction=True),
              settings=SETTINGS)
def CHURN_BAND(score, settings=None):
    """Low, Medium or High churn risk for a score, by the thresholds in settings."""
    return churn.risk_band(score, settings)


@cell_formula(
    completed=Number("completed", "Number of completed sessions."),
    days_since=DAYS_SINCE, usual_interval=INTERVAL,
    score=Number("score", "Optional: the churn-risk score from 0 to 1 (default 0).",
                 fraction=True, default=0.0),
    upcoming=UPCOMING, settings=SETTINGS,
)
def LIFECYCLE_STAGE(completed, days_since, usual_interval=None, score=0.0, upcoming=False,
                    settings=None):
    """Prospect, New, Retained, At risk or Lapsed (seed 001's client lifecycle)."""
    return churn.lifecycle_stage(completed, days_since, usual_interval, score, upcoming,
                                 settings)


@table_formula(avg_order_value=ORDER_VALUE, purchases=PURCHASES,
               acquisition_cost=ACQUISITION, margin=MARGIN,
               change=Number("change", "Optional: how much to improve each lever, "
                             "e.g. 10% (default).", fraction=True, default=0.10))
def CLV_LEVERS(avg_order_value, purchases, acquisition_cost=0.0, margin=1.0, change=0.10):
    """Spills a table: what a better order value, purchase count, acquisition cost and margin each do to CLV (seed 004's four levers)."""
    table = formulas.clv_levers(avg_order_value, purchases, acquisition_cost, margin, change)
    return table.set_axis(["Lever", "From", "To", "CLV before", "CLV after", "Gain",
                           "Gain %"], axis=1)


SUMMARY_COLUMNS = ("client_id", "first_session", "last_session", "completed", "cancelled",
                   "rescheduled", "revenue", "avg_order_value", "interval_days", "days_since",
                   "clv", "churn_risk", "risk_band", "main_reason", "lifecycle_stage")


@table_formula(sessions=SessionsRange(),
               as_of=DateArg("as-of date", "Optional: the day to compute for (blank: the As-of date "
                             "in settings, then today)."),
               settings=SETTINGS)
def CLV_SUMMARY(sessions, as_of=None, settings=None):
    """Spills one row per client from a sessions range with its header row: sessions, revenue, CLV, churn risk (the chance of no session within the churn horizon, learned from these sessions) and stage."""
    ids = pd.unique(sessions["client_id"])
    clients = pd.DataFrame({key: ids if key == "client_id" else None for key in CLIENTS.keys})
    metrics = client_figures(clients, sessions, None, settings, as_of)[0].reset_index()
    return metrics[list(SUMMARY_COLUMNS)].set_axis([LABELS[c] for c in SUMMARY_COLUMNS], axis=1)


CHURN_COLUMNS = ("client_id", "churn_risk", "risk_band", "lifecycle_stage", "main_reason")


@table_formula(sessions=SessionsRange(),
               as_of=DateArg("as-of date", "Optional: the day to compute for (blank: the As-of date "
                             "in settings, then today)."),
               settings=SETTINGS)
def CHURN_PROBABILITY(sessions, as_of=None, settings=None):
    """Spills per client the chance of no completed session within the churn horizon (setting, default 12 months), learned by a backtest on these sessions, with band, stage and main reason (docs/churn-risk.md)."""
    ids = pd.unique(sessions["client_id"])
    clients = pd.DataFrame({key: ids if key == "client_id" else None for key in CLIENTS.keys})
    metrics = client_figures(clients, sessions, None, settings, as_of)[0].reset_index()
    return metrics[list(CHURN_COLUMNS)].set_axis([LABELS[c] for c in CHURN_COLUMNS], axis=1)


# ------------------------------------------------------------------ probabilistic models
# P_ALIVE, EXPECTED_PURCHASES, EXPECTED_SPEND, MODEL_CLV and CLV_FIT: thin layers over
# clv_xl.engine.models (BG/NBD, Gamma-Gamma, discounted CLV). Arguments follow lifetimes and the
# papers: frequency x, recency t_x, age T, then r, alpha, a, b (or the CLV_FIT table in r).
# docs/formulas-models.md describes each formula and the equation it implements.

from .args import (FIT_CHOICE, MODEL_CHOICE, ArgumentError, ModelParameter,  # noqa: E402
                   TimeUnit, resolve_parameters)
from ..engine.forecast import choose_purchase_model  # noqa: E402
from ..engine.models import (BetaGeo, GammaGamma, ModelFitError,  # noqa: E402
                             ModifiedBetaGeo, ParetoNBD, model_clv, rfm_from_transactions)

_TABLE_NOTE = " Or give the CLV_FIT table here and leave the next ones out."
FREQUENCY = Number("frequency", "Repeat purchases: completed sessions on distinct days after "
                   "the first (a whole number, 0 or more).")
RECENCY = Number("recency", "Time from the first to the last purchase, in the model's time "
                 "unit (weeks unless fitted otherwise).")
AGE = Number("age", "T in the papers: time from the first purchase to today, in the model's time unit; "
             "not less than recency.")
SPEND = Number("monetary value", "The client's average spend on repeat purchases (0 when "
               "there are none).")


def _parameter(name, about, first=False):
    doc = f"{about} (a number more than 0)." + (_TABLE_NOTE if first else "")
    return ModelParameter(name, doc if first else "Optional when the first parameter is the "
                          f"CLV_FIT table: {about}.")


BG_PARAMETERS = dict(
    r=_parameter("r", "BG/NBD or MBG/NBD r: shape of the purchase-rate gamma", first=True),
    alpha=_parameter("alpha", "BG/NBD or MBG/NBD alpha: scale of the purchase-rate gamma"),
    a=_parameter("a", "BG/NBD or MBG/NBD a: first shape of the dropout beta (Pareto/NBD: s)"),
    b=_parameter("b", "BG/NBD or MBG/NBD b: second shape of the dropout beta (Pareto/NBD: beta)"),
    model=MODEL_CHOICE,
)
HORIZON = Number("horizon", "t in the papers: the horizon: how far ahead to look, in the model's time unit "
                 "(e.g. 52 weeks).")
GG_PARAMETERS = dict(
    p=_parameter("p", "Gamma-Gamma p: shape of each spend", first=True),
    q=_parameter("q", "Gamma-Gamma q: shape of the spend-scale gamma"),
    gamma=_parameter("gamma", "Gamma-Gamma gamma: scale of the spend-scale gamma"),
)


def _by_cell(name, arrays, checks, compute) -> Answers:
    """``compute`` on the usable cells; a cell failing a check gets "NAME: reason".

    ``arrays`` are the per-cell numbers (NaN where cell_formula already has a reason);
    ``checks`` is a list of (bad-cell mask, reason), the first failing one is shown.
    """
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in arrays])
    values = np.full(arrays[0].shape, np.nan)
    messages = np.full(arrays[0].shape, "", dtype=object)
    usable = ~np.logical_or.reduce([np.isnan(a) for a in arrays])
    for bad, reason in checks:
        bad = np.broadcast_to(bad, usable.shape) & usable
        if bad.any():
            messages[bad] = f"{name}: {reason}"
            usable &= ~bad
    if usable.any():
        values[usable] = np.ravel(compute(*(a[usable] for a in arrays)))
    return Answers(values, messages)


def _history_checks(frequency, recency, age):
    return [(frequency != np.round(frequency), "frequency must be a whole number"),
            (recency > age, "recency must not exceed age")]


PURCHASE_MODELS = {"BG/NBD": BetaGeo, "MBG/NBD": ModifiedBetaGeo, "Pareto/NBD": ParetoNBD}
PURCHASE_NAMES = {"Pareto/NBD": ("r", "alpha", "s", "beta")}  # the others: r, alpha, a, b


def _bg(r, alpha, a, b, model=None):
    """The purchase model from its four parameters or the CLV_FIT table; the model is the one
    named, else the table's (CLV_FIT writes it), else BG/NBD. Pareto/NBD's s and beta take the
    places of a and b. A model named against the table's is refused: a book never mixes two."""
    fitted = r.get("model") if isinstance(r, dict) else None
    if model and fitted and model != fitted:
        raise ArgumentError(f"the table holds a {fitted} fit, not {model}: leave model out, or "
                            f"fit {model} with CLV_FIT")
    name = model or fitted or "BG/NBD"
    names = PURCHASE_NAMES.get(name, ("r", "alpha", "a", "b"))
    params = resolve_parameters(dict(zip(names, (r, alpha, a, b))))
    return PURCHASE_MODELS[name](params=params)


@cell_formula(frequency=FREQUENCY, recency=RECENCY, age=AGE, **BG_PARAMETERS)
def P_ALIVE(frequency, recency, age, r, alpha=None, a=None, b=None, model=None):
    """Probability that the client is still active: BG/NBD (Fader, Hardie & Lee 2008, eq. 2) or MBG/NBD (Batislam et al. 2007, eq. 5). Parameters: r, alpha, a, b, or the CLV_FIT table in r; then the model."""
    fitted = _bg(r, alpha, a, b, model)
    return _by_cell("P_ALIVE", (frequency, recency, age), _history_checks(frequency, recency, age),
                    lambda x, t_x, T_: fitted.p_alive(x, t_x, T_))


@cell_formula(horizon=Number("horizon", "t in the papers: how far ahead to count "
                             "purchases, in the model's time unit (e.g. 52 weeks)."),
              frequency=FREQUENCY, recency=RECENCY, age=AGE, **BG_PARAMETERS)
def EXPECTED_PURCHASES(horizon, frequency, recency, age, r, alpha=None, a=None, b=None, model=None):
    """Expected purchases in the next horizon periods given the history: BG/NBD (Fader, Hardie & Lee 2005, eq. 10) or MBG/NBD (Wagner & Hoppe 2008). Parameters: r, alpha, a, b, or the CLV_FIT table in r; then the model."""
    fitted = _bg(r, alpha, a, b, model)
    return _by_cell("EXPECTED_PURCHASES", (horizon, frequency, recency, age),
                    _history_checks(frequency, recency, age),
                    lambda t_, x, t_x, T_: fitted.conditional_expected_purchases(t_, x, t_x, T_))


@cell_formula(horizon=HORIZON, frequency=FREQUENCY, recency=RECENCY, age=AGE, **BG_PARAMETERS)
def P_NO_PURCHASE(horizon, frequency, recency, age, r, alpha=None, a=None, b=None, model=None):
    """Churn measure: probability of no purchase in the next horizon periods, 1 - P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)), BG/NBD or MBG/NBD. Parameters: r, alpha, a, b, or the CLV_FIT table in r; then the model."""
    fitted = _bg(r, alpha, a, b, model)
    return _by_cell("P_NO_PURCHASE", (horizon, frequency, recency, age),
                    _history_checks(frequency, recency, age),
                    lambda t_, x, t_x, T_: fitted.prob_no_purchase(t_, x, t_x, T_))


@cell_formula(n=Number("n", "The number of repeat purchases (a whole number, 0 or more)."),
              horizon=HORIZON, **BG_PARAMETERS)
def P_PURCHASES(n, horizon, r, alpha=None, a=None, b=None, model=None):
    """Probability that a new client makes exactly n repeat purchases in the next horizon periods: BG/NBD (Fader, Hardie & Lee 2005, eq. 8) or MBG/NBD. Parameters: r, alpha, a, b, or the CLV_FIT table in r; then the model."""
    fitted = _bg(r, alpha, a, b, model)
    if not hasattr(fitted, "prob_purchases"):
        raise ArgumentError(f"model must be BG/NBD or MBG/NBD here, not {fitted.MODEL}")
    return _by_cell("P_PURCHASES", (n, horizon), [(n != np.round(n), "n must be a whole number")],
                    fitted.prob_purchases)


@cell_formula(n=Number("n", "The number of purchases (a whole number, 0 or more)."),
              horizon=HORIZON, frequency=FREQUENCY, recency=RECENCY, age=AGE, **BG_PARAMETERS)
def P_PURCHASES_NEXT(n, horizon, frequency, recency, age, r, alpha=None, a=None, b=None,
                     model=None):
    """Probability that a client with this history makes exactly n purchases in the next horizon periods: BG/NBD or MBG/NBD, the conditional form of eq. 8 (Fader, Hardie & Lee 2007 note). Parameters: r, alpha, a, b, or the CLV_FIT table in r; then the model."""
    fitted = _bg(r, alpha, a, b, model)
    if not hasattr(fitted, "conditional_prob_purchases"):
        raise ArgumentError(f"model must be BG/NBD or MBG/NBD here, not {fitted.MODEL}")
    return _by_cell("P_PURCHASES_NEXT", (n, horizon, frequency, recency, age),
                    [(n != np.round(n), "n must be a whole number")]
                    + _history_checks(frequency, recency, age),
                    fitted.conditional_prob_purchases)


def _spend_checks(frequency, q):
    return [(frequency != np.round(frequency), "frequency must be a whole number"),
            ((frequency == 0) & (q <= 1.0),
             "q must be more than 1 for a client with no repeat purchase")]


@cell_formula(frequency=FREQUENCY, monetary_value=SPEND, **GG_PARAMETERS)
def EXPECTED_SPEND(frequency, monetary_value, p, q=None, gamma=None):
    """Gamma-Gamma expected average spend per purchase: (gamma + m x) p / (p x + q - 1) (Fader, Hardie & Lee 2005, RFM and CLV, eq. 5). Parameters: p, q, gamma, or the CLV_FIT table in p."""
    params = resolve_parameters(dict(p=p, q=q, gamma=gamma))
    model = GammaGamma(params=params)
    return _by_cell("EXPECTED_SPEND", (frequency, monetary_value),
                    _spend_checks(frequency, params["q"]),
                    model.conditional_expected_average_profit)


@cell_formula(frequency=FREQUENCY, recency=RECENCY, age=AGE, monetary_value=SPEND,
              parameters=ModelParameter("parameters", "The CLV_FIT table: names r, alpha, a, "
                                        "b, p, q, gamma (and time unit (days)) with estimates."),
              months=Number("months", "Optional: the horizon in months (default 12).",
                            default=12.0),
              annual_discount_rate=Number("annual discount rate", "Optional: yearly discount "
                                          "rate, e.g. 10% (default); used monthly.",
                                          fraction=True, default=0.10),
              margin=MARGIN)
def MODEL_CLV(frequency, recency, age, monetary_value, parameters, months=12.0,
              annual_discount_rate=0.10, margin=1.0):
    """Discounted model CLV over the next months: purchases per month (the CLV_FIT table's model) x Gamma-Gamma spend x margin / (1 + monthly rate)^m (Fader, Hardie & Lee 2005). Give the CLV_FIT table."""
    if not isinstance(parameters, dict):
        raise ArgumentError("parameters must be the CLV_FIT table (names and estimates)")
    bg = _bg(parameters, None, None, None)
    params = _table_params(parameters, ("p", "q", "gamma"))
    gg = GammaGamma(params=params)
    unit = parameters.get("time unit (days)", 7.0)
    checks = _history_checks(frequency, recency, age) + _spend_checks(frequency, params["q"])[1:] \
        + [(months != np.round(months), "months must be a whole number"),
           (months > 1200, "months must be 1200 or less")]

    def compute(x, t_x, T_, m, n_months, rate, share):
        if (n_months == n_months[0]).all() and (rate == rate[0]).all():  # one horizon, one rate
            return model_clv(bg, gg, x, t_x, T_, m, int(n_months[0]),
                             (1.0 + rate[0]) ** (1.0 / 12.0) - 1.0, 1.0, unit) * share
        out = np.empty(x.shape)
        for n, d in np.unique(np.stack([n_months, rate], axis=1), axis=0):
            rows = (n_months == n) & (rate == d)
            out[rows] = model_clv(bg, gg, x[rows], t_x[rows], T_[rows], m[rows], int(n),
                                  (1.0 + d) ** (1.0 / 12.0) - 1.0, 1.0, unit) * share[rows]
        return out

    return _by_cell("MODEL_CLV", (frequency, recency, age, monetary_value, months,
                                  annual_discount_rate, margin), checks, compute)


def _table_params(table: dict, names) -> dict:
    missing = [n for n in names if n not in table]
    if missing:
        raise ArgumentError(f"{missing[0]} is missing from the parameter table")
    return {n: table[n] for n in names}


CLV_FIT_COLUMNS = ["Parameter", "Estimate", "Std. error"]


@table_formula(sessions=SessionsRange(),
               as_of=DateArg("as-of date", "Optional: fit on Completed sessions up to this "
                             "day (blank: today)."),
               time_unit=TimeUnit(), model=FIT_CHOICE)
def CLV_FIT(sessions, as_of=None, time_unit=None, model=None):
    """Spills the fitted purchase model (its name, then r, alpha, a, b, or s, beta for Pareto/NBD) and Gamma-Gamma (p, q, gamma) with standard errors from a sessions range with its header row; "auto" picks as Recompute does. Feed it to P_ALIVE, MODEL_CLV."""
    as_of = as_of if as_of is not None else pd.Timestamp.today().normalize()
    done = sessions[(sessions["status"] == "Completed")
                    & (pd.to_datetime(sessions["date"]).dt.normalize() <= as_of)]
    if done.empty:
        raise ArgumentError(f"no Completed sessions on or before {as_of.date()}")
    amounts = pd.to_numeric(done["amount"], errors="coerce").fillna(0.0)
    rfm = rfm_from_transactions(done["client_id"], done["date"], as_of, time_unit, amounts)
    x, t_x, T_ = (rfm[k].to_numpy() for k in ("frequency", "recency", "T"))
    try:
        if model in (None, "auto"):  # the batch's holdout choice, on the same histories
            history = pd.DataFrame({"client_id": done["client_id"].to_numpy(),
                                    "date": pd.to_datetime(done["date"]).dt.normalize(),
                                    "amount": amounts.to_numpy()})
            bg, _, _, error = choose_purchase_model(history, as_of, time_unit, x, t_x, T_)
            if bg is None:
                raise error or ModelFitError("no purchase model could be fitted")
        else:
            bg = PURCHASE_MODELS[model]().fit(x, t_x, T_)
    except ModelFitError as error:
        raise ArgumentError(_short(error)) from None
    rows = [("model", bg.MODEL, np.nan)]
    rows += [(k, bg.params_[k], bg.se_[k]) for k in bg.params_]
    try:
        gg = GammaGamma().fit(rfm["frequency"], rfm["monetary_value"])
        rows += [(k, gg.params_[k], gg.se_[k]) for k in ("p", "q", "gamma")]
    except ModelFitError as error:  # spend model optional: blank estimates, reason shown
        rows += [(k, np.nan, f"not fitted: {_short(error)}") for k in ("p", "q", "gamma")]
    rows += [(f"log-likelihood {bg.MODEL}", bg.loglik_, np.nan),
             ("clients", bg.n_clients_, np.nan),
             ("time unit (days)", time_unit, np.nan)]
    return pd.DataFrame(rows, columns=CLV_FIT_COLUMNS, dtype=object)


def _short(error, limit: int = 160) -> str:
    text = str(error)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ------------------------------------------------------------------ memberships: sBG
# SBG_FIT, SBG_RETENTION, SBG_SURVIVAL, MEMBER_LIFETIME and MEMBER_TLV: thin layers over
# clv_xl.engine.models.sbg (Fader & Hardie 2007, 2010), for contract businesses: gyms, passes,
# subscriptions. Periods are the contract's (months or years). docs/memberships.md explains them.

from .args import CohortCounts  # noqa: E402
from ..engine.models import ShiftedBetaGeometric  # noqa: E402

SBG_PARAMETERS = dict(
    alpha=ModelParameter("alpha", "sBG alpha: first shape of the churn-probability beta (a number "
                         "more than 0). Or give the SBG_FIT table here and leave beta out."),
    beta=ModelParameter("beta", "Optional when alpha is the SBG_FIT table: sBG beta, second "
                        "shape of the churn-probability beta."),
)
RENEWALS = Number("renewals", "Optional: how many times the member has renewed (0: still in the "
                  "first period). Blank: a member about to sign up.", default=-1.0)
DISCOUNT = Number("discount rate", "Optional: discount rate per period, e.g. 10% (blank: none).",
                  fraction=True, default=0.0)
OWN_VALUE = -1.0  # a blank referral value: each referral is worth the member's own value
NEVER_LEAVE = ("with alpha at or below 1 some members never leave: give a discount rate "
               "for a finite value")


def _sbg(alpha, beta) -> ShiftedBetaGeometric:
    return ShiftedBetaGeometric(params=resolve_parameters(dict(alpha=alpha, beta=beta)))


def _whole_number(name, values):
    return [(values != np.round(values), f"{name} must be a whole number")]


@table_formula(active=CohortCounts(
    "active members", "Members active at the start of each period, the cohort's size first "
    "(a column or a row); or one row per cohort, each ending at its first blank."))
def SBG_FIT(active):
    """Spills the sBG retention model fitted to cohorts' active-member counts: alpha, beta with standard errors, the log-likelihood and the expected lifetime (Fader & Hardie 2007). Feed it to SBG_RETENTION, SBG_SURVIVAL, MEMBER_LIFETIME."""
    try:
        model = ShiftedBetaGeometric().fit(active)
    except ValueError as error:  # ModelFitError included
        raise ArgumentError(_short(error)) from None
    rows = [(k, model.params_[k], model.se_[k]) for k in ("alpha", "beta")]
    rows += [("log-likelihood sBG", model.loglik_, np.nan),
             ("members", model.n_members_, np.nan),
             ("expected lifetime (periods)", model.expected_lifetime(), np.nan)]
    table = pd.DataFrame(rows, columns=CLV_FIT_COLUMNS, dtype=object)
    return table.replace({np.inf: "no end (alpha <= 1)"})


@cell_formula(period=Number("period", "The renewal: 1 is the first renewal, into period 2 "
                            "counted from 1... (a whole number, 1 or more).", minimum=1.0),
              **SBG_PARAMETERS)
def SBG_RETENTION(period, alpha, beta=None):
    """Share of members active in the period before who renew into this one: (beta + t - 1) / (alpha + beta + t - 1), rising with t (sBG, Fader & Hardie 2007). Parameters: alpha, beta, or the SBG_FIT table in alpha."""
    model = _sbg(alpha, beta)
    return _by_cell("SBG_RETENTION", (period,), _whole_number("period", period), model.retention)


@cell_formula(periods=Number("periods", "Periods since the cohort started (a whole number, "
                             "0 or more)."), **SBG_PARAMETERS)
def SBG_SURVIVAL(periods, alpha, beta=None):
    """Share of a new cohort still a member after t periods: B(alpha, beta + t) / B(alpha, beta) (sBG, Fader & Hardie 2007). Parameters: alpha, beta, or the SBG_FIT table in alpha."""
    model = _sbg(alpha, beta)
    return _by_cell("SBG_SURVIVAL", (periods,), _whole_number("periods", periods), model.survival)


@cell_formula(unbounded=NEVER_LEAVE, **SBG_PARAMETERS, renewals=RENEWALS, discount_rate=DISCOUNT)
def MEMBER_LIFETIME(alpha, beta=None, renewals=None, discount_rate=0.0):
    """Periods a member will still pay, the next renewal's included, discounted if a rate is given (sBG DERL, Fader & Hardie 2010, eq. 6); blank renewals: a new member's whole lifetime. Parameters: alpha, beta, or the SBG_FIT table in alpha."""
    model = _sbg(alpha, beta)
    return _by_cell("MEMBER_LIFETIME", (renewals, discount_rate), _whole_number("renewals", renewals),
                    lambda n, d: model.discounted_expected_residual_lifetime(d, n))


@cell_formula(unbounded=NEVER_LEAVE,
              fee=Number("fee per period", "What a member pays per period."),
              **SBG_PARAMETERS, renewals=RENEWALS, discount_rate=DISCOUNT,
              referrals=Number("referrals", "Optional: members this member sends you (default 0).",
                               default=0.0),
              referral_value=Number("referral value", "Optional: the value of each referral "
                                    "(blank: the member's own value).", default=OWN_VALUE))
def MEMBER_TLV(fee, alpha, beta=None, renewals=None, discount_rate=0.0, referrals=0.0,
               referral_value=None):
    """Total life value of a member: fee per period x periods retained, the periods from the fitted sBG lifetime (MEMBER_LIFETIME) instead of a guess, plus referrals (seed 000). Parameters: alpha, beta, or the SBG_FIT table in alpha."""
    model = _sbg(alpha, beta)

    def compute(fee, n, d, referrals, referral_value):
        periods = model.discounted_expected_residual_lifetime(d, n)
        each = np.where(referral_value == OWN_VALUE, np.nan, referral_value)
        return formulas.tlv(fee, 1.0, periods, referrals, each)

    return _by_cell("MEMBER_TLV", (fee, renewals, discount_rate, referrals, referral_value),
                    _whole_number("renewals", renewals), compute)
