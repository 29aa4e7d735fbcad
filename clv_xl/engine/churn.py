"""The churn-risk score: the seed 001 warning signs, weighted, in plain arithmetic.

Three signs, each between 0 and 1 (docs/churn-risk.md has the definition and the Excel form):

- overdue: days since the last session against the client's own rhythm; 0 up to
  ``overdue_start`` usual intervals, rising in a straight line to 1 at ``overdue_full``;
  0 while a session is booked;
- cancellations: the share of recent bookings that were cancelled or rescheduled;
- fewer replies: how far the reply rate to your messages fell, recent against before
  (before: 100% when there were no earlier messages; no recent messages: no sign).

The score is their weighted mean. Every function takes scalars or arrays.
"""

from __future__ import annotations

import numpy as np

from ._shape import as_arrays, like_inputs
from ..book.schema import NO_REASON, REASONS, RISK_BANDS
from ..book.settings import Settings

DEFAULTS = Settings()


def rhythm(interval_days, settings: Settings = DEFAULTS):
    """The client's usual days between sessions, or the business default where unknown."""
    (interval,) = as_arrays(interval_days)
    return np.where(np.isnan(interval), settings.default_interval_days, interval)


def overdue_sign(days_since, interval_days, upcoming=False, settings: Settings = DEFAULTS):
    """Seed 001: "time since the last session grows past the client's usual rhythm"."""
    days, upcoming_ = as_arrays(days_since, upcoming)
    ratio = days / rhythm(interval_days, settings)
    rising = (ratio - settings.overdue_start) / (settings.overdue_full - settings.overdue_start)
    sign = np.clip(np.nan_to_num(rising, nan=0.0), 0.0, 1.0)
    return np.where(upcoming_ > 0, 0.0, sign)


def cancellation_sign(recent_cancelled, recent_bookings):
    """Seed 001: "bookings get cancelled or rescheduled more often"."""
    cancelled, bookings = as_arrays(recent_cancelled, recent_bookings)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bookings > 0, cancelled / bookings, 0.0)


def reply_sign(reply_rate_now, reply_rate_before=np.nan):
    """Seed 001: "replies to your messages slow down or stop" (rates between 0 and 1)."""
    now, before = as_arrays(reply_rate_now, reply_rate_before)
    before = np.where(np.isnan(before), 1.0, before)
    return np.where(np.isnan(now), 0.0, np.maximum(0.0, before - now))


def weighted_signs(days_since, interval_days, cancel_share=0.0, reply_rate_now=np.nan,
                   reply_rate_before=np.nan, upcoming=False, settings: Settings = DEFAULTS):
    """The three signs times their weights, shape (..., 3), in the order of ``REASONS``."""
    weights = np.array([settings.weight_overdue, settings.weight_cancellations,
                        settings.weight_replies]) / (settings.weight_overdue
                                                     + settings.weight_cancellations
                                                     + settings.weight_replies)
    signs = np.broadcast_arrays(
        overdue_sign(days_since, interval_days, upcoming, settings),
        np.clip(np.asarray(cancel_share, dtype=float), 0.0, 1.0),
        reply_sign(reply_rate_now, reply_rate_before),
    )
    return np.stack(signs, axis=-1) * weights


def churn_risk(days_since, interval_days, cancel_share=0.0, reply_rate_now=np.nan,
               reply_rate_before=np.nan, upcoming=False, settings: Settings = DEFAULTS):
    """Churn-risk score in [0, 1]: the weighted mean of the seed 001 warning signs."""
    parts = weighted_signs(days_since, interval_days, cancel_share, reply_rate_now,
                           reply_rate_before, upcoming, settings)
    return like_inputs(parts.sum(axis=-1), days_since, interval_days, cancel_share)


def main_reason(days_since, interval_days, cancel_share=0.0, reply_rate_now=np.nan,
                reply_rate_before=np.nan, upcoming=False, settings: Settings = DEFAULTS):
    """The sign that adds most to the score (ties: the first of Overdue, Cancellations,
    Fewer replies), or "No warning signs" when the score is 0."""
    parts = weighted_signs(days_since, interval_days, cancel_share, reply_rate_now,
                           reply_rate_before, upcoming, settings)
    labels = np.array(REASONS, dtype=object)[parts.argmax(axis=-1)]
    result = np.where(parts.sum(axis=-1) > 0, labels, NO_REASON)
    return result.item() if result.ndim == 0 else result


def risk_band(score, settings: Settings = DEFAULTS):
    """Low, Medium or High, by the thresholds in Settings."""
    (s,) = as_arrays(score)
    result = np.select([s >= settings.band_high, s >= settings.band_medium],
                       [RISK_BANDS[2], RISK_BANDS[1]], RISK_BANDS[0]).astype(object)
    return result.item() if result.ndim == 0 else result


def lifecycle_stage(completed, days_since, interval_days, score, upcoming=False,
                    settings: Settings = DEFAULTS):
    """Seed 001's lifecycle: Prospect, New, Retained, At risk, Lapsed.

    Prospect: no completed session. Lapsed: no session for ``lapsed_after`` usual intervals
    and none booked. At risk: a High risk score. New: one completed session. Retained: more.
    """
    n, days, s, booked = as_arrays(completed, days_since, score, upcoming)
    ratio = days / rhythm(interval_days, settings)
    result = np.select(
        [n < 1, (ratio >= settings.lapsed_after) & (booked == 0), s >= settings.band_high, n == 1],
        ["Prospect", "Lapsed", "At risk", "New"], "Retained").astype(object)
    return result.item() if result.ndim == 0 else result


def stage_from_risk(completed, days_since, rhythm_days, probability, upcoming=False,
                    settings: Settings = DEFAULTS):
    """The lifecycle stage from the churn probability, so the two never disagree.

    Prospect: no completed session. Lapsed: High churn risk, no session for
    ``lapsed_after`` usual intervals and none booked. At risk: High churn risk otherwise.
    New: one completed session. Retained: more.
    """
    n, days, rhythm_, p, booked = as_arrays(completed, days_since, rhythm_days, probability,
                                            upcoming)
    high = np.nan_to_num(p, nan=0.0) >= settings.band_high
    gone = (days / rhythm_ >= settings.lapsed_after) & (booked == 0)
    result = np.select([n < 1, high & gone, high, n == 1],
                       ["Prospect", "Lapsed", "At risk", "New"], "Retained").astype(object)
    return result.item() if result.ndim == 0 else result


def recency_probability(days_since, center_days, shape: float = 2.0):
    """Churn risk from days since the last session alone: a log-logistic curve,
    d^k / (d^k + c^k), 50% at ``center_days`` c. Any rising curve ranks clients exactly as
    recency does; c sets the level. Written so the template can compute it natively:
    ``=d^k/(d^k+c^k)``."""
    days, center = as_arrays(days_since, center_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = 1.0 / (1.0 + (np.maximum(center, 1e-9) / np.maximum(days, 0.0)) ** shape)
    return like_inputs(np.where(np.isnan(days), np.nan, result), days_since)


def lapsed_share(age_days, days_since, window_days) -> float:
    """The business's share of lapsed clients: of the clients first seen ``window_days`` ago
    or more, the share with no session in the last ``window_days`` (NaN if none)."""
    age, days = (np.asarray(v, dtype=float) for v in (age_days, days_since))
    old = age >= window_days
    return float(np.mean(days[old] >= window_days)) if old.any() else float("nan")


def recency_center(days_since, share: float, steps: int | None = None,
                   shape: float = 2.0) -> float:
    """The days c at which :func:`recency_probability` is 50%, chosen so the clients' mean
    probability is ``share``.

    Starts at the (1 - share) quantile of days since and corrects it ``steps`` times by
    c <- c (mean p / share)^(1/shape) (each step one AVERAGE over the clients, so the
    template can do it natively); ``steps`` None solves the mean exactly."""
    days = np.asarray(days_since, dtype=float)
    days = days[np.isfinite(days)]
    if not days.size or not 0.0 < share < 1.0:
        return float("nan")
    center = max(float(np.quantile(days, 1.0 - share)), 1.0)
    mean = lambda c: float(np.mean(recency_probability(days, c, shape)))  # noqa: E731
    if steps is None:
        from scipy.optimize import brentq

        low, high = 1e-3, 10.0 * max(float(days.max()), 1.0)
        if mean(low) <= share or mean(high) >= share:
            return center
        return float(brentq(lambda c: mean(c) - share, low, high, xtol=1e-6))
    for _ in range(steps):
        center *= (mean(center) / share) ** (1.0 / shape)
    return center
