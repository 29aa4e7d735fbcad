"""Does the purchase model track reality? Cumulative repeat purchases, actual against expected.

Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 5, figure 2 (the
CDNOW tracking plot): for a group of clients, the cumulative number of repeat purchases they
made by each date, against the model's expectation sum_i E[X(t - s_i)], where s_i is client
i's first purchase and E[X(t)] the expected repeat purchases of a new client by time t
(eq. (7) for BG/NBD; the same with the MBG/NBD beta part for MBG/NBD). A model fitted on a
calibration period should follow the actual line there, and keep following it after, in a
holdout period it never saw.

Engine layer only: a frame of purchases in, a DataFrame out; no files, no Excel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The columns of :func:`cumulative_tracking`'s result.
TRACKING_COLUMNS = ("period", "actual", "expected", "holdout")


def cumulative_tracking(purchases: pd.DataFrame, model, at, unit_days: float,
                        split=None) -> pd.DataFrame:
    """Cumulative repeat purchases by each date of ``at``, actual and expected by ``model``.

    - purchases: one row per purchase, columns client_id and date (several on one day count
      as one purchase, as in the fit). A client's first purchase day is where the client
      enters (s_i); every later purchase day is a repeat purchase.
    - model: a fitted BetaGeo or ModifiedBetaGeo (anything with ``expected_purchases_new(t)``),
      its time unit ``unit_days`` days (7 for weeks).
    - at: the dates to report (each taken as the end of that day: purchases dated on it count).
    - split: the last day of the calibration period, or None. When given, only clients whose
      first purchase is on or before it are counted (on both lines: the model was fitted on
      them), and the rows after it are flagged as holdout.

    Returns one row per date of ``at``: period (the date), actual (repeat purchases made by
    then), expected (sum over clients of E[X(t - s_i)], t - s_i in the model's unit), holdout
    (True after ``split``). Expected is NaN where the model gives no finite value.
    """
    unit_days = float(unit_days)
    if not (np.isfinite(unit_days) and unit_days > 0):
        raise ValueError("unit_days must be a positive number of days (7 for weeks)")
    at = pd.DatetimeIndex(pd.to_datetime(at)).normalize()
    days = (pd.DataFrame({"client_id": purchases["client_id"].to_numpy(),
                          "date": pd.to_datetime(purchases["date"]).dt.normalize().to_numpy()})
            .drop_duplicates())
    first = days.groupby("client_id")["date"].transform("min")
    if split is not None:
        split = pd.Timestamp(split).normalize()
        days, first = days[first <= split], first[first <= split]
    repeat_dates = np.sort(days["date"].to_numpy()[days["date"].to_numpy() > first.to_numpy()])
    actual = np.searchsorted(repeat_dates, at.to_numpy(), side="right").astype(float)

    starts, counts = np.unique(days.groupby("client_id")["date"].min().to_numpy(),
                               return_counts=True)
    ages = (at.to_numpy()[:, None] - starts[None, :]) / np.timedelta64(1, "D") / unit_days
    entered = ages > 0
    expected_each = np.zeros(ages.shape)
    if np.any(entered):
        with np.errstate(all="ignore"):
            expected_each[entered] = np.asarray(model.expected_purchases_new(ages[entered]),
                                                dtype=float)
    expected = expected_each @ counts.astype(float)
    holdout = np.zeros(len(at), dtype=bool) if split is None else np.asarray(at > split)
    return pd.DataFrame({"period": at, "actual": actual,
                         "expected": np.where(np.isfinite(expected), expected, np.nan),
                         "holdout": np.asarray(holdout, dtype=bool)})


def tracking_dates(first, as_of, points: int) -> pd.DatetimeIndex:
    """``points`` dates from the day after ``first`` to ``as_of``, evenly spaced in whole days
    (the last is ``as_of``): a fixed number of rows, so a chart over them has no blank tail
    whatever the length of the history. Repeated dates when the history is shorter than
    ``points`` days."""
    first, as_of = pd.Timestamp(first).normalize(), pd.Timestamp(as_of).normalize()
    span = max((as_of - first).days, 1)
    steps = np.rint(np.arange(1, points + 1) * span / points).astype(int)
    return pd.DatetimeIndex(first + pd.to_timedelta(steps, unit="D"))
