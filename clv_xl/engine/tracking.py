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
    first, day, client = _purchase_days(purchases)  # day numbers; first per client
    if split is not None:
        split = pd.Timestamp(split).normalize()
        cohort = first <= _day_number(split)
        keep = cohort[client]
        day, client, first = day[keep], np.cumsum(cohort)[client[keep]] - 1, first[cohort]
    repeat_days = np.sort(day[day > first[client]])
    at_days = _day_number(at)
    actual = np.searchsorted(repeat_days, at_days, side="right").astype(float)

    starts, counts = np.unique(first, return_counts=True)
    age_days = (at_days[:, None] - starts[None, :]).astype(float)
    entered = age_days > 0
    expected_each = np.zeros(age_days.shape)
    if np.any(entered):  # ages are whole days: E[X] once per distinct age
        ages, which = np.unique(age_days[entered], return_inverse=True)
        with np.errstate(all="ignore"):
            per_age = np.asarray(model.expected_purchases_new(ages / unit_days), dtype=float)
        expected_each[entered] = np.atleast_1d(per_age)[which.ravel()]
    expected = expected_each @ counts.astype(float)
    holdout = np.zeros(len(at), dtype=bool) if split is None else np.asarray(at > split)
    return pd.DataFrame({"period": at, "actual": actual,
                         "expected": np.where(np.isfinite(expected), expected, np.nan),
                         "holdout": np.asarray(holdout, dtype=bool)})


def _day_number(dates) -> np.ndarray:
    """Whole days since 1970-01-01 of a date or dates (normalised)."""
    values = np.asarray(pd.DatetimeIndex(np.atleast_1d(pd.to_datetime(dates))).normalize()
                        .to_numpy(dtype="datetime64[D]"))
    return values.astype(np.int64)


def _purchase_days(purchases: pd.DataFrame):
    """(first purchase day per client, each distinct purchase day, its client's number): day
    numbers from :func:`_day_number`; several purchases of a client on one day are one."""
    codes, _ = pd.factorize(purchases["client_id"], sort=False)
    dates = pd.to_datetime(purchases["date"])
    known = (codes >= 0) & dates.notna().to_numpy()
    if not known.any():
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    codes, days = codes[known], _day_number(dates[known])
    low = int(days.min())
    span = int(days.max()) - low + 1
    pairs = np.sort(codes.astype(np.int64) * span + (days - low))  # by client, then day
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    client, day = pairs // span, pairs % span + low
    starts = np.flatnonzero(np.r_[True, client[1:] != client[:-1]])
    return day[starts], day, np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(day)]))


def tracking_dates(first, as_of, points: int) -> pd.DatetimeIndex:
    """``points`` dates from the day after ``first`` to ``as_of``, evenly spaced in whole days
    (the last is ``as_of``): a fixed number of rows, so a chart over them has no blank tail
    whatever the length of the history. Repeated dates when the history is shorter than
    ``points`` days."""
    first, as_of = pd.Timestamp(first).normalize(), pd.Timestamp(as_of).normalize()
    span = max((as_of - first).days, 1)
    steps = np.rint(np.arange(1, points + 1) * span / points).astype(int)
    return pd.DatetimeIndex(first + pd.to_timedelta(steps, unit="D"))
