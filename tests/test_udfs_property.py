"""A property over every Excel formula: whatever the cells hold, each answer cell is a
number, a blank, a label, or a short message "NAME: reason" (at most 255 characters, what a
cell shows without truncation in most views) that never names an internal exception
(OutOfBoundsDatetime, OverflowError, ...).

The formulas and their argument kinds are read from the registry, so a new formula is
covered without touching this file. The values include dates across Excel's whole range
(1900-01-01 to 9999-12-31), dates as text outside it ("0001-01-01"), numbers up to the float
limit, infinities, booleans, error texts and long text.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import re
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from clv_xl.book.schema import SETTINGS
from clv_xl.excel import args as excel_args
from clv_xl.excel import udfs
from clv_xl.excel.function import REGISTRY

MAX_MESSAGE = 255
INTERNAL = re.compile(r"could not compute|OutOfBounds|Overflow|Error\b|Exception|Traceback|"
                      r"\bnumpy\b|\bpandas\b|dtype|ufunc")

EXCEL_DATES = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 31))
DATE_TEXTS = st.one_of(
    st.sampled_from(["0001-01-01", "9999-12-31", "1899-12-31", "2262-04-12", "2262-04-11", "2189-12-31", "2190-01-01",
                     "1900-01-01", "2024-02-30", "10000-01-01", "-0001-01-01"]),
    EXCEL_DATES.map(lambda d: d.date().isoformat()))
NUMBERS = st.one_of(
    st.floats(0, 1e6), st.floats(0, 1), st.integers(0, 400).map(float),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -1e308, 1e15, 5e-324]),
    st.integers(-10 ** 30, 10 ** 30))
CELLS = st.one_of(
    st.none(), st.just(""), NUMBERS, st.booleans(), EXCEL_DATES, EXCEL_DATES.map(lambda d: d.date()),
    DATE_TEXTS, st.sampled_from(["#N/A", "#REF!", "abc", " 12 ", "20%", "Completed", "TRUE"]),
    st.text(max_size=400))
GOOD_CELLS = st.one_of(st.floats(0, 1000), st.integers(0, 60).map(float), st.floats(0, 1))
SHAPES = st.tuples(st.integers(1, 3), st.integers(1, 2))
PARAMETER_NAMES = excel_args.MODEL_PARAMETER_NAMES + (excel_args.TIME_UNIT_ROW,)
SETTING_LABELS = [s.label for s in SETTINGS]


def _grid(draw, shape, cells):
    return [[draw(cells) for _ in range(shape[1])] for _ in range(shape[0])]


@st.composite
def number_argument(draw, shape):
    cells = st.one_of(GOOD_CELLS, GOOD_CELLS, CELLS)
    kind = draw(st.sampled_from(["cell", "range", "one"]))
    if kind == "cell":
        return draw(cells)
    return _grid(draw, (1, 1) if kind == "one" else shape, cells)


@st.composite
def parameter_argument(draw):
    kind = draw(st.sampled_from(["number", "table", "table", "hostile"]))
    if kind == "number":
        return draw(st.floats(0.01, 50))
    if kind == "hostile":
        return draw(st.one_of(CELLS, st.lists(st.lists(CELLS, min_size=2, max_size=3),
                                              min_size=1, max_size=3)))
    rows = [["Parameter", "Estimate", "Std. error"]]
    for name in PARAMETER_NAMES:
        if draw(st.integers(0, 9)) == 0:
            continue  # sometimes one is missing
        value = 7.0 if name == excel_args.TIME_UNIT_ROW else draw(st.floats(0.05, 20))
        rows.append([name, draw(st.one_of(st.just(value), st.just(value), CELLS)), None])
    return rows


@st.composite
def settings_argument(draw):
    if draw(st.booleans()):
        return None
    return [[draw(st.sampled_from(SETTING_LABELS + ["Bogus"])),
             draw(st.one_of(CELLS, EXCEL_DATES))] for _ in range(draw(st.integers(1, 3)))]


@st.composite
def sessions_argument(draw):
    """A sessions range, mostly of good rows (a bad row makes the whole formula one message,
    so hostile rows are rare enough for the as-of date and the fit to be reached)."""
    header = ["Date", "Client ID", "Amount", "Status"]
    recent = st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2024, 12, 31))
    good = st.tuples(recent, st.sampled_from(["C1", "C2", "C3", "C4", "C5"]), st.floats(0, 500),
                     st.sampled_from(["Completed", "Completed", "Cancelled", "Booked"]))
    hostile = st.tuples(st.one_of(EXCEL_DATES, DATE_TEXTS, CELLS), st.sampled_from(["C1", "C2"]),
                        st.one_of(st.floats(0, 500), CELLS), st.just("Completed"))
    rows = st.one_of(*[good] * 12, hostile).map(list)
    return [header] + draw(st.lists(rows, min_size=0, max_size=25))


def argument(draw, spec, shape):
    if isinstance(spec, excel_args.Number):
        return draw(number_argument(shape))
    if isinstance(spec, excel_args.Flag):
        return draw(st.one_of(st.booleans(), CELLS))
    if isinstance(spec, excel_args.SettingsRange):
        return draw(settings_argument())
    if isinstance(spec, excel_args.SessionsRange):
        return draw(sessions_argument())
    if isinstance(spec, excel_args.DateArg):
        return draw(st.one_of(EXCEL_DATES, DATE_TEXTS, CELLS,
                              st.datetimes(dt.datetime(2021, 1, 1), dt.datetime(2026, 1, 1))))
    if isinstance(spec, excel_args.ModelParameter):
        return draw(parameter_argument())
    if isinstance(spec, excel_args.TimeUnit):
        return draw(st.one_of(st.sampled_from(["days", "weeks", "months", None]), CELLS))
    if isinstance(spec, excel_args.TextChoice):
        return draw(st.one_of(st.sampled_from(list(spec.choices) + [None]), CELLS))
    if isinstance(spec, excel_args.CohortCounts):  # members active per period, cohorts as rows
        falling = st.lists(st.integers(0, 2000), min_size=1, max_size=12).map(
            lambda counts: [float(c) for c in sorted(counts, reverse=True)])
        row = st.one_of(falling, falling, st.lists(st.one_of(st.floats(0, 1e6), CELLS),
                                                   min_size=1, max_size=8))
        return draw(st.one_of(st.lists(row, min_size=1, max_size=4), CELLS))
    raise AssertionError(f"no strategy for {type(spec).__name__}: add one")


def _tables(entry) -> bool:
    """A formula over a sessions range (it spills a table and fits or summarises)."""
    return any(isinstance(spec, excel_args.SessionsRange) for spec in entry.args.values())


@st.composite
def calls(draw, names):
    name = draw(names)
    entry = REGISTRY[name]
    params = list(inspect.signature(getattr(udfs, name)).parameters.values())
    required = sum(p.default is inspect.Parameter.empty for p in params)
    count = draw(st.integers(required, len(params)))
    shape = draw(SHAPES)
    values = []
    for param in params[:count]:
        spec = entry.args[param.name]
        if param.name in ("r", "p", "parameters") and isinstance(spec, excel_args.ModelParameter):
            values.append(draw(parameter_argument()))
        elif isinstance(spec, excel_args.ModelParameter):  # later parameters: usually left out
            values.append(draw(st.one_of(st.none(), st.none(), parameter_argument())))
        else:
            values.append(argument(draw, spec, shape))
    return name, values


def check_cell(name: str, value) -> None:
    assert not isinstance(value, (bool, np.bool_)), repr(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        assert math.isfinite(value), f"{name}: {value!r}"
    elif isinstance(value, str):
        if value.startswith(f"{name}: "):
            assert len(value) <= MAX_MESSAGE, f"{len(value)} characters: {value}"
            assert "\n" not in value and "\r" not in value, value
            assert not INTERNAL.search(value), value
    else:
        assert isinstance(value, (dt.datetime, dt.date)), repr(value)


SETTINGS_FOR_TEST = dict(deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


@hsettings(max_examples=500, **SETTINGS_FOR_TEST)
@given(calls(st.sampled_from(sorted(n for n, e in REGISTRY.items() if not _tables(e)))))
def test_every_cell_formula_answers_a_number_a_blank_or_a_short_message(call):
    _check_call(*call)


@hsettings(max_examples=250, **SETTINGS_FOR_TEST)
@given(calls(st.sampled_from(sorted(n for n, e in REGISTRY.items() if _tables(e)))))
def test_every_table_formula_answers_a_table_or_a_short_message(call):
    _check_call(*call)


def _check_call(name, values):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = getattr(udfs, name)(*values)
    rows = result if isinstance(result, list) else [[result]]
    for row in rows:
        assert isinstance(row, list), repr(result)
        for value in row:
            check_cell(name, value)


def test_every_formula_has_a_strategy_for_each_argument():
    """The property above draws from the registry: every argument kind must be known."""
    known = (excel_args.Number, excel_args.Flag, excel_args.SettingsRange,
             excel_args.SessionsRange, excel_args.DateArg, excel_args.ModelParameter,
             excel_args.TimeUnit, excel_args.TextChoice, excel_args.CohortCounts)
    for entry in REGISTRY.values():
        for spec in entry.args.values():
            assert isinstance(spec, known), (entry.name, spec)


def test_a_range_computed_in_blocks_gives_the_same_answers(monkeypatch):
    """Cell formulas convert and compute a block of rows at a time (memory); blocks of one
    row, with blank, bad and good rows among them, must give the answers of one block."""
    from clv_xl.excel import function

    column = [[5.0], [None], ["abc"], [2.0], [-1.0], [None], [1e308], [3.0]]
    ages = [[40.0]] * len(column)
    table = [["r", 0.5], ["alpha", 4.0], ["a", 0.8], ["b", 2.5], ["p", 6.0], ["q", 4.0],
             ["gamma", 15.0]]
    calls = [("CLV", (column, column, 6.0, 0.2)), ("TLV", (column, [[1.0]] * 8, column)),
             ("P_ALIVE", (column, column, ages, table)),
             ("MODEL_CLV", (column, column, ages, column, table)),
             ("CHURN_RISK", (column, column))]
    whole = [getattr(udfs, name)(*args) for name, args in calls]
    monkeypatch.setattr(function, "BLOCK_CELLS", 1)
    blocks = [getattr(udfs, name)(*args) for name, args in calls]
    for got, want in zip(blocks, whole):  # numbers equal up to the last bit (SIMD by length)
        assert [type(v) for row in got for v in row] == [type(v) for row in want for v in row]
        flat = [(g, w) for gr, wr in zip(got, want) for g, w in zip(gr, wr)]
        assert [g for g, w in flat if isinstance(g, str)] == [w for g, w in flat
                                                              if isinstance(w, str)]
        np.testing.assert_allclose([g for g, _ in flat if isinstance(g, float)],
                                   [w for _, w in flat if isinstance(w, float)], rtol=1e-13)
    assert whole[0][1] == [""] and whole[0][2][0].startswith("CLV: ")
