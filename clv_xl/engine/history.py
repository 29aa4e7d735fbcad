"""From logs to one row per client: the sessions history and the contacts history.

Dates are whole days. A session counts as history when it is dated on or before the as-of
day; a Booked session dated on or after it is an upcoming booking. "Recent" is the window
of ``recent_days`` days ending on the as-of day (as_of - recent_days < date <= as_of).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SESSION_SUMMARY_COLUMNS = (
    "first_session", "last_session", "completed", "cancelled", "rescheduled", "upcoming",
    "revenue", "avg_order_value", "interval_days", "recent_bookings", "recent_cancelled",
    "frequency", "recency", "T",
)
CONTACT_SUMMARY_COLUMNS = ("recent_out", "recent_replied", "earlier_out", "earlier_replied")
#: The statuses of a session. A row with another status is no session: the book's validator
#: lists it as an error and leaves it out, and the engine ignores it, so every door agrees.
STATUSES = ("Completed", "Cancelled", "Rescheduled", "Booked")


def summarize(sessions: pd.DataFrame, as_of, recent_days: float = 365.0) -> pd.DataFrame:
    """One row per client id from a sessions log (client_id, date, amount, status).

    - first_session, last_session: first and last Completed session on or before as_of;
    - completed, cancelled, rescheduled: counts on or before as_of; upcoming: Booked from as_of on;
    - revenue: sum of Completed amounts; avg_order_value: revenue / completed (seed 004);
    - interval_days: the client's usual rhythm, (last - first) / (completed - 1), left blank
      (NaN) with fewer than two Completed sessions or all of them on one day (seed 001);
    - recent_bookings, recent_cancelled: bookings of any of the four statuses (:data:`STATUSES`;
      rows with another status are ignored) in the recent window, and how many of them were
      Cancelled or Rescheduled (seed 001 warning sign);
    - frequency, recency, T: the BTYD triple in days (Fader, Hardie & Lee 2005, sec. 2):
      repeat purchases counted as distinct days after the first, last - first, as_of - first.
    """
    as_of = pd.Timestamp(as_of).normalize()
    ids = sessions["client_id"]
    date = pd.to_datetime(sessions["date"]).dt.normalize()
    status = sessions["status"]
    past = date <= as_of
    done = past & (status == "Completed")
    recent = past & (date > as_of - pd.Timedelta(days=recent_days)) & status.isin(STATUSES)
    flags = pd.DataFrame({
        "completed": done,
        "cancelled": past & (status == "Cancelled"),
        "rescheduled": past & (status == "Rescheduled"),
        "upcoming": (date >= as_of) & (status == "Booked"),
        "revenue": np.where(done, pd.to_numeric(sessions["amount"]).fillna(0.0), 0.0),
        "recent_bookings": recent,
        "recent_cancelled": recent & status.isin(["Cancelled", "Rescheduled"]),
    })
    out = flags.groupby(ids.to_numpy(), sort=True).sum()
    counts = [c for c in out.columns if c != "revenue"]
    out[counts] = out[counts].astype("int64")

    done_dates = pd.DataFrame({"client_id": ids[done].to_numpy(), "date": date[done].to_numpy()})
    span = done_dates.groupby("client_id")["date"].agg(["min", "max"])
    out["first_session"] = span["min"].reindex(out.index)
    out["last_session"] = span["max"].reindex(out.index)
    days_between = (out["last_session"] - out["first_session"]).dt.days
    with np.errstate(divide="ignore", invalid="ignore"):
        out["avg_order_value"] = out["revenue"] / out["completed"].where(out["completed"] > 0)
        out["interval_days"] = (days_between / (out["completed"] - 1)).where(days_between > 0)

    distinct_days = done_dates.drop_duplicates().groupby("client_id").size()
    out["frequency"] = (distinct_days.reindex(out.index) - 1).astype(float)
    out["recency"] = days_between.astype(float)
    out["T"] = (as_of - out["first_session"]).dt.days.astype(float)
    out.index.name = "client_id"
    return out[list(SESSION_SUMMARY_COLUMNS)]


def summarize_contacts(contacts: pd.DataFrame, as_of, recent_days: float = 365.0) -> pd.DataFrame:
    """One row per client id from a contacts log (client_id, date, direction, replied).

    Counts your messages (direction Out) in the recent window and before it, and how many of
    each the client replied to: the reply rate is the seed 001 warning sign "replies slow
    down or stop". Messages after as_of are ignored.
    """
    as_of = pd.Timestamp(as_of).normalize()
    date = pd.to_datetime(contacts["date"]).dt.normalize()
    out_msg = (contacts["direction"] == "Out") & (date <= as_of)
    recent = date > as_of - pd.Timedelta(days=recent_days)
    replied = contacts["replied"] == "Yes"
    flags = pd.DataFrame({
        "recent_out": out_msg & recent,
        "recent_replied": out_msg & recent & replied,
        "earlier_out": out_msg & ~recent,
        "earlier_replied": out_msg & ~recent & replied,
    })
    out = flags.groupby(contacts["client_id"].to_numpy(), sort=True).sum().astype("int64")
    out.index.name = "client_id"
    return out[list(CONTACT_SUMMARY_COLUMNS)]
