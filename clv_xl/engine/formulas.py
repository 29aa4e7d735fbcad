"""The closed-form value formulas of the seed documents.

Every function takes scalars or arrays (numpy or pandas) and returns the same shape.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._shape import as_arrays, like_inputs


def clv(avg_order_value, purchases, acquisition_cost=0.0, margin=1.0):
    """Client lifetime value: ((average order value x purchases) - acquisition cost) x margin.

    Source: seed 004 (the CLV chapter). Its text writes "... / average margin", but its own
    worked example multiplies: ((90 x 3) - 6) x 0.2 = 52.80. We follow the example. Note that
    this form applies the margin to the acquisition cost too; ``net_clv`` is the common form
    AOV x purchases x margin - CAC (48.00 for the same example).
    """
    aov, n, cac, m = as_arrays(avg_order_value, purchases, acquisition_cost, margin)
    return like_inputs((aov * n - cac) * m, avg_order_value, purchases, acquisition_cost, margin)


def net_clv(avg_order_value, purchases, acquisition_cost=0.0, margin=1.0):
    """Net client lifetime value: average order value x purchases x margin - acquisition cost.

    The common textbook form (gross margin earned over the lifetime, minus what winning the
    client cost): the margin applies to revenue only, the acquisition cost is subtracted in
    full. ``clv`` (seed 004's example) instead applies the margin to the acquisition cost too.
    Seed 004's example both ways: clv(90, 3, 6, 20%) = ((90 x 3) - 6) x 0.2 = 52.80;
    net_clv(90, 3, 6, 20%) = 90 x 3 x 0.2 - 6 = 48.00. They differ by CAC x (1 - margin).
    """
    aov, n, cac, m = as_arrays(avg_order_value, purchases, acquisition_cost, margin)
    return like_inputs(aov * n * m - cac, avg_order_value, purchases, acquisition_cost, margin)


def tlv(avg_sale, purchases_per_period, periods, referrals=0.0, referral_value=None):
    """Total life value: average sale x purchases per period x periods retained, plus referrals.

    Source: seed 000. A gym member paying 20 a month for 5 years: 20 x 12 x 5 = 1,200. A
    studio client spending 400 once a year for 10 years: 4,000; with 4 referrals each worth
    the same, 4,000 + 4 x 4,000 = 20,000. ``referral_value`` (None or NaN) defaults to the
    client's own value.
    """
    sale, per_period, n_periods, n_referrals = as_arrays(
        avg_sale, purchases_per_period, periods, referrals)
    own = sale * per_period * n_periods
    given = np.nan if referral_value is None else np.asarray(referral_value, dtype=float)
    each_referral = np.where(np.isnan(given), own, given)
    return like_inputs(own + n_referrals * each_referral,
                       avg_sale, purchases_per_period, periods, referrals)


def retention_clv(margin_per_period, retention_rate, discount_rate, periods=None):
    """Lifetime value from a margin per period, a retention rate and a discount rate.

    Source: Gupta & Lehmann (2003), "Customers as assets", J. Interactive Marketing 17(1),
    the margin multiplier: the client pays m at the end of each period survived, so
    CLV = sum_{t=1..T} m (r / (1 + d))^t, which for an unlimited horizon is m r / (1 + d - r).
    ``periods`` None (or NaN) means unlimited. A fractional number of periods is taken by the
    same closed form, m q (1 - q^n) / (1 - q) with q = r / (1 + d): it interpolates between
    the whole periods around it (2.5 periods of 100 at 80% and 10% give 146.38, between 125.62
    for 2 and 164.09 for 3).
    """
    m, r, d, n = as_arrays(margin_per_period, retention_rate, discount_rate,
                           np.nan if periods is None else periods)
    q = r / (1.0 + d)
    with np.errstate(invalid="ignore", divide="ignore"):
        finite = np.where(q == 1.0, m * n, m * q * (1.0 - q ** n) / (1.0 - q))
        unlimited = m * r / (1.0 + d - r)  # infinite when r = 1 and d = 0
    result = np.where(np.isnan(n), unlimited, finite)
    return like_inputs(result, margin_per_period, retention_rate, discount_rate, periods)


def expected_lifetime(churn_rate):
    """Expected number of periods a client stays: 1 / churn rate (geometric lifetime).

    Source: seed 002/003 (retention economics); the mean of a geometric distribution.
    """
    (c,) = as_arrays(churn_rate)
    with np.errstate(divide="ignore"):
        return like_inputs(1.0 / c, churn_rate)


LEVERS = ("Order value", "Purchases", "Acquisition cost", "Margin")


def clv_levers(avg_order_value, purchases, acquisition_cost=0.0, margin=1.0, change=0.10):
    """What a better value of each of the four levers of seed 004 does to CLV.

    Source: seed 004: CLV rises with order value, purchase count and margin, and falls with
    acquisition cost. Each row moves one lever by ``change`` in its good direction (up, but
    acquisition cost down; margin is capped at 100%), the last row moves all four.
    Returns a table: lever, from, to, CLV before, CLV after, gain, gain %.
    """
    base = dict(avg_order_value=float(avg_order_value), purchases=float(purchases),
                acquisition_cost=float(acquisition_cost), margin=float(margin))
    better = dict(avg_order_value=base["avg_order_value"] * (1 + change),
                  purchases=base["purchases"] * (1 + change),
                  acquisition_cost=base["acquisition_cost"] * (1 - change),
                  margin=min(1.0, base["margin"] * (1 + change)))
    before = clv(**base)
    rows = []
    for lever, key in zip(LEVERS, base):
        after = clv(**{**base, key: better[key]})
        rows.append((lever, base[key], better[key], before, after))
    rows.append(("All four", np.nan, np.nan, before, clv(**better)))
    table = pd.DataFrame(rows, columns=["lever", "from", "to", "clv_before", "clv_after"])
    table["gain"] = table["clv_after"] - table["clv_before"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["gain_pct"] = table["gain"] / abs(before) if before else np.nan
    return table
