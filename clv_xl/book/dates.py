"""The dates clv-xl computes with: 1900-01-01 to 2189-12-31.

Excel's dates run from 1900-01-01 to 9999-12-31. The engine computes with pandas timestamps in
nanoseconds: they end on 2262-04-11, and the difference of two of them (days since, a
client's age) must stay within 292 years. From 1900, that allows dates up to 2189-12-31 (with
two years to spare for intervals added to them). A date outside the range is a bad value
with a reason, never a crash: :func:`range_reason` says why, for a date, a datetime, a
Timestamp or ISO text ("0001-01-01"); :func:`in_range` is the mask over a column.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2189, 12, 31)
AFTER = f"date after {LAST_DAY:%Y-%m-%d}: not supported"
BEFORE = f"date before {FIRST_DAY:%Y-%m-%d}: not supported (Excel's dates start in 1900)"
#: Excel's serial number of 9999-12-31, its last day (the 1900 date system).
LAST_SERIAL = 2958465
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def day_of(value) -> dt.date | None:
    """The calendar day of a date, datetime, Timestamp or ISO text (YYYY-MM-DD...), else
    None."""
    if isinstance(value, (dt.date, pd.Timestamp)) and value == value:  # NaT != NaT
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def range_reason(value) -> str | None:
    """Why the day of ``value`` is outside the supported range, or None (inside it, or not a
    date at all)."""
    day = day_of(value)
    if day is None:
        return None
    if day > LAST_DAY:
        return AFTER
    if day < FIRST_DAY:
        return BEFORE
    return None


def in_range(parsed: pd.Series) -> np.ndarray:
    """Which parsed datetimes (any unit; NaT is False) lie in the supported range."""
    days = parsed.dt.normalize()
    return ((days >= pd.Timestamp(FIRST_DAY)) & (days <= pd.Timestamp(LAST_DAY))).to_numpy(bool)


def from_serial(number: float) -> dt.datetime | None:
    """An Excel serial day number (1 = 1900-01-01, 1900 date system) as a datetime, or None
    outside 1..9999-12-31. Serials before 61 count Excel's phantom 1900-02-29, as Excel."""
    if not (1 <= number <= LAST_SERIAL + 0.99999):
        return None
    if number < 61:
        number += 1  # Excel's 1900-02-29 (serial 60) does not exist; earlier days shift by one
    return _EXCEL_EPOCH + dt.timedelta(days=float(number))
