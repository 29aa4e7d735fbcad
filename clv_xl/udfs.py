"""The Excel formulas: =CLV(...), =TLV(...), =CHURN_RISK(...) and friends.

In Excel: ``xlwings addin install``, put ``clv_xl.udfs`` in UDF Modules, Import Functions.
Each formula takes a cell or a range (ranges of one size) and answers in the same shape.
Each one is a thin layer over the engine; the docstring is the help Excel shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import churn, formulas
from .excel_args import DateArg, Flag, Number, SessionsRange, SettingsRange
from .excel_function import cell_formula, table_formula
from .metrics import client_metrics
from .schema import CLIENTS, LABELS

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
    """Client lifetime value: ((order value x purchases) - acquisition cost) x margin, as in the worked example of seed 004: ((90 x 3) - 6) x 20% = 52.80."""
    return formulas.clv(avg_order_value, purchases, acquisition_cost, margin)


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
    margin_per_period=Number("margin per period", "Profit from the client per period."),
    retention_rate=Number("retention rate", "Share of clients kept each period, e.g. 80%.",
                          fraction=True),
    discount_rate=Number("discount rate", "Discount rate per period, e.g. 10%.", fraction=True),
    periods=Number("periods", "Optional: the horizon in periods (blank: no end).",
                   default=np.nan),
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
    """Churn risk from 0 to 1: overdue against the client's rhythm, cancellations and fewer replies, weighted (seed 001; docs/churn-risk.md)."""
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
    score=Number("score", "The churn-risk score from 0 to 1.", fraction=True),
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
               as_of=DateArg("as-of date", "Optional: the day to compute for (blank: today)."),
               settings=SETTINGS)
def CLV_SUMMARY(sessions, as_of=None, settings=None):
    """Spills one row per client from a sessions range with its header row: sessions, revenue, CLV, churn risk and stage."""
    ids = pd.unique(sessions["client_id"])
    clients = pd.DataFrame({key: ids if key == "client_id" else None for key in CLIENTS.keys})
    metrics = client_metrics(clients, sessions, None, settings, as_of).reset_index()
    return metrics[list(SUMMARY_COLUMNS)].set_axis([LABELS[c] for c in SUMMARY_COLUMNS], axis=1)
