"""clv_xl.engine.forecast: the Forecast sheet's BG/NBD or MBG/NBD + Gamma-Gamma figures per client."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_xl.demo import demo_data
from clv_xl.engine.forecast import FORECAST_COLUMNS, forecast
from clv_xl.engine.models import (DAYS_PER_MONTH, BetaGeo, GammaGamma, ModifiedBetaGeo, model_clv,
                           rfm_from_transactions)
from clv_xl.book.settings import Settings

SETTINGS = Settings(margin=0.45, discount_rate=0.08)


@pytest.fixture(scope="module")
def book():
    """A demo book on which both models fit (seed 1, 300 clients)."""
    return demo_data(seed=1)


@pytest.fixture(scope="module")
def result(book):
    return forecast(book.clients["client_id"], book.sessions, book.as_of, SETTINGS)


def _prospects(book):
    as_of = pd.Timestamp(book.as_of)
    s = book.sessions
    bought = set(s.loc[(s["status"] == "Completed") & (s["date"] <= as_of), "client_id"])
    return [c for c in book.clients["client_id"] if c not in bought]


def _check_shape_and_ranges(book, res):
    ids = list(book.clients["client_id"])
    assert list(res.table.index) == ids
    assert res.table.index.name == "client_id"
    assert list(res.table.columns) == list(FORECAST_COLUMNS)
    prospects = _prospects(book)
    assert prospects  # the demo has clients who never bought
    assert res.table.loc[prospects].isna().all().all()
    buyers = res.table.drop(index=prospects)
    assert res.n_clients == len(buyers)
    assert buyers["p_alive"].notna().all()
    assert ((buyers["p_alive"] >= 0) & (buyers["p_alive"] <= 1)).all()
    for col in ("expected_sessions_12m", "expected_order_value", "model_clv_12m"):
        assert (buyers[col].dropna() >= 0).all()
    assert f"{res.n_clients:,} clients" in res.message


def test_demo_book_full_forecast(book, result):
    _check_shape_and_ranges(book, result)
    assert result.model in ("BG/NBD + Gamma-Gamma", "MBG/NBD + Gamma-Gamma")
    buyers = result.table.drop(index=_prospects(book))
    assert buyers.notna().all().all()
    assert (buyers["expected_order_value"] > 0).all()
    assert 0 < result.n_repeat < result.n_clients
    purchase = result.model.split(" + ")[0]
    assert result.message.startswith(f"{purchase} chosen: ")
    alive = ("; P(alive) from MBG/NBD (BG/NBD counts every one-time client as alive)"
             if purchase == "BG/NBD" else "")
    assert result.message.endswith(f"; {result.model} fitted on {result.n_clients} clients "
                                   f"({result.n_repeat} came back); time unit weeks{alive}.")
    assert result.time_unit == "weeks"
    assert set(result.params) == {"r", "alpha", "a", "b", "p", "q", "gamma"}


def test_default_demo_book_blanks_are_explained():
    """The default demo: every column is either filled for all buyers or blank and explained."""
    book = demo_data()
    res = forecast(book.clients["client_id"], book.sessions, book.as_of, SETTINGS)
    _check_shape_and_ranges(book, res)
    buyers = res.table.drop(index=_prospects(book))
    assert res.model.split(" + ")[0] in ("BG/NBD", "MBG/NBD")
    for col in FORECAST_COLUMNS:
        assert buyers[col].notna().all() or buyers[col].isna().all(), col
    if buyers["expected_order_value"].isna().all():
        assert " + " not in res.model and "no spend forecast" in res.message
    if buyers["expected_sessions_12m"].isna().all():
        assert "expected sessions could not be computed" in res.message
        assert buyers["model_clv_12m"].isna().all()


def test_equals_the_models_called_directly(book, result):
    as_of = pd.Timestamp(book.as_of)
    s = book.sessions
    done = s[(s["status"] == "Completed") & (s["date"] <= as_of)]
    rfm = rfm_from_transactions(done["client_id"], done["date"], as_of, unit_days=7.0,
                                amounts=done["amount"].fillna(0.0))
    x, t_x, T, m = (rfm[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    model = ModifiedBetaGeo if result.model.startswith("MBG/NBD") else BetaGeo
    bg = model(time_unit_days=7.0).fit(x, t_x, T)
    keep = (x > 0) & (m > 0)
    gg = GammaGamma().fit(x[keep], m[keep])
    horizon = 12 * 365.25 / 12 / 7.0
    assert horizon == pytest.approx(12 * DAYS_PER_MONTH / 7.0)
    monthly = 1.08 ** (1 / 12) - 1
    # P(alive) always from MBG/NBD: BG/NBD calls every one-time client alive
    alive = ModifiedBetaGeo(time_unit_days=7.0).fit(x, t_x, T).p_alive(x, t_x, T)
    expected = pd.DataFrame({
        "p_alive": alive,
        "p_not_alive": 1.0 - alive,
        "p_no_purchase_12m": bg.prob_no_purchase(horizon, x, t_x, T),
        "expected_sessions_12m": bg.conditional_expected_purchases(horizon, x, t_x, T),
        "expected_order_value": gg.conditional_expected_average_profit(x, m),
        "model_clv_12m": model_clv(bg, gg, x, t_x, T, m, months=12,
                                   monthly_discount_rate=monthly, margin=0.45),
    }, index=rfm.index)
    got = result.table.loc[rfm.index]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)
    for k, v in {**bg.params_, **gg.params_}.items():
        assert result.params[k] == pytest.approx(v, rel=1e-12)
    assert result.n_clients == len(rfm) == bg.n_clients_
    assert result.n_repeat == int((x > 0).sum())


def test_margin_and_discount_rate_are_used(book, result):
    plain = forecast(book.clients["client_id"], book.sessions, book.as_of,
                     Settings(margin=0.9, discount_rate=0.0))
    pd.testing.assert_frame_equal(plain.table.iloc[:, :4], result.table.iloc[:, :4])
    ratio = (result.table["model_clv_12m"] / plain.table["model_clv_12m"]).dropna()
    # margin 0.45 vs 0.9, and discounting at 8% a year takes off between 0 and 8%
    assert ((ratio < 0.5) & (ratio > 0.5 / 1.08)).all()


def _few_came_back(n_clients=40, n_back=2):
    as_of = pd.Timestamp("2025-12-31")
    ids = [f"K{i:03d}" for i in range(n_clients)]
    rows = [(as_of - pd.Timedelta(days=10 + 7 * i), c, 100.0 + i, "Completed")
            for i, c in enumerate(ids)]
    rows += [(as_of - pd.Timedelta(days=3 + i), c, 80.0, "Completed")
             for i, c in enumerate(ids[:n_back])]
    rows += [(as_of - pd.Timedelta(days=2), c, 0.0, "Cancelled") for c in ids[n_back:]]
    sessions = pd.DataFrame(rows, columns=["date", "client_id", "amount", "status"])
    return ids, sessions, as_of


def test_too_few_came_back_gives_an_empty_forecast_and_says_why():
    ids, sessions, as_of = _few_came_back()
    res = forecast(ids, sessions, as_of, Settings())
    assert list(res.table.index) == ids
    assert res.table.isna().all().all()
    assert (res.model, res.n_clients, res.n_repeat, res.params) == ("", 0, 0, {})
    assert res.message.startswith("No forecast: too few clients came back (2 of 40")
    assert "left empty" in res.message


def test_no_completed_sessions_gives_an_empty_forecast():
    ids, sessions, as_of = _few_came_back()
    res = forecast(ids, sessions.assign(status="Booked"), as_of, Settings())
    assert res.table.isna().all().all() and res.model == ""
    assert "no completed sessions" in res.message


@pytest.mark.parametrize("amount, cause", [
    (150.0, "every returning client has the same average spend"),
    (0.0, "too few returning clients with a positive spend (0;"),
])
def test_spend_model_failure_keeps_p_alive(book, result, amount, cause):
    sessions = book.sessions.assign(amount=amount)
    res = forecast(book.clients["client_id"], sessions, book.as_of, SETTINGS)
    assert res.model == result.model.split(" + ")[0]
    kept = ["p_alive", "p_not_alive", "p_no_purchase_12m", "expected_sessions_12m"]
    pd.testing.assert_frame_equal(res.table[kept], result.table[kept])
    assert res.table[["expected_order_value", "model_clv_12m"]].isna().all().all()
    assert cause in res.message
    assert "expected order value and model CLV are left empty" in res.message
    assert set(res.params) == {"r", "alpha", "a", "b"}
    assert (res.n_clients, res.n_repeat) == (result.n_clients, result.n_repeat)


def test_later_and_not_completed_sessions_are_ignored(book, result):
    as_of = pd.Timestamp(book.as_of)
    s = book.sessions.copy()
    other = s["status"] != "Completed"
    assert other.any() and (s["date"] > as_of).any()
    # change every non-Completed session, and every session after as_of, beyond recognition
    s.loc[other, "amount"] = 99999.0
    s.loc[other, "date"] = s.loc[other, "date"] - pd.Timedelta(days=400)
    late = s["date"] > as_of
    s.loc[late, "status"] = "Completed"
    s.loc[late, "amount"] = 12345.0
    ids = list(book.clients["client_id"])
    extra = pd.DataFrame({
        "date": [as_of + pd.Timedelta(days=1), as_of - pd.Timedelta(days=30),
                 as_of - pd.Timedelta(days=60)],
        "client_id": [ids[0], ids[1], ids[2]],
        "amount": [500.0, 700.0, 900.0],
        "status": ["Completed", "Cancelled", "Rescheduled"],
    })
    # sessions of a client not in the list do not count either
    stranger = pd.DataFrame({"date": [as_of - pd.Timedelta(days=d) for d in (10, 100, 300)],
                             "client_id": "ZZZ", "amount": 50.0, "status": "Completed"})
    s = pd.concat([s, extra, stranger], ignore_index=True)
    res = forecast(ids, s, book.as_of, SETTINGS)
    pd.testing.assert_frame_equal(res.table, result.table)
    assert res.message == result.message and res.params == result.params


def test_clients_in_any_order_and_as_of_from_settings(book, result):
    ids = list(book.clients["client_id"])[::-1]
    res = forecast(ids, book.sessions, None, Settings(margin=0.45, discount_rate=0.08,
                                                      as_of=book.as_of))
    assert list(res.table.index) == ids
    pd.testing.assert_frame_equal(res.table, result.table.loc[ids])


def test_the_new_columns_agree_with_p_alive(book, result):
    buyers = result.table.drop(index=_prospects(book))
    np.testing.assert_allclose(buyers["p_not_alive"], 1.0 - buyers["p_alive"], rtol=1e-12)
    # no purchase in 12 months: at least "has left", at most certain
    assert (buyers["p_no_purchase_12m"] >= buyers["p_not_alive"] - 1e-12).all()
    assert (buyers["p_no_purchase_12m"] <= 1.0).all()


# --- model choice -------------------------------------------------------------------------------

def simulate(r, alpha, a, b, n, modified, seed, weeks=156):
    """Dated Completed sessions of n clients from BG/NBD (modified=False) or MBG/NBD: weekly
    rate lambda ~ Gamma(r, alpha), dropout p ~ Beta(a, b), after each repeat session (and,
    for MBG/NBD, right after the first); first sessions spread over the first half of
    ``weeks`` weeks before the as-of day. The models' own ``sample`` draws (x, t_x) at T
    only, not the dates a holdout needs, hence this small simulator of the same process."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2026-06-30")
    start = as_of - pd.Timedelta(weeks=weeks)
    lam, p = rng.gamma(r, 1.0 / alpha, n), rng.beta(a, b, n)
    birth = rng.uniform(0, weeks / 2, n)
    rows = []
    for i in range(n):
        t = birth[i]
        rows.append((i, t))
        alive = not (modified and rng.random() < p[i])
        while alive:
            t += rng.exponential(1.0 / lam[i])
            if t > weeks:
                break
            rows.append((i, t))
            alive = rng.random() >= p[i]
    ids = [f"S{i:05d}" for i in range(n)]
    sessions = pd.DataFrame({
        "client_id": [ids[i] for i, _ in rows],
        "date": start + pd.to_timedelta(np.floor([t * 7 for _, t in rows]), unit="D"),
        "amount": np.round(rng.gamma(5.0, 10.0, len(rows)), 2),
        "status": "Completed",
    })
    return ids, sessions, as_of


@pytest.mark.parametrize("modified, winner, loser", [
    (True, "MBG/NBD", "BG/NBD"),   # many clients drop out right after their first session
    (False, "BG/NBD", "MBG/NBD"),
])
def test_the_holdout_picks_the_model_the_data_came_from(modified, winner, loser):
    ids, sessions, as_of = simulate(0.8, 6.0, 1.5, 2.5 if modified else 4.0, 3000, modified,
                                    seed=0)
    res = forecast(ids, sessions, as_of, Settings())
    assert res.model.split(" + ")[0] == winner
    errors = {m: res.choice[m]["holdout error"] for m in (winner, loser)}
    assert errors[winner] < errors[loser]
    assert res.message.startswith(
        f"{winner} chosen: holdout error {errors[winner]:.3g} vs {errors[loser]:.3g} for "
        f"{loser} (last 52 weeks held out); {res.model} fitted on 3,000 clients (")
    assert " came back); time unit weeks" in res.message
    # the winner is refitted on the whole history
    rfm = rfm_from_transactions(sessions["client_id"], sessions["date"], as_of)
    cls = ModifiedBetaGeo if winner == "MBG/NBD" else BetaGeo
    direct = cls(time_unit_days=7.0).fit(rfm["frequency"], rfm["recency"], rfm["T"])
    for k in ("r", "alpha", "a", "b"):
        assert res.params[k] == pytest.approx(direct.params_[k], rel=1e-9)


def test_a_short_history_falls_back_to_the_higher_log_likelihood():
    ids, sessions, as_of = simulate(0.8, 2.0, 1.5, 2.5, 400, True, seed=3, weeks=12)
    res = forecast(ids, sessions, as_of, Settings())
    rfm = rfm_from_transactions(sessions["client_id"], sessions["date"], as_of)
    x, t_x, T = (rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    ll = {cls.MODEL: cls().fit(x, t_x, T).loglik_ for cls in (BetaGeo, ModifiedBetaGeo)}
    best, other = sorted(ll, key=ll.get, reverse=True)
    assert res.model.split(" + ")[0] == best
    assert res.message.startswith(
        f"{best} chosen: higher log-likelihood {ll[best]:,.1f} vs {ll[other]:,.1f} for {other} "
        "(no holdout comparison: the history, ")
    assert "is too short (calibration and holdout need 8 weeks each)" in res.message
    assert res.choice[best]["log-likelihood"] == pytest.approx(ll[best])


def test_too_few_clients_for_a_holdout_falls_back_too():
    ids, sessions, as_of = simulate(0.8, 6.0, 1.5, 2.5, 25, True, seed=1)
    res = forecast(ids, sessions, as_of, Settings())
    assert " chosen: higher log-likelihood " in res.message
    assert ("(no holdout comparison: only 25 clients before the holdout (it needs 30)); "
            in res.message)


# --- time unit -----------------------------------------------------------------------------------

def test_time_unit_setting_changes_the_unit_not_the_forecast(book, result):
    ids = book.clients["client_id"]
    by_unit = {unit: forecast(ids, book.sessions, book.as_of,
                              Settings(margin=0.45, discount_rate=0.08, time_unit=unit))
               for unit in ("days", "Months")}
    for unit, res in by_unit.items():
        unit = unit.lower()
        assert res.time_unit == unit
        assert f"time unit {unit}" in res.message
        assert res.model == result.model
        # the models are scale-free: the same clients get the same forecast in any unit
        for col in ("p_alive", "expected_sessions_12m", "p_no_purchase_12m"):
            np.testing.assert_allclose(res.table[col], result.table[col], rtol=1e-3,
                                       atol=1e-6, err_msg=f"{col} in {unit}")
    assert by_unit["days"].params["alpha"] == pytest.approx(result.params["alpha"] * 7, rel=1e-2)
    # unit_days, when given, wins over the setting
    res = forecast(ids, book.sessions, book.as_of, Settings(time_unit="days"), unit_days=7.0)
    assert res.time_unit == "weeks"


def test_time_unit_setting_is_checked():
    assert Settings(time_unit=" MONTHS ").time_unit == "months"
    assert Settings().time_unit == "weeks"
    with pytest.raises(ValueError, match="Model time unit: 'years' is not one of days, weeks"):
        Settings(time_unit="years")


def test_no_client_shows_p_alive_100_percent_with_a_single_session(book, result):
    """BG/NBD's P(alive) is 1 for every client without a repeat session; the table must not
    show that to clients the churn risk calls at risk (issue 11)."""
    as_of = pd.Timestamp(book.as_of)
    s = book.sessions
    done = s[(s["status"] == "Completed") & (s["date"] <= as_of)]
    days = done.drop_duplicates(["client_id", "date"]).groupby("client_id").size()
    one_timers = days[days == 1].index
    assert len(one_timers) > 0
    assert (result.table.loc[one_timers, "p_alive"] < 0.995).all()
