"""Model-based client lifetime value: BG/NBD purchases times Gamma-Gamma spend, discounted monthly.

CLV over M months = sum_{m=1..M} (E[Y(t_m)] - E[Y(t_{m-1})]) * spend * margin / (1 + d)^m

where E[Y(t)] is the BG/NBD conditional expectation (Fader, Hardie & Lee
2005, eq. (10)), spend is the Gamma-Gamma conditional expected average value
(Fader, Hardie & Lee 2005 "RFM and CLV", eq. (5)), and t_m is the end of
month m in the BG/NBD model's time unit. A month is 365.25 / 12 = 30.4375
days, so t_m = m * 30.4375 / time_unit_days (e.g. 4.348 weeks).
Cash flows within a month are discounted as if received at the month's end.
"""

from __future__ import annotations

import numpy as np

from ..units import DAYS_PER_MONTH
from ._fit import as_float_array, scalar_or_array
from ._threads import one_blas_thread

#: Month-by-client values computed at a time (8 bytes each, a few temporaries of this size).
BLOCK_VALUES = 1_000_000


@one_blas_thread
def model_clv(
    bgnbd,
    gamma_gamma,
    frequency,
    recency,
    T,
    monetary_value,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    margin: float = 1.0,
    time_unit_days: float | None = None,
):
    """Discounted expected margin over the next ``months`` months, per client.

    ``bgnbd`` is a fitted (or parameterised) BetaGeo or ModifiedBetaGeo whose
    time unit is ``time_unit_days`` days (7 for weeks, 1 for days); ``recency``
    and ``T`` are in that unit. Left as None, the model's own
    ``time_unit_days`` is used, else 7 (weeks); a value that contradicts the
    model's own unit raises ValueError. ``gamma_gamma`` is a GammaGamma model giving the
    expected spend per purchase from (frequency, monetary_value); pass None
    to use ``monetary_value`` as the expected spend directly. ``margin`` is
    the profit share of spend (1.0 = revenue). Implements the sum in the
    module docstring with eq. (10) of Fader, Hardie & Lee (2005) for the
    purchases and eq. (5) of Fader, Hardie & Lee (2005, "RFM and CLV") for
    the spend.
    """
    own_unit = getattr(bgnbd, "time_unit_days", None)
    if time_unit_days is None:
        time_unit_days = 7.0 if own_unit is None else own_unit
    elif own_unit is not None and abs(own_unit - time_unit_days) > 1e-9 * own_unit:
        raise ValueError(f"time_unit_days={time_unit_days:g} contradicts the model's time unit "
                         f"({own_unit:g} days)")
    months = int(months)
    if months < 0:
        raise ValueError("months must be >= 0")
    if time_unit_days <= 0:
        raise ValueError("time_unit_days must be positive")
    if monthly_discount_rate <= -1:
        raise ValueError("monthly_discount_rate must be > -1")
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    T = as_float_array(T, "T")
    m = as_float_array(monetary_value, "monetary_value")
    x, t_x, T, m = np.broadcast_arrays(x, t_x, T, m)
    if gamma_gamma is None:
        spend = m
    else:
        spend = np.asarray(gamma_gamma.conditional_expected_average_profit(x, m))

    month_ends = np.arange(months + 1, dtype=float) * DAYS_PER_MONTH / time_unit_days
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, months + 1, dtype=float)
    discounted = np.empty(x.shape)
    flat = discounted.reshape(-1)
    # (months + 1) x clients values per step: a block of clients at a time keeps the
    # temporaries of the BG/NBD expectation near BLOCK_VALUES floats, whatever the count
    step = max(1, BLOCK_VALUES // (months + 1))
    xs, t_xs, Ts = x.reshape(-1), t_x.reshape(-1), T.reshape(-1)
    for start in range(0, flat.size, step):
        block = slice(start, start + step)
        cumulative = np.asarray(bgnbd.conditional_expected_purchases(
            month_ends[:, None], xs[block], t_xs[block], Ts[block]))
        flat[block] = discount @ np.diff(cumulative, axis=0)
    return scalar_or_array(discounted * spend * margin)
