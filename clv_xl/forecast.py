"""The Forecast sheet's figures: BG/NBD + Gamma-Gamma fitted on the book, one row per client.

Engine layer only: DataFrames in, a :class:`ForecastResult` out; no files, no Excel. The batch
writes ``result.table`` to the Forecast sheet and ``result.message`` to the Start sheet.

What goes in: Completed sessions of the given clients dated on or before the as-of day
(cancelled, rescheduled and booked sessions, later sessions and sessions of clients not in
the list are ignored). Sessions on the same day count as one purchase (amounts summed). A
blank amount on a Completed session counts as 0, as in :func:`clv_xl.history.summarize`.

When the data cannot support a model the figures are left empty (NaN) and the message says
why; nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .models import (DAYS_PER_MONTH, BetaGeo, GammaGamma, ModelFitError, compress, model_clv,
                     rfm_from_transactions)
from .models import bgnbd as _bgnbd
from .models import gamma_gamma as _gamma_gamma
from .models.bgnbd import unit_name
from .settings import Settings

FORECAST_COLUMNS = ("p_alive", "expected_sessions_12m", "expected_order_value", "model_clv_12m")
PURCHASE_MODEL = "BG/NBD"
SPEND_MODEL = "Gamma-Gamma"
EMPTY = "the forecast columns are left empty"


@dataclass(frozen=True)
class ForecastResult:
    """The Forecast sheet's table and a one-line account of how it was made.

    - table: indexed by client_id, every client given in the order given; columns
      p_alive, expected_sessions_12m, expected_order_value, model_clv_12m. NaN for
      prospects (no Completed session), everywhere when no model could be fitted, and in
      the last two when only the spend model failed;
    - model: "BG/NBD + Gamma-Gamma", "BG/NBD" (spend model not fitted) or "" (none);
    - n_clients: clients the purchase model was fitted on (0 if none); n_repeat: of them,
      those with a repeat session (a second distinct day);
    - message: one sentence for the Start sheet;
    - params: fitted parameters, r, alpha, a, b (weeks) and p, q, gamma (empty if none).
    """

    table: pd.DataFrame
    model: str
    n_clients: int
    n_repeat: int
    message: str
    params: dict = field(default_factory=dict)


def forecast(clients_ids, sessions: pd.DataFrame, as_of, settings: Settings | None = None,
             months: int = 12, unit_days: float = 7.0) -> ForecastResult:
    """Fit BG/NBD (and Gamma-Gamma on spend) to the book and forecast each client.

    - p_alive: BG/NBD probability the client is still active at ``as_of``;
    - expected_sessions_12m: expected sessions (distinct days) in the next ``months`` months,
      i.e. BG/NBD E[Y(t)] with t = months x 365.25/12 / unit_days model units;
    - expected_order_value: Gamma-Gamma expected spend per session given the client's
      repeat sessions (the population mean for clients with only one);
    - model_clv_12m: :func:`clv_xl.models.model_clv` over ``months`` months, discounted
      monthly at (1 + annual discount rate)^(1/12) - 1, times the gross margin.

    ``as_of`` None means the as-of date in Settings, then today.
    """
    settings = settings if settings is not None else Settings()
    as_of = pd.Timestamp(as_of or settings.as_of or pd.Timestamp.today()).normalize()
    months = int(months)
    if months < 0:
        raise ValueError("months must be 0 or more")
    unit_days = float(unit_days)
    if not (np.isfinite(unit_days) and unit_days > 0):
        raise ValueError("unit_days must be a positive number of days (7 for weeks)")

    index = pd.Index(list(clients_ids) if not isinstance(clients_ids, pd.Index) else clients_ids,
                     name="client_id")
    table = pd.DataFrame(np.nan, index=index, columns=list(FORECAST_COLUMNS))

    done = _completed(sessions, index, as_of)
    if done.empty:
        return ForecastResult(table, "", 0, 0, f"No forecast: no completed sessions on or "
                              f"before {as_of.date()}; {EMPTY}.", {})
    rfm = rfm_from_transactions(done["client_id"].to_numpy(), done["date"].to_numpy(), as_of,
                                unit_days=unit_days, amounts=done["amount"].to_numpy())
    x = rfm["frequency"].to_numpy()
    t_x = rfm["recency"].to_numpy()
    T = rfm["T"].to_numpy()
    m = rfm["monetary_value"].to_numpy()
    n, n_repeat = len(rfm), int(np.count_nonzero(x > 0))

    # --- purchases: BG/NBD -----------------------------------------------------------------
    try:
        bg = BetaGeo(time_unit_days=unit_days).fit(x, t_x, T)
    except ModelFitError as err:
        return ForecastResult(table, "", 0, 0,
                              f"No forecast: {_purchase_reason(err, n, n_repeat)}; {EMPTY}.", {})
    rows = compress(x, t_x, T)  # predictions per distinct (x, t_x, T), mapped back
    horizon = months * DAYS_PER_MONTH / unit_days
    with np.errstate(all="ignore"):
        alive = np.asarray(bg.p_alive(rows.frequency, rows.recency, rows.T))[rows.inverse]
        expected = np.asarray(bg.conditional_expected_purchases(
            horizon, rows.frequency, rows.recency, rows.T))[rows.inverse]
    params = dict(bg.params_)
    if not np.all(np.isfinite(alive)):
        return ForecastResult(table, "", 0, 0, "No forecast: the fitted BG/NBD model gives no "
                              f"finite P(alive) ({_show(params)}); {EMPTY}.", {})
    out = pd.DataFrame(index=rfm.index)
    out["p_alive"] = alive
    out["expected_sessions_12m"] = expected
    fitted = (f"fitted on {n:,} clients ({n_repeat:,} came back), "
              f"time unit {unit_name(unit_days)}")
    # E[Y] goes through a hypergeometric function that can overflow for extreme parameters
    # (e.g. a and b in the millions: dropout nearly fixed); then say so rather than show NaN.
    no_expectation = (None if np.all(np.isfinite(expected)) else
                      f"expected sessions could not be computed for these parameters "
                      f"({_show(params)}: numerical overflow in the BG/NBD expectation)")
    if no_expectation:
        out["expected_sessions_12m"] = np.nan

    # --- spend: Gamma-Gamma ----------------------------------------------------------------
    gg, why_not = _fit_spend(x, m)
    if gg is None:
        table.loc[:, ["p_alive", "expected_sessions_12m"]] = out.reindex(index).to_numpy()
        message = (f"{PURCHASE_MODEL} {fitted}; no spend forecast: {why_not}, so expected "
                   "order value and model CLV are left empty")
        if no_expectation:
            message += f"; {no_expectation}, so they are left empty too"
        return ForecastResult(table, PURCHASE_MODEL, bg.n_clients_, n_repeat, message + ".",
                              params)

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
    model = f"{PURCHASE_MODEL} + {SPEND_MODEL}"
    message = f"{model} {fitted}"
    if no_expectation:
        message += f"; {no_expectation}, so expected sessions and model CLV are left empty"
    return ForecastResult(table, model, bg.n_clients_, n_repeat, message + ".", params)


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


def _purchase_reason(err: ModelFitError, n: int, n_repeat: int) -> str:
    """Why BG/NBD could not be fitted, in plain words."""
    if n < _bgnbd.MIN_CLIENTS:
        return (f"too few clients with a completed session ({n} of the "
                f"{_bgnbd.MIN_CLIENTS} the model needs) to fit the model")
    if n_repeat < _bgnbd.MIN_REPEAT_CLIENTS:
        return (f"too few clients came back ({n_repeat} of {n:,}; the model needs at least "
                f"{_bgnbd.MIN_REPEAT_CLIENTS}) to fit the model")
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
