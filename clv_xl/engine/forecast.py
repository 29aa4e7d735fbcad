"""The Forecast sheet's figures: BG/NBD or MBG/NBD (the better on the book) + Gamma-Gamma,
one row per client.

Engine layer only: DataFrames in, a :class:`ForecastResult` out; no files, no Excel. The batch
writes ``result.table`` to the Forecast sheet and ``result.message`` to the Start sheet.

What goes in: Completed sessions of the given clients dated on or before the as-of day
(cancelled, rescheduled and booked sessions, later sessions and sessions of clients not in
the list are ignored). Sessions on the same day count as one purchase (amounts summed). A
blank amount on a Completed session counts as 0, as in :func:`clv_xl.engine.history.summarize`.

When the data cannot support a model the figures are left empty (NaN) and the message says
why; nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .models import (DAYS_PER_MONTH, BetaGeo, GammaGamma, ModelFitError, ModifiedBetaGeo,
                     compress, model_clv, rfm_from_transactions)
from .models import bgnbd as _bgnbd
from .models import gamma_gamma as _gamma_gamma
from .models.bgnbd import unit_name
from .tracking import TRACKING_COLUMNS, cumulative_tracking, tracking_dates
from .units import UNIT_DAYS
from ..book.settings import Settings

FORECAST_COLUMNS = ("p_alive", "p_not_alive", "p_no_purchase_12m", "expected_sessions_12m",
                    "expected_order_value", "model_clv_12m")
PURCHASE_MODELS = (BetaGeo, ModifiedBetaGeo)  # the candidates, in the order they are tried
SPEND_MODEL = "Gamma-Gamma"
EMPTY = "the forecast columns are left empty"
#: The holdout: the last third of the history, at least HOLDOUT_MIN_UNITS model periods; the
#: calibration part before it must span at least as many, with HOLDOUT_MIN_CLIENTS clients.
HOLDOUT_SHARE = 1.0 / 3.0
HOLDOUT_MIN_UNITS = 8
HOLDOUT_MIN_CLIENTS = 30
#: Dates in the tracking table (a fixed number, so that a chart over it has no blank tail).
TRACKING_POINTS = 60


@dataclass(frozen=True)
class ForecastResult:
    """The Forecast sheet's table and a one-line account of how it was made.

    - table: indexed by client_id, every client given in the order given; columns
      p_alive, p_not_alive (1 - p_alive; from MBG/NBD when BG/NBD is the purchase model), p_no_purchase_12m, expected_sessions_12m,
      expected_order_value, model_clv_12m. NaN for prospects (no Completed session),
      everywhere when no model could be fitted, and in the last two when only the spend
      model failed;
    - model: the purchase model chosen ("BG/NBD" or "MBG/NBD"), with " + Gamma-Gamma" when the
      spend model was fitted too; "" when none;
    - n_clients: clients the purchase model was fitted on (0 if none); n_repeat: of them,
      those with a repeat session (a second distinct day);
    - message: one sentence for the Start sheet: which model was chosen and why, what it was
      fitted on, and the time unit;
    - params: fitted parameters, r, alpha, a, b (in the time unit) and p, q, gamma (empty if
      none);
    - time_unit: "days", "weeks" or "months" (or "N days"); choice: how the purchase model
      was chosen, per candidate (holdout error or log-likelihood, or why it is out);
    - tracking: the chosen model's cumulative repeat sessions against the actual ones over the
      book's history (:func:`clv_xl.engine.tracking.cumulative_tracking`, ``TRACKING_POINTS``
      dates), with the model fitted on the calibration part when there was a holdout (empty
      when no model); tracking_note: one sentence saying what the lines show.
    """

    table: pd.DataFrame
    model: str
    n_clients: int
    n_repeat: int
    message: str
    params: dict = field(default_factory=dict)
    time_unit: str = "weeks"
    choice: dict = field(default_factory=dict)
    tracking: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=list(TRACKING_COLUMNS)))
    tracking_note: str = ""


def forecast(clients_ids, sessions: pd.DataFrame, as_of, settings: Settings | None = None,
             months: int = 12, unit_days: float | None = None,
             tracking_points: int = TRACKING_POINTS) -> ForecastResult:
    """Fit BG/NBD and MBG/NBD to the book, keep the better one, add Gamma-Gamma on spend,
    and forecast each client.

    Model choice: the history is split at as_of minus a holdout window (the last third of
    the history, at least 8 model periods); both models are fitted on the calibration part
    and the one whose predicted repeat sessions per client in the holdout are closer to the
    actual ones (mean absolute error) wins, refitted on the whole history. When the history
    is too short for a holdout (either part under 8 periods, fewer than 30 clients in the
    calibration part, or a model not fitting it), the higher log-likelihood on the whole
    history wins. A model that cannot be fitted is out; none fitted, no forecast.

    - p_alive: probability the client is still active at ``as_of``; p_not_alive: 1 - p_alive;
      from MBG/NBD when BG/NBD is chosen (BG/NBD gives every one-time client P(alive) = 1);
    - p_no_purchase_12m: probability of no session in the next ``months`` months;
    - expected_sessions_12m: expected sessions (distinct days) in the next ``months`` months,
      i.e. E[Y(t)] with t = months x 365.25/12 / unit_days model units;
    - expected_order_value: Gamma-Gamma expected spend per session given the client's
      repeat sessions (the population mean for clients with only one);
    - model_clv_12m: :func:`clv_xl.engine.models.model_clv` over ``months`` months, discounted
      monthly at (1 + annual discount rate)^(1/12) - 1, times the gross margin.

    ``as_of`` None means the as-of date in Settings, then today. ``unit_days`` None means
    the Settings' time unit (days 1, weeks 7, months 365.25/12). ``tracking_points``: the
    number of dates in ``tracking``.
    """
    settings = settings if settings is not None else Settings()
    as_of = pd.Timestamp(as_of or settings.as_of or pd.Timestamp.today()).normalize()
    months = int(months)
    if months < 0:
        raise ValueError("months must be 0 or more")
    if unit_days is None:
        unit_days = UNIT_DAYS[str(settings.time_unit).lower()]
    unit_days = float(unit_days)
    if not (np.isfinite(unit_days) and unit_days > 0):
        raise ValueError("unit_days must be a positive number of days (7 for weeks)")
    unit = unit_name(unit_days)
    in_unit = f"time unit {unit}"

    index = pd.Index(list(clients_ids) if not isinstance(clients_ids, pd.Index) else clients_ids,
                     name="client_id")
    table = pd.DataFrame(np.nan, index=index, columns=list(FORECAST_COLUMNS))

    def nothing(why: str, choice=None) -> ForecastResult:
        return ForecastResult(table, "", 0, 0, f"No forecast: {why}; {EMPTY}; {in_unit}.", {},
                              unit, choice or {})

    done = _completed(sessions, index, as_of)
    if done.empty:
        return nothing(f"no completed sessions on or before {as_of.date()}")
    rfm = rfm_from_transactions(done["client_id"].to_numpy(), done["date"].to_numpy(), as_of,
                                unit_days=unit_days, amounts=done["amount"].to_numpy())
    x = rfm["frequency"].to_numpy()
    t_x = rfm["recency"].to_numpy()
    T = rfm["T"].to_numpy()
    m = rfm["monetary_value"].to_numpy()
    n, n_repeat = len(rfm), int(np.count_nonzero(x > 0))

    # --- purchases: BG/NBD or MBG/NBD --------------------------------------------------------
    calibration: dict = {}
    bg, chosen_because, choice, err = choose_purchase_model(done, as_of, unit_days, x, t_x, T,
                                                            calibration=calibration)
    if bg is None:
        return nothing(_purchase_reason(err, n, n_repeat), choice)
    tracking, tracking_note = _tracking(done, as_of, unit_days, bg, calibration,
                                        tracking_points)
    purchase = bg.MODEL
    rows = compress(x, t_x, T)  # predictions per distinct (x, t_x, T), mapped back
    horizon = months * DAYS_PER_MONTH / unit_days
    with np.errstate(all="ignore"):
        alive = np.asarray(bg.p_alive(rows.frequency, rows.recency, rows.T))[rows.inverse]
        expected = np.asarray(bg.conditional_expected_purchases(
            horizon, rows.frequency, rows.recency, rows.T))[rows.inverse]
        silent = np.asarray(bg.prob_no_purchase(
            horizon, rows.frequency, rows.recency, rows.T))[rows.inverse]
    params = dict(bg.params_)
    alive_note = ""
    if purchase == BetaGeo.MODEL:
        alive, alive_note = _alive_from_mbgnbd(alive, x, t_x, T, unit_days, rows)
    if not np.all(np.isfinite(alive)):
        return nothing(f"the fitted {purchase} model gives no finite P(alive) "
                       f"({_show(params)})", choice)
    out = pd.DataFrame(index=rfm.index)
    out["p_alive"] = alive
    out["p_not_alive"] = 1.0 - alive
    out["p_no_purchase_12m"] = np.where(np.isfinite(silent), silent, np.nan)
    out["expected_sessions_12m"] = expected
    fitted = f"fitted on {n:,} clients ({n_repeat:,} came back); {in_unit}{alive_note}"
    # E[Y] goes through a hypergeometric function that can overflow for extreme parameters
    # (e.g. a and b in the millions: dropout nearly fixed); then say so rather than show NaN.
    no_expectation = (None if np.all(np.isfinite(expected)) else
                      f"expected sessions could not be computed for these parameters "
                      f"({_show(params)}: numerical overflow in the {purchase} expectation)")
    if no_expectation:
        out["expected_sessions_12m"] = np.nan
    head = f"{purchase} chosen: {chosen_because}"

    # --- spend: Gamma-Gamma ----------------------------------------------------------------
    gg, why_not = _fit_spend(x, m)
    if gg is None:
        table.loc[:, :] = out.reindex(index=index, columns=list(FORECAST_COLUMNS)).to_numpy()
        message = (f"{head}; {purchase} {fitted}; no spend forecast: {why_not}, so expected "
                   "order value and model CLV are left empty")
        if no_expectation:
            message += f"; {no_expectation}, so they are left empty too"
        return ForecastResult(table, purchase, bg.n_clients_, n_repeat, message + ".",
                              params, unit, choice, tracking, tracking_note)

    spend = np.asarray(gg.conditional_expected_average_profit(x, m))
    monthly_rate = (1.0 + float(settings.discount_rate)) ** (1.0 / 12.0) - 1.0
    with np.errstate(all="ignore"):  # discounted expected sessions per unit of spend
        per_unit_spend = np.asarray(model_clv(
            bg, None, rows.frequency, rows.recency, rows.T, 1.0, months=months,
            monthly_discount_rate=monthly_rate, margin=1.0, time_unit_days=unit_days))
    out["expected_order_value"] = spend
    out["model_clv_12m"] = per_unit_spend[rows.inverse] * spend * float(settings.margin)
    if no_expectation:
        out["model_clv_12m"] = np.nan
    table.loc[:, :] = out.reindex(index)[list(FORECAST_COLUMNS)].to_numpy()
    params.update(gg.params_)
    model = f"{purchase} + {SPEND_MODEL}"
    message = f"{head}; {model} {fitted}"
    if no_expectation:
        message += f"; {no_expectation}, so expected sessions and model CLV are left empty"
    return ForecastResult(table, model, bg.n_clients_, n_repeat, message + ".", params, unit,
                          choice, tracking, tracking_note)


def choose_purchase_model(done: pd.DataFrame, as_of: pd.Timestamp, unit_days: float,
                           x, t_x, T, calibration: dict | None = None):
    """(model fitted on the whole history, why it was chosen, per-candidate record, last
    ModelFitError); the model is None when no candidate could be fitted.

    ``calibration``, when given, receives what the holdout comparison used: "split" (the last
    day of the calibration part) and, per candidate class, the model fitted on that part."""
    unit = unit_name(unit_days)
    choice: dict = {}
    errors = _holdout_errors(done, as_of, unit_days, choice, calibration)
    last_error = None
    if errors is not None:
        window, scores = errors
        ranked = sorted(scores, key=scores.get)
        for i, cls in enumerate(ranked):  # the best first; the next if it fails on the whole
            try:
                model = cls(time_unit_days=unit_days).fit(x, t_x, T)
            except ModelFitError as err:
                last_error = err
                choice[cls.MODEL]["whole history"] = f"not fitted: {err}"
                continue
            others = [c for c in ranked if c is not cls]
            versus = " and ".join(f"{scores[c]:.3g} for {c.MODEL}" for c in others)
            because = (f"holdout error {scores[cls]:.3g} vs {versus} (last {window:g} {unit} "
                       "held out)")
            if i:
                because += (f"; {ranked[0].MODEL} had the lower holdout error but could not "
                            "be fitted to the whole history")
            return model, because, choice, None
        return None, "", choice, last_error
    # Too short for a holdout: the higher log-likelihood on the whole history wins.
    fits = {}
    for cls in PURCHASE_MODELS:
        try:
            fits[cls] = cls(time_unit_days=unit_days).fit(x, t_x, T)
            choice.setdefault(cls.MODEL, {})["log-likelihood"] = fits[cls].loglik_
        except ModelFitError as err:
            last_error = err
            choice.setdefault(cls.MODEL, {})["whole history"] = f"not fitted: {err}"
    if not fits:
        return None, "", choice, last_error
    best = max(fits, key=lambda c: fits[c].loglik_)
    short = choice.get("holdout", "no holdout comparison")
    others = [c for c in PURCHASE_MODELS if c is not best]
    if all(c in fits for c in others):
        versus = " and ".join(f"{fits[c].loglik_:,.1f} for {c.MODEL}" for c in others)
        because = f"higher log-likelihood {fits[best].loglik_:,.1f} vs {versus} ({short})"
    else:
        because = (f"{' and '.join(c.MODEL for c in others)} could not be fitted "
                   f"({short})")
    return fits[best], because, choice, None


def _holdout_errors(done: pd.DataFrame, as_of: pd.Timestamp, unit_days: float, choice: dict,
                    calibration: dict | None = None):
    """(holdout length in model units, {model class: mean absolute error}) or None when the
    history cannot give a holdout comparison of every candidate (``choice["holdout"]`` then
    says why)."""
    unit = unit_name(unit_days)
    first = pd.Timestamp(done["date"].min())
    span_days = (as_of - first).days
    min_days = HOLDOUT_MIN_UNITS * unit_days
    holdout_days = int(np.ceil(max(span_days * HOLDOUT_SHARE, min_days)))
    if span_days - holdout_days < min_days:
        choice["holdout"] = (f"no holdout comparison: the history, {span_days / unit_days:.3g} "
                             f"{unit}, is too short (calibration and holdout need "
                             f"{HOLDOUT_MIN_UNITS} {unit} each)")
        return None
    split = as_of - pd.Timedelta(days=holdout_days)
    early = done["date"] <= split
    cal = done[early]
    cal_ids = pd.unique(cal["client_id"])
    if len(cal_ids) < HOLDOUT_MIN_CLIENTS:
        choice["holdout"] = (f"no holdout comparison: only {len(cal_ids)} clients before the "
                             f"holdout (it needs {HOLDOUT_MIN_CLIENTS})")
        return None
    rfm = rfm_from_transactions(cal["client_id"].to_numpy(), cal["date"].to_numpy(), split,
                                unit_days=unit_days)
    later = done[~early]
    later = later[later["client_id"].isin(cal_ids)].drop_duplicates(["client_id", "date"])
    actual = later.groupby("client_id").size().reindex(rfm.index, fill_value=0).to_numpy(float)
    x, t_x, T = (rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    rows = compress(x, t_x, T)
    window = holdout_days / unit_days
    scores = {}
    for cls in PURCHASE_MODELS:
        record = choice.setdefault(cls.MODEL, {})
        try:
            model = cls(time_unit_days=unit_days).fit(x, t_x, T)
        except ModelFitError as err:
            record["holdout"] = f"not fitted before the holdout: {err}"
            continue
        with np.errstate(all="ignore"):
            predicted = np.asarray(model.conditional_expected_purchases(
                window, rows.frequency, rows.recency, rows.T))[rows.inverse]
        if not np.all(np.isfinite(predicted)):
            record["holdout"] = "no finite holdout prediction"
            continue
        scores[cls] = record["holdout error"] = float(np.mean(np.abs(predicted - actual)))
        if calibration is not None:
            calibration[cls] = model
    if len(scores) < len(PURCHASE_MODELS):
        out = [c.MODEL for c in PURCHASE_MODELS if c not in scores]
        choice["holdout"] = (f"no holdout comparison: {' and '.join(out)} could not be "
                             f"fitted before the last {window:.3g} {unit}")
        return None
    if calibration is not None:
        calibration["split"] = split
    return round(window, 1), scores


def _tracking(done: pd.DataFrame, as_of: pd.Timestamp, unit_days: float, model,
              calibration: dict, points: int):
    """(the tracking table, a sentence on what it shows) for the chosen model: fitted on the
    calibration part, over the clients first seen in it, when the choice had a holdout;
    fitted on the whole history, over every client, when it had none."""
    at = tracking_dates(done["date"].min(), as_of, points)
    fitted = calibration.get(type(model)) if "split" in calibration else None
    with np.errstate(all="ignore"):
        if fitted is None:
            return (cumulative_tracking(done, model, at, unit_days),
                    f"{model.MODEL} fitted on the whole history (too short for a holdout): "
                    "the model's cumulative repeat sessions against the actual ones")
        split = calibration["split"]
        return (cumulative_tracking(done, fitted, at, unit_days, split=split),
                f"{model.MODEL} fitted on the sessions up to {split.date()} only, over the clients "
                f"first seen by then; after that date (the holdout) it forecasts sessions it "
                "never saw")


def _alive_from_mbgnbd(alive, x, t_x, T, unit_days: float, rows):
    """P(alive) from MBG/NBD when BG/NBD is the purchase model: BG/NBD takes every client
    without a repeat session as alive (P(alive) = 1, Fader, Hardie & Lee 2005, eq. (2) at
    x = 0), which contradicts a high churn risk; MBG/NBD lets them drop out at the first
    purchase too (Batislam, Denizel & Filiztekin 2007). (P(alive), note for the message)."""
    try:
        mbg = ModifiedBetaGeo(time_unit_days=unit_days).fit(x, t_x, T)
    except ModelFitError:
        return alive, ""
    with np.errstate(all="ignore"):
        other = np.asarray(mbg.p_alive(rows.frequency, rows.recency, rows.T))[rows.inverse]
    if not np.all(np.isfinite(other)):
        return alive, ""
    return other, ("; P(alive) from MBG/NBD (BG/NBD counts every one-time client as alive)")


def _completed(sessions: pd.DataFrame, index: pd.Index, as_of: pd.Timestamp) -> pd.DataFrame:
    """Completed sessions of the listed clients dated on or before as_of (client_id, date, amount)."""
    date = pd.to_datetime(sessions["date"]).dt.normalize()
    keep = ((sessions["status"] == "Completed") & (date <= as_of)
            & sessions["client_id"].isin(index)).to_numpy()
    amount = pd.to_numeric(sessions["amount"]).fillna(0.0)
    return pd.DataFrame({
        "client_id": sessions["client_id"].to_numpy()[keep],
        "date": date.to_numpy()[keep],
        "amount": amount.to_numpy(dtype=float)[keep],
    })


def _purchase_reason(err, n: int, n_repeat: int) -> str:
    """Why no purchase model could be fitted, in plain words."""
    if n < _bgnbd.MIN_CLIENTS:
        return (f"too few clients with a completed session ({n} of the "
                f"{_bgnbd.MIN_CLIENTS} the model needs) to fit the model")
    if n_repeat < _bgnbd.MIN_REPEAT_CLIENTS:
        return (f"too few clients came back ({n_repeat} of {n:,}; the model needs at least "
                f"{_bgnbd.MIN_REPEAT_CLIENTS}) to fit the model")
    if err is None:
        return "no purchase model could be fitted to this book"
    if "same history" in str(err):
        return "every client has the same history, so the model cannot tell them apart"
    return f"the model could not be fitted to this book ({err})"


def _fit_spend(x: np.ndarray, m: np.ndarray):
    """Gamma-Gamma on the repeat clients with positive spend: (model, None) or (None, why)."""
    keep = (x > 0) & (m > 0)
    usable = int(np.count_nonzero(keep))
    try:
        gg = GammaGamma().fit(x[keep], m[keep])
    except ModelFitError as err:
        if usable < _gamma_gamma.MIN_CLIENTS:
            return None, (f"too few returning clients with a positive spend ({usable}; "
                          f"the spend model needs at least {_gamma_gamma.MIN_CLIENTS})")
        if "same mean spend" in str(err):
            return None, "every returning client has the same average spend"
        return None, f"the spend model could not be fitted ({err})"
    if gg.params_["q"] <= 1.0:
        # p gamma / (q - 1), the spend of a client with one session, is not finite
        return None, (f"the fitted spend model has no finite average spend "
                      f"(q = {gg.params_['q']:.3g} <= 1)")
    return gg, None


def _show(params: dict) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in params.items())
