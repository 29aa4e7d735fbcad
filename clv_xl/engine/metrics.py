"""Per-client value and risk, and value by segment: the figures the workbook shows.

:func:`client_metrics` is what the template computes with native formulas (churn risk the
recency curve scaled to the business's lapsed share, :func:`clv_xl.engine.churn_model.
native_churn_risk`); :func:`client_figures` is what every Python door shows (the Forecast
sheet, ``clv-xl summary``, the report): the same figures with churn risk the probability
learned by :func:`clv_xl.engine.churn_model.learn_churn`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import churn
from .churn_model import (ChurnResult, booking_fails, business_rhythm, horizon_days,
                          learn_churn, native_churn_risk)
from .formulas import clv
from .history import summarize, summarize_contacts
from ..book.schema import CONTACTS, NO_SEGMENT
from ..book.settings import Settings


def client_metrics(clients: pd.DataFrame, sessions: pd.DataFrame,
                   contacts: pd.DataFrame | None = None, settings: Settings | None = None,
                   as_of=None) -> pd.DataFrame:
    """One row per client of ``clients`` (in its order): the history, value and churn risk.

    Value (seeds 004 and 000):
    - clv: CLV to date, ((average order value x completed sessions) - acquisition cost) x
      margin; a blank acquisition cost takes the default in Settings;
    - tlv: total life value to date: the client's revenue plus the revenue of the clients whose
      "referred by" names them (direct referrals; a referrer's referrals count for the referrer).

    Risk: days_since is counted from the last completed session, or from the first contact
    for a client with none.
    - rhythm: the client's usual interval, or the business's median one (fewer than two
      sessions);
    - warning_score, main_reason: the seed 001 weighted warning signs with that rhythm
      (:mod:`clv_xl.engine.churn`), and the sign that adds most;
    - churn_risk: the chance of no completed session within the churn horizon, as the template
      computes it natively: recency on a curve scaled to the business's lapsed share
      (:func:`clv_xl.engine.churn_model.native_churn_risk`), less for a client with a session
      booked within the horizon (booked_in_horizon); blank for prospects; its scalars in
      ``attrs["native_churn"]``;
    - risk_band (from churn_risk, blank for prospects) and lifecycle_stage
      (:func:`clv_xl.engine.churn.stage_from_risk`).

    ``as_of`` defaults to the as-of date in Settings, then today.
    """
    settings = settings if settings is not None else Settings()
    as_of = pd.Timestamp(as_of or settings.as_of or pd.Timestamp.today()).normalize()
    if contacts is None:
        contacts = pd.DataFrame(columns=CONTACTS.keys)

    ids = clients["client_id"]
    out = pd.DataFrame(index=pd.Index(ids, name="client_id"))
    out["segment"] = clients["segment"].to_numpy()
    history = summarize(sessions, as_of, settings.recent_days).reindex(out.index)
    talk = summarize_contacts(contacts, as_of, settings.recent_days).reindex(out.index)
    counts = ["completed", "cancelled", "rescheduled", "upcoming", "recent_bookings",
              "recent_cancelled"]
    history[counts] = history[counts].fillna(0).astype("int64")
    history["revenue"] = history["revenue"].fillna(0.0)
    talk = talk.fillna(0).astype("int64")
    out = out.join(history)

    first_contact = pd.to_datetime(clients["first_contact"]).dt.normalize().to_numpy()
    since = out["last_session"].fillna(pd.Series(first_contact, index=out.index))
    out["days_since"] = (as_of - since).dt.days.astype(float)

    cac = pd.to_numeric(clients["acquisition_cost"]).fillna(settings.default_acquisition_cost)
    out["acquisition_cost"] = cac.to_numpy()
    out["clv"] = clv(out["avg_order_value"].fillna(0.0), out["completed"], out["acquisition_cost"],
                     settings.margin)
    referred = (out.assign(referred_by=clients["referred_by"].to_numpy())
                .groupby("referred_by")["revenue"].agg(["size", "sum"]))
    out["referrals"] = referred["size"].reindex(out.index).fillna(0).astype("int64")
    out["referral_revenue"] = referred["sum"].reindex(out.index).fillna(0.0)
    out["tlv"] = out["revenue"] + out["referral_revenue"]

    with np.errstate(divide="ignore", invalid="ignore"):
        cancel_share = np.where(out["recent_bookings"] > 0,
                                out["recent_cancelled"] / out["recent_bookings"], 0.0)
        reply_now = talk["recent_replied"] / talk["recent_out"].where(talk["recent_out"] > 0)
        reply_before = talk["earlier_replied"] / talk["earlier_out"].where(talk["earlier_out"] > 0)
    out = out.join(talk)
    out["cancel_share"] = cancel_share
    out["reply_rate_now"] = reply_now.to_numpy()
    out["reply_rate_before"] = reply_before.to_numpy()
    out["rhythm"] = out["interval_days"].fillna(
        business_rhythm(out["interval_days"], settings.default_interval_days))
    signs = _signs(out, out["rhythm"])
    out["warning_score"] = churn.churn_risk(*signs, settings=settings)
    out["main_reason"] = churn.main_reason(*signs, settings=settings)
    out["booked_in_horizon"] = _booked_in_horizon(out, sessions, as_of, settings)
    out["churn_risk"], scalars = _native_churn_risk(out, as_of, settings)
    out.attrs["native_churn"] = scalars
    out["risk_band"] = np.where(out["churn_risk"].notna(),
                                churn.risk_band(out["churn_risk"].fillna(0).to_numpy(), settings),
                                None)
    out["lifecycle_stage"] = churn.stage_from_risk(
        out["completed"], out["days_since"], out["rhythm"], out["churn_risk"],
        out["upcoming"] > 0, settings)
    return out


def _booked_in_horizon(out: pd.DataFrame, sessions: pd.DataFrame, as_of: pd.Timestamp,
                       settings: Settings) -> np.ndarray:
    """Per client, the Booked sessions dated from as_of to the end of the churn horizon."""
    date = pd.to_datetime(sessions["date"]).dt.normalize()
    ahead = sessions[(sessions["status"] == "Booked") & (date >= as_of)
                     & (date <= as_of + pd.Timedelta(days=horizon_days(settings)))]["client_id"]
    return ahead.value_counts().reindex(out.index).fillna(0).astype("int64").to_numpy()


def _native_churn_risk(out: pd.DataFrame, as_of: pd.Timestamp,
                       settings: Settings) -> tuple[np.ndarray, dict]:
    """The template's churn risk (:func:`clv_xl.engine.churn_model.native_churn_risk`) for
    the clients with a completed session, NaN for the others; and its scalars (window,
    share, centres, fails; empty when no client has a session)."""
    has = (out["completed"] > 0).to_numpy()
    risk = np.full(len(out), np.nan)
    if not has.any():
        return risk, {}
    first = out["first_session"][has]
    age = (as_of - first).dt.days.to_numpy(float)
    span = float((as_of - first.min()).days)
    fails = booking_fails(int(out["completed"].sum()), int(out["cancelled"].sum()))
    risk[has], scalars = native_churn_risk(out["days_since"].to_numpy()[has], age,
                                           out["booked_in_horizon"].to_numpy()[has] > 0, fails,
                                           horizon_days(settings), span)
    return risk, scalars


def _signs(out: pd.DataFrame, interval_days):
    """The arguments of the seed 001 sign functions, from a client_metrics table."""
    return (out["days_since"], interval_days, out["cancel_share"].to_numpy(),
            out["reply_rate_now"].to_numpy(), out["reply_rate_before"].to_numpy(),
            out["upcoming"] > 0)


def client_figures(clients: pd.DataFrame, sessions: pd.DataFrame,
                   contacts: pd.DataFrame | None = None, settings: Settings | None = None,
                   as_of=None) -> tuple[pd.DataFrame, ChurnResult]:
    """:func:`client_metrics` with churn risk the learned probability, and how it was learned.

    - churn_risk: the chance of no completed session within the churn horizon
      (:func:`clv_xl.engine.churn_model.learn_churn`); blank for prospects;
    - warning_score: the seed 001 weighted warning signs, with the business's usual
      interval for clients with fewer than two sessions;
    - risk_band: Low, Medium or High churn risk, by the thresholds in Settings;
    - main_reason: the warning sign that adds most for the client (same rhythm);
    - lifecycle_stage: Prospect, New, Retained, At risk (High churn risk) or Lapsed (High
      churn risk and no session for ``lapsed_after`` usual intervals, none booked).
    """
    settings = settings if settings is not None else Settings()
    as_of = pd.Timestamp(as_of or settings.as_of or pd.Timestamp.today()).normalize()
    out = client_metrics(clients, sessions, contacts, settings, as_of)
    result = learn_churn(clients["client_id"], sessions, contacts, as_of, settings)
    out["churn_risk"] = result.probability.to_numpy()
    out["risk_band"] = np.where(out["churn_risk"].notna(),
                                churn.risk_band(out["churn_risk"].fillna(0).to_numpy(), settings),
                                None)
    out["lifecycle_stage"] = churn.stage_from_risk(
        out["completed"], out["days_since"], out["rhythm"], out["churn_risk"],
        out["upcoming"] > 0, settings)
    return out, result


def segment_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """CLV by segment (seed 004: the once-a-year gift buyer against the collector).

    Per segment (clients with a blank one under ``NO_SEGMENT``): clients, total and average
    CLV and TLV, average order value, completed sessions per client, revenue, and the share
    of clients at High risk.
    """
    by = metrics.assign(segment=metrics["segment"].fillna(NO_SEGMENT),
                        high=metrics["risk_band"] == "High").groupby("segment", sort=True)
    table = pd.DataFrame({
        "clients": by.size(),
        "clv_total": by["clv"].sum(),
        "clv_avg": by["clv"].mean(),
        "tlv_avg": by["tlv"].mean(),
        "revenue": by["revenue"].sum(),
        "sessions_per_client": by["completed"].mean(),
        "share_high_risk": by["high"].mean(),
    })
    table["avg_order_value"] = table["revenue"] / by["completed"].sum().where(
        lambda n: n > 0)
    return table
