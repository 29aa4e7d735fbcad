"""The model formulas: P_ALIVE, EXPECTED_PURCHASES, EXPECTED_SPEND, MODEL_CLV, CLV_FIT."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clv_xl.excel import udfs
from clv_xl.excel.function import REGISTRY
from clv_xl.engine.models import BetaGeo, GammaGamma, model_clv, rfm_from_transactions

# CDNOW estimates, Fader, Hardie & Lee (2005), weeks; Gamma-Gamma from the RFM/CLV paper
BG = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)
GG = dict(p=6.25, q=3.74, gamma=15.44)
ARGS = list(BG.values())
X = [0, 1, 2, 7, 12]
TX = [0.0, 5.5, 30.43, 35.0, 37.0]
T_ = [38.86, 39.0, 38.86, 36.0, 38.0]
NAMES = ("P_ALIVE", "EXPECTED_PURCHASES", "EXPECTED_SPEND", "MODEL_CLV", "CLV_FIT")


def column(values):
    return [[v] for v in values]


def flat(result):
    return [row[0] for row in result]


def table(params, header=True, extra=True):
    rows = [["Parameter", "Estimate", "Std. error"]] if header else []
    rows += [[k, v, 0.1] if extra else [k, v] for k, v in params.items()]
    return rows


def is_message(value, name):
    return isinstance(value, str) and value.startswith(f"{name}: ")


# ------------------------------------------------------------------ registration
@pytest.mark.parametrize("name", NAMES)
def test_registered_with_short_help(name):
    function = REGISTRY[name]
    assert 0 < len(function.help) <= 255
    assert all(0 < len(spec.doc) <= 255 for spec in function.args.values())


# ------------------------------------------------------------------ equal to the engine
def test_p_alive_cell_and_column_equal_the_engine():
    model = BetaGeo.from_params(**BG)
    expected = model.p_alive(X, TX, T_)
    assert udfs.P_ALIVE(2, 30.43, 38.86, *ARGS) == pytest.approx(model.p_alive(2, 30.43, 38.86))
    got = flat(udfs.P_ALIVE(column(X), column(TX), column(T_), *ARGS))
    assert got == pytest.approx(list(expected), rel=1e-12)
    assert got[0] == 1.0  # no repeat purchase: alive by the model's assumption


def test_expected_purchases_equals_the_engine_and_broadcasts_t():
    model = BetaGeo.from_params(**BG)
    got = flat(udfs.EXPECTED_PURCHASES(39, column(X), column(TX), column(T_), *ARGS))
    assert got == pytest.approx(list(model.conditional_expected_purchases(39, X, TX, T_)))
    # the paper's example: x=2, t_x=30.43, T=38.86 -> about 1.226 purchases in 39 weeks
    assert udfs.EXPECTED_PURCHASES(39, 2, 30.43, 38.86, *ARGS) == pytest.approx(1.226, abs=2e-3)
    row = udfs.EXPECTED_PURCHASES([[13, 26, 52]], 2, 30.43, 38.86, *ARGS)
    assert row[0] == pytest.approx(list(model.conditional_expected_purchases(
        np.array([13, 26, 52]), 2, 30.43, 38.86)))


def test_expected_spend_equals_the_engine():
    model = GammaGamma.from_params(**GG)
    m = [0.0, 40.0, 35.5, 20.0, 80.0]
    got = flat(udfs.EXPECTED_SPEND(column(X), column(m), *GG.values()))
    assert got == pytest.approx(list(model.conditional_expected_average_profit(X, m)))
    assert got[0] == pytest.approx(GG["p"] * GG["gamma"] / (GG["q"] - 1))


def test_model_clv_equals_the_engine():
    m = [0.0, 40.0, 35.5, 20.0, 80.0]
    params = {**BG, **GG, "time unit (days)": 7}
    expected = model_clv(BetaGeo.from_params(**BG), GammaGamma.from_params(**GG), X, TX, T_, m,
                         months=24, monthly_discount_rate=1.08 ** (1 / 12) - 1, margin=0.3,
                         time_unit_days=7)
    got = flat(udfs.MODEL_CLV(column(X), column(TX), column(T_), column(m), table(params),
                              24, 0.08, 0.3))
    assert got == pytest.approx(list(expected), rel=1e-10)
    # defaults: 12 months, 10% a year, margin 100%, weeks when the table has no time unit
    default = model_clv(BetaGeo.from_params(**BG), GammaGamma.from_params(**GG), 2, 30.43,
                        38.86, 35.0, 12, 1.1 ** (1 / 12) - 1, 1.0, 7.0)
    assert udfs.MODEL_CLV(2, 30.43, 38.86, 35.0, table({**BG, **GG})) == pytest.approx(default)
    # a different time unit in the table changes the answer
    in_days = udfs.MODEL_CLV(2, 30.43, 38.86, 35.0, table({**BG, **GG, "time unit (days)": 1}))
    assert in_days != pytest.approx(default)


def test_model_clv_months_rate_and_margin_per_cell():
    params = table({**BG, **GG})
    got = udfs.MODEL_CLV(2, 30.43, 38.86, 35.0, params, [[0, 12, 24]], [[0.1, 0.0, 0.1]],
                         [[1, 0.5, 1]])[0]
    one = lambda n, d, s: udfs.MODEL_CLV(2, 30.43, 38.86, 35.0, params, n, d, s)  # noqa: E731
    assert got == pytest.approx([one(0, 0.1, 1), one(12, 0.0, 0.5), one(24, 0.1, 1)])
    assert got[0] == 0.0 and got[2] > got[1] * 2 * 0.9


# ------------------------------------------------------------------ the table form
@pytest.mark.parametrize("header, extra", [(True, True), (False, False), (True, False)])
def test_table_form_equals_four_numbers(header, extra):
    params = table({**BG, "log-likelihood BG/NBD": -9582.4, "clients": 2357,
                    "time unit (days)": 7}, header, extra)
    assert (udfs.P_ALIVE(column(X), column(TX), column(T_), params)
            == udfs.P_ALIVE(column(X), column(TX), column(T_), *ARGS))
    assert (udfs.EXPECTED_PURCHASES(52, column(X), column(TX), column(T_), params)
            == udfs.EXPECTED_PURCHASES(52, column(X), column(TX), column(T_), *ARGS))
    assert (udfs.EXPECTED_SPEND(3, 40.0, table(GG, header, extra))
            == udfs.EXPECTED_SPEND(3, 40.0, *GG.values()))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("args, reason", [
    (("x", 30, 40, *ARGS), "frequency must be a number, not text"),
    ((-1, 0, 40, *ARGS), "frequency must be 0 or more"),
    ((1.5, 3, 40, *ARGS), "frequency must be a whole number"),
    ((2, 41, 40, *ARGS), "recency must not exceed age"),
    ((2, 30, None, *ARGS), "age is blank"),
    ((2, 30, 40, 0.24), "alpha is missing: give r, alpha, a, b or the CLV_FIT table"),
    ((2, 30, 40, None), "r is missing"),
    ((2, 30, 40, -0.24, 4.4, 0.8, 2.4), "r must be more than 0"),
    ((2, 30, 40, 0.24, "big", 0.8, 2.4), "alpha must be a number, not text"),
    ((2, 30, 40, 0.24, 4.4, 0.8, [[1], [2]]), "b must be one number or the CLV_FIT table"),
    ((2, 30, 40, [["r", 1], ["alpha", 2]]), "a is missing from the parameter table"),
    ((2, 30, 40, [["x", 1], ["y", 2]]), "no parameter names"),
    ((2, 30, 40, [["r", 1], ["alpha", "two"], ["a", 1], ["b", 1]]),
     "alpha in the parameter table must be a number"),
    ((2, 30, 40, [["r", 1], ["alpha", 2], ["a", 1], ["b", 1]], 4.4),
     "alpha must be left out when r is the parameter table"),
    ((2, 30, 40, 0.24, [["r", 1], ["alpha", 2]], 0.8, 2.4), "alpha must be one number"),
])
def test_p_alive_bad_input_gives_a_message(args, reason):
    result = udfs.P_ALIVE(*args)
    assert is_message(result, "P_ALIVE")
    assert reason in result


def test_bad_cells_get_their_own_message_and_good_cells_their_value():
    got = flat(udfs.P_ALIVE([[2], ["x"], [3], [None]], [[30], [1], [50], [None]],
                            [[40], [40], [40], [None]], *ARGS))
    assert got[0] == pytest.approx(BetaGeo.from_params(**BG).p_alive(2, 30, 40))
    assert got[1] == "P_ALIVE: frequency must be a number, not text ('x')"
    assert got[2] == "P_ALIVE: recency must not exceed age"
    assert got[3] == ""  # a blank row stays blank


def test_other_formulas_bad_input():
    assert udfs.EXPECTED_PURCHASES(-1, 2, 30, 40, *ARGS) == "EXPECTED_PURCHASES: horizon must be 0 or more"
    assert udfs.EXPECTED_PURCHASES(5, 2, 50, 40, *ARGS) == (
        "EXPECTED_PURCHASES: recency must not exceed age")
    assert udfs.EXPECTED_SPEND(2, -5, *GG.values()) == (
        "EXPECTED_SPEND: monetary value must be 0 or more")
    assert udfs.EXPECTED_SPEND(2, 40, 6.25) == (
        "EXPECTED_SPEND: q is missing: give p, q, gamma or the CLV_FIT table")
    assert udfs.EXPECTED_SPEND(0, 0, 6.25, 0.9, 15.4) == (
        "EXPECTED_SPEND: q must be more than 1 for a client with no repeat purchase")
    assert udfs.MODEL_CLV(2, 30, 40, 35, 0.24) == (
        "MODEL_CLV: parameters must be the CLV_FIT table (names and estimates)")
    assert udfs.MODEL_CLV(2, 30, 40, 35, table(BG)) == (
        "MODEL_CLV: p is missing from the parameter table")
    assert udfs.MODEL_CLV(2, 30, 40, 35, table({**BG, **GG}), 12, 1.5) == (
        "MODEL_CLV: annual discount rate must be between 0 and 1 (type 1.5%, not 1.5)")
    assert udfs.MODEL_CLV(2, 30, 40, 35, table({**BG, **GG}), 2.5) == (
        "MODEL_CLV: months must be a whole number")


# ------------------------------------------------------------------ CLV_FIT
AS_OF = dt.datetime(2025, 6, 30)
HEADER = ["Date", "Client ID", "Amount", "Status"]


def simulated_sessions(n=1000, seed=7, truth=BetaGeo.from_params(r=0.8, alpha=5.0, a=0.7, b=2.5)):
    """A sessions range from a BG/NBD population in weeks, Gamma-Gamma amounts."""
    rng = np.random.default_rng(seed)
    T = rng.integers(10, 150, n).astype(float)
    x, t_x = truth.sample(T, seed=seed)
    rows = [HEADER]
    for i in range(n):
        first = AS_OF - dt.timedelta(days=round(T[i] * 7))
        times = np.sort(np.r_[0.0, rng.uniform(0, t_x[i], max(int(x[i]) - 1, 0)),
                              t_x[i] if x[i] else []])
        nu = rng.gamma(GG["q"], 1 / GG["gamma"])
        for w in times:
            rows.append([first + dt.timedelta(days=round(w * 7)), f"C{i:04d}",
                         round(rng.gamma(GG["p"], 1 / nu), 2), "Completed"])
    return rows


@pytest.fixture(scope="module")
def sessions():
    return simulated_sessions()


@pytest.fixture(scope="module")
def fitted(sessions):
    return udfs.CLV_FIT(sessions, AS_OF, None, "BG/NBD")


def engine_fit(rows, unit_days=7.0):
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    frame = frame[(frame["Status"] == "Completed") & (frame["Date"] <= AS_OF)]
    rfm = rfm_from_transactions(frame["Client ID"], frame["Date"], AS_OF, unit_days,
                                frame["Amount"])
    bg = BetaGeo().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    gg = GammaGamma().fit(rfm["frequency"], rfm["monetary_value"])
    return bg, gg


def test_clv_fit_spills_the_table(fitted, sessions):
    assert fitted[0] == ["Parameter", "Estimate", "Std. error"]
    assert [row[0] for row in fitted[1:]] == [
        "model", "r", "alpha", "a", "b", "p", "q", "gamma", "log-likelihood BG/NBD", "clients",
        "time unit (days)"]
    assert fitted[1][:2] == ["model", "BG/NBD"]
    bg, gg = engine_fit(sessions)
    values = {row[0]: row[1:] for row in fitted[1:]}
    for model in (bg, gg):
        for name, estimate in model.params_.items():
            assert values[name][0] == pytest.approx(estimate)
            assert values[name][1] == pytest.approx(model.se_[name])
            assert 0 < values[name][1] < values[name][0]
    assert values["log-likelihood BG/NBD"] == [pytest.approx(bg.loglik_), ""]
    assert values["clients"] == [1000, ""]
    assert values["time unit (days)"] == [7.0, ""]
    # the simulated population is recovered, roughly
    assert values["r"][0] == pytest.approx(0.8, rel=0.35)
    assert values["alpha"][0] == pytest.approx(5.0, rel=0.5)


def test_clv_fit_ignores_other_statuses_and_later_sessions(fitted, sessions):
    noisy = sessions + [[AS_OF - dt.timedelta(days=3), "C0001", 99.0, "Cancelled"],
                        [AS_OF + dt.timedelta(days=5), "C0002", 120.0, "Completed"],
                        [AS_OF + dt.timedelta(days=9), "C0003", None, "Booked"]]
    assert udfs.CLV_FIT(noisy, AS_OF, None, "BG/NBD") == fitted


def test_clv_fit_time_unit_days_scales_alpha(fitted, sessions):
    in_days = {row[0]: row[1] for row in udfs.CLV_FIT(sessions, AS_OF, "days", "BG/NBD")[1:]}
    weeks = {row[0]: row[1] for row in fitted[1:]}
    assert in_days["time unit (days)"] == 1.0
    assert in_days["alpha"] / weeks["alpha"] == pytest.approx(7.0, rel=0.05)
    assert in_days["r"] == pytest.approx(weeks["r"], rel=0.05)


def test_clv_fit_output_feeds_the_other_formulas(fitted):
    values = {row[0]: row[1] for row in fitted[1:]}
    model = BetaGeo.from_params(*(values[k] for k in ("r", "alpha", "a", "b")))
    assert flat(udfs.P_ALIVE(column(X), column(TX), column(T_), fitted)) == pytest.approx(
        list(model.p_alive(X, TX, T_)))
    assert isinstance(udfs.EXPECTED_PURCHASES(52, 2, 30, 40, fitted), float)
    assert isinstance(udfs.EXPECTED_SPEND(2, 40, fitted), float)
    clv = udfs.MODEL_CLV(2, 30, 40, 40.0, fitted)
    assert isinstance(clv, float) and clv > 0


def test_clv_fit_too_few_repeat_clients():
    rows = [HEADER] + [[AS_OF - dt.timedelta(days=10 * i), f"C{i}", 50.0, "Completed"]
                       for i in range(20)]
    result = udfs.CLV_FIT(rows, AS_OF)
    assert is_message(result, "CLV_FIT") and "too few repeat clients" in result
    assert len(result) < 200


def test_clv_fit_without_spend_leaves_gamma_gamma_blank(sessions):
    free = [sessions[0]] + [row[:2] + [0.0] + row[3:] for row in sessions[1:]]
    result = udfs.CLV_FIT(free, AS_OF)
    rows = {row[0]: row[1:] for row in result[1:]}
    assert rows["r"][0] > 0
    for name in ("p", "q", "gamma"):
        assert rows[name][0] == ""
        assert rows[name][1].startswith("not fitted: too few repeat clients with positive spend")
    assert udfs.EXPECTED_SPEND(2, 40, result) == (
        "EXPECTED_SPEND: p is missing from the parameter table")
    assert isinstance(udfs.P_ALIVE(2, 30, 40, result), float)


@pytest.mark.parametrize("args, reason", [
    (([HEADER],), "sessions needs a header row and at least one session"),
    ((simulated_sessions(30), AS_OF, "fortnights"),
     'time unit must be "days", "weeks" or "months"'),
    ((simulated_sessions(30), "not a date"), "as-of date must be a date"),
    ((simulated_sessions(30), dt.datetime(2000, 1, 1)), "no Completed sessions on or before"),
    (([HEADER, [AS_OF, "C1", "lots", "Completed"]],), "Amount"),
])
def test_clv_fit_bad_input(args, reason):
    result = udfs.CLV_FIT(*args)
    assert is_message(result, "CLV_FIT") and reason in result, result


def test_clv_fit_blank_as_of_means_today():
    """A blank as-of is today, not an error (every session here is in the past)."""
    header = ["Date", "Client ID", "Amount", "Status"]
    rows = [[dt.datetime(2020, 1, 1), "A", 5.0, "Completed"]]
    result = udfs.CLV_FIT([header] + rows, None)
    assert isinstance(result, str) and result.startswith("CLV_FIT: ")
    assert "could not compute" not in result and "no Completed sessions" not in result


# ------------------------------------------------------------------ MBG/NBD and P_NO_PURCHASE
MBG = dict(r=0.525, alpha=6.183, a=0.891, b=1.614)  # BTYDplus' CDNOW estimates


def test_model_argument_picks_mbgnbd_case_insensitively():
    from clv_xl.engine.models import ModifiedBetaGeo

    model = ModifiedBetaGeo.from_params(**MBG)
    args = list(MBG.values())
    for spelling in ("MBG/NBD", "mbg/nbd", " Mbg-Nbd ", [["MBG/NBD"]]):
        got = flat(udfs.P_ALIVE(column(X), column(TX), column(T_), *args, spelling))
        assert got == pytest.approx(list(model.p_alive(X, TX, T_)), rel=1e-12)
    assert got[0] < 1.0  # MBG/NBD: a client with no repeat purchase may have left
    got = flat(udfs.EXPECTED_PURCHASES(39, column(X), column(TX), column(T_), *args, "MBG/NBD"))
    assert got == pytest.approx(list(model.conditional_expected_purchases(39, X, TX, T_)))
    # blank or "BG/NBD" is BG/NBD, also with the parameter table in r
    for choice in (None, "", "bg/nbd"):
        assert udfs.P_ALIVE(2, 30.43, 38.86, *ARGS, choice) == udfs.P_ALIVE(2, 30.43, 38.86, *ARGS)
    assert (udfs.P_ALIVE(2, 30.43, 38.86, table(MBG), None, None, None, "MBG/NBD")
            == pytest.approx(model.p_alive(2, 30.43, 38.86)))


@pytest.mark.parametrize("name, args", [
    ("P_ALIVE", (2, 30, 40, *ARGS)),
    ("EXPECTED_PURCHASES", (39, 2, 30, 40, *ARGS)),
    ("P_NO_PURCHASE", (39, 2, 30, 40, *ARGS)),
])
@pytest.mark.parametrize("bad", ["Pareto", 3, True, [["MBG/NBD", "BG/NBD"]]])
def test_bad_model_gives_a_message(name, args, bad):
    result = getattr(udfs, name)(*args, bad)
    expected = ('model must be a single cell' if isinstance(bad, list)
                else 'model must be "BG/NBD" or "MBG/NBD" or "Pareto/NBD"')
    assert result == f"{name}: {expected}"


@pytest.mark.parametrize("choice, model_class", [("BG/NBD", BetaGeo), ("MBG/NBD", None)])
def test_p_no_purchase_equals_the_engine(choice, model_class):
    from clv_xl.engine.models import ModifiedBetaGeo

    model = (model_class or ModifiedBetaGeo).from_params(**BG)
    got = flat(udfs.P_NO_PURCHASE(13, column(X), column(TX), column(T_), *ARGS, choice))
    assert got == pytest.approx(list(model.prob_no_purchase(13, X, TX, T_)), rel=1e-12)
    row = udfs.P_NO_PURCHASE([[0, 4, 52, 520]], 2, 30.43, 38.86, *ARGS, choice)[0]
    assert row[0] == 1.0 and all(0 <= v <= 1 for v in row) and row == sorted(row, reverse=True)
    # BG/NBD by hand: P(alive) ((alpha+T)/(alpha+T+t))^(r+x) + 1 - P(alive)
    r, alpha = BG["r"], BG["alpha"]
    alive = BetaGeo.from_params(**BG).p_alive(2, 30.43, 38.86)
    by_hand = alive * ((alpha + 38.86) / (alpha + 38.86 + 4)) ** (r + 2) + 1 - alive
    assert udfs.P_NO_PURCHASE(4, 2, 30.43, 38.86, *ARGS) == pytest.approx(by_hand, rel=1e-12)


def test_p_no_purchase_bad_input_and_table():
    assert udfs.P_NO_PURCHASE(-1, 2, 30, 40, *ARGS) == "P_NO_PURCHASE: horizon must be 0 or more"
    assert udfs.P_NO_PURCHASE(4, 2, 50, 40, *ARGS) == "P_NO_PURCHASE: recency must not exceed age"
    assert udfs.P_NO_PURCHASE(4, 2, 30, 40, 0.24) == (
        "P_NO_PURCHASE: alpha is missing: give r, alpha, a, b or the CLV_FIT table")
    assert (udfs.P_NO_PURCHASE(4, 2, 30, 40, table(BG))
            == udfs.P_NO_PURCHASE(4, 2, 30, 40, *ARGS))
    got = flat(udfs.P_NO_PURCHASE([[4], [4], [None]], [[2], ["x"], [None]], [[30], [1], [None]],
                                  [[40], [40], [None]], *ARGS))
    assert isinstance(got[0], float) and got[1].startswith("P_NO_PURCHASE: frequency") and got[2] == ""


def test_model_formulas_registered_with_the_model_argument():
    for name in ("P_ALIVE", "EXPECTED_PURCHASES", "P_NO_PURCHASE"):
        assert list(REGISTRY[name].args)[-1] == "model"
        assert len(REGISTRY[name].help) <= 255
    assert list(REGISTRY["P_NO_PURCHASE"].args) == [
        "horizon", "frequency", "recency", "age", "r", "alpha", "a", "b", "model"]


# ------------------------------------------------------------------ one model in every door

def test_clv_fit_auto_is_the_batchs_choice_and_the_formulas_follow_its_table():
    """The formulas, given CLV_FIT's "auto" table, give every client the Forecast's figures:
    the same model (the batch's holdout choice), the same parameters, the same histories."""
    from clv_xl.demo import demo_data
    from clv_xl.engine.forecast import forecast

    data = demo_data(seed=3, n_clients=400)
    as_of = pd.Timestamp(data.as_of)
    sessions = data.sessions
    rows = [["Date", "Client ID", "Amount", "Status"]] + [
        [d.to_pydatetime(), c, a, s] for d, c, a, s in zip(
            pd.to_datetime(sessions["date"]), sessions["client_id"], sessions["amount"],
            sessions["status"])]
    table = udfs.CLV_FIT(rows, as_of.to_pydatetime())
    names = {row[0]: row[1] for row in table[1:]}
    result = forecast(data.clients["client_id"], sessions, as_of)
    assert result.model.startswith(names["model"])
    for name, value in result.params.items():
        assert names[name] == pytest.approx(value, rel=1e-9)

    done = sessions[(sessions["status"] == "Completed")
                    & (pd.to_datetime(sessions["date"]) <= as_of)]
    rfm = rfm_from_transactions(done["client_id"], done["date"], as_of, 7.0, done["amount"])
    ids = list(rfm.index)
    args = [column(rfm[k].tolist()) for k in ("frequency", "recency", "T")]
    horizon = 12 * 365.25 / 12 / 7
    expected = flat(udfs.EXPECTED_PURCHASES(horizon, *args, table))
    silent = flat(udfs.P_NO_PURCHASE(horizon, *args, table))
    want = result.table.loc[ids]
    assert expected == pytest.approx(want["expected_sessions_12m"].tolist(), rel=1e-9)
    assert silent == pytest.approx(want["p_no_purchase_12m"].tolist(), rel=1e-9, abs=1e-12)
    if names["model"] != "BG/NBD":  # the Forecast's P(alive) is MBG/NBD's under BG/NBD
        alive = flat(udfs.P_ALIVE(*args, table))
        assert alive == pytest.approx(want["p_alive"].tolist(), rel=1e-9)


def test_a_model_named_against_the_tables_is_refused(fitted):
    answer = udfs.P_ALIVE(2, 30, 40, fitted, None, None, None, "MBG/NBD")
    assert is_message(answer, "P_ALIVE") and "BG/NBD fit" in answer


def test_pareto_nbd_through_clv_fit_and_the_formulas(sessions):
    from clv_xl.engine.models import ParetoNBD

    table = udfs.CLV_FIT(sessions, AS_OF, None, "Pareto/NBD")
    rows = {row[0]: row[1] for row in table[1:]}
    assert rows["model"] == "Pareto/NBD" and {"s", "beta"} <= set(rows)
    model = ParetoNBD.from_params(*(rows[k] for k in ("r", "alpha", "s", "beta")))
    assert flat(udfs.P_ALIVE(column(X), column(TX), column(T_), table)) == pytest.approx(
        list(model.p_alive(X, TX, T_)))
    by_number = udfs.P_ALIVE(2, 30.0, 38.0, *(rows[k] for k in ("r", "alpha", "s", "beta")),
                             "Pareto/NBD")
    assert by_number == pytest.approx(float(model.p_alive(2, 30.0, 38.0)))
    assert isinstance(udfs.MODEL_CLV(2, 30, 40, 40.0, table), float)


def test_p_purchases_is_eq_8_per_cell_and_refuses_pareto_nbd():
    model = BetaGeo.from_params(**BG)
    got = flat(udfs.P_PURCHASES(column([0, 1, 2, 7]), 39, *ARGS))
    assert got == pytest.approx([float(model.prob_purchases(n, 39.0)) for n in (0, 1, 2, 7)])
    assert udfs.P_PURCHASES(1.5, 39, *ARGS) == "P_PURCHASES: n must be a whole number"
    assert "not Pareto/NBD" in udfs.P_PURCHASES(0, 39, 0.5, 5.0, 0.8, 2.5, "Pareto/NBD")


def test_p_purchases_next_is_the_conditional_eq_8_per_cell():
    model = BetaGeo.from_params(**BG)
    got = flat(udfs.P_PURCHASES_NEXT(column([0, 1, 2]), 39, 2, 30.43, 38.86, *ARGS))
    assert got == pytest.approx([float(model.conditional_prob_purchases(n, 39.0, 2, 30.43, 38.86))
                                 for n in (0, 1, 2)])
    assert got[0] == pytest.approx(float(udfs.P_NO_PURCHASE(39, 2, 30.43, 38.86, *ARGS)))
    assert udfs.P_PURCHASES_NEXT(1, 39, 2, 40, 38.86, *ARGS) == \
        "P_PURCHASES_NEXT: recency must not exceed age"
    assert "not Pareto/NBD" in udfs.P_PURCHASES_NEXT(0, 39, 2, 30, 38, 0.5, 5.0, 0.8, 2.5,
                                                     "Pareto/NBD")
