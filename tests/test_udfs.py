"""The Excel formulas of clv_xl.excel.udfs, called as xlwings calls them.

A cell arrives as a value (float, str, bool, datetime, None for blank), a range as a list of
rows. Bad input must come back as one short line "NAME: reason", never as an exception; good
input must give what the engine (clv_xl.engine.formulas / churn / metrics) gives.

The UDFs are looked up on the module at call time (``getattr(udfs, name)``) because
tests/test_udf_registration.py reloads clv_xl.excel.udfs.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from clv_xl.engine import churn, formulas
from clv_xl.excel import udfs
from clv_xl.engine.metrics import client_figures
from clv_xl.book.schema import CLIENTS, LABELS, NO_REASON, REASONS, RISK_BANDS, STAGES
from clv_xl.book.settings import Settings

NAN = float("nan")
INF = float("inf")
DAY = dt.datetime(2024, 3, 1)
MAX_MESSAGE = 120

CELL_UDFS = ("CLV", "TLV", "RETENTION_CLV", "CHURN_RISK", "CHURN_REASON", "CHURN_BAND",
             "LIFECYCLE_STAGE")
TABLE_UDFS = ("CLV_LEVERS", "CLV_SUMMARY")


def call(name, *args):
    return getattr(udfs, name)(*args)


def assert_message(result, name, *words):
    assert isinstance(result, str), f"{name}: expected a message, got {result!r}"
    assert result.startswith(f"{name}: "), result
    assert len(result) < MAX_MESSAGE, f"{len(result)} chars: {result}"
    assert "Traceback" not in result and "\n" not in result and "\r" not in result, result
    assert "could not compute" not in result, f"bad input not explained: {result}"
    lowered = result.lower()
    for word in words:
        assert word.lower() in lowered, f"{word!r} not in {result!r}"


def col(*values):
    """A one-column range as xlwings gives it."""
    return [[v] for v in values]


# --------------------------------------------------------------------------- bad input

SESSIONS_HEADER = ["Date", "Client ID", "Amount", "Status"]
GOOD_SESSIONS = [
    SESSIONS_HEADER,
    [dt.datetime(2024, 1, 5), "C1", 100.0, "Completed"],
    [dt.datetime(2024, 3, 5), "C1", 120.0, "Completed"],
    [dt.datetime(2024, 2, 1), "C2", 80.0, "Completed"],
    [dt.datetime(2024, 4, 1), "C2", None, "Cancelled"],
    [dt.datetime(2024, 5, 1), "C2", 0.0, "Rescheduled"],
    [dt.datetime(2024, 7, 1), "C3", 0.0, "Booked"],
]
AS_OF = dt.datetime(2024, 6, 30)


def with_row(row):
    return GOOD_SESSIONS + [row]


CHURN_SIGN_CASES = [
    # (args, key words)
    (("abc",), ["days since", "not text", "abc"]),
    ((None,), ["days since", "is blank"]),
    (("   ",), ["days since", "is blank"]),
    ((-1,), ["days since", "0 or more"]),
    ((NAN,), ["days since", "must be a number"]),
    ((INF,), ["days since", "must be a number"]),
    ((True,), ["days since", "not TRUE"]),
    ((DAY,), ["days since", "not a date"]),
    ((40, "monthly"), ["usual interval", "not text"]),
    ((40, 0.5), ["usual interval", "1 or more"]),
    ((40, False), ["usual interval", "not FALSE"]),
    ((40, 30, 25), ["cancel share", "between 0 and 1", "25%"]),
    ((40, 30, -0.1), ["cancel share", "0 or more"]),
    ((40, 30, 0.2, 70), ["reply rate now", "between 0 and 1", "70%"]),
    ((40, 30, 0.2, 0.5, 150), ["reply rate before", "between 0 and 1", "150%"]),
    ((40, 30, 0.2, 0.5, DAY), ["reply rate before", "not a date"]),
    ((40, 30, 0.2, 0.5, 0.9, "yes"), ["upcoming", "TRUE or FALSE"]),
    ((40, 30, 0.2, 0.5, 0.9, 2), ["upcoming", "TRUE or FALSE"]),
    ((40, 30, 0.2, 0.5, 0.9, NAN), ["upcoming", "TRUE or FALSE"]),
    ((40, 30, 0, None, None, False, [["Bogus", 1]]), ["settings", "unknown setting", "Bogus"]),
    ((40, 30, 0, None, None, False, [["Gross margin"]]), ["settings", "two columns"]),
    ((40, 30, 0, None, None, False, [["Gross margin", 60]]),
     ["settings", "Gross margin", "between 0 and 1"]),
    ((40, 30, 0, None, None, False, [["Gross margin", "abc"]]),
     ["settings", "Gross margin", "not a number"]),
    ((40, 30, 0, None, None, False, [["High risk from", 0.2], ["Medium risk from", 0.5]]),
     ["settings", "High risk from", "Medium risk from"]),
    ((40, 30, 0, None, None, False,
      [["Weight: overdue", 0], ["Weight: cancellations", 0], ["Weight: fewer replies", 0]]),
     ["settings", "weight"]),
]

BAD_INPUT = [
    # CLV
    ("CLV", ("abc", 3), ["order value", "not text", "abc"]),
    ("CLV", (90, "three"), ["purchases", "not text", "three"]),
    ("CLV", (None, 3), ["order value", "is blank"]),
    ("CLV", (90, None), ["purchases", "is blank"]),
    ("CLV", ("", 3), ["order value", "is blank"]),
    ("CLV", (-5, 3), ["order value", "0 or more"]),
    ("CLV", (90, -3), ["purchases", "0 or more"]),
    ("CLV", (90, 3, -6), ["acquisition cost", "0 or more"]),
    ("CLV", (NAN, 3), ["order value", "must be a number"]),
    ("CLV", (90, INF), ["purchases", "must be a number"]),
    ("CLV", (True, 3), ["order value", "not TRUE"]),
    ("CLV", (90, 3, False), ["acquisition cost", "not FALSE"]),
    ("CLV", (DAY, 3), ["order value", "not a date"]),
    ("CLV", (90, 3, 6, 20), ["margin", "between 0 and 1", "20%", "not 20"]),
    ("CLV", (90, 3, 6, -0.2), ["margin", "0 or more"]),
    ("CLV", (90, 3, 6, "20%"), ["margin", "not text"]),
    # TLV
    ("TLV", ("twenty", 12, 5), ["average sale", "not text"]),
    ("TLV", (20, None, 5), ["purchases per period", "is blank"]),
    ("TLV", (20, 12, None), ["periods", "is blank"]),
    ("TLV", (-20, 12, 5), ["average sale", "0 or more"]),
    ("TLV", (20, 12, 5, -1), ["referrals", "0 or more"]),
    ("TLV", (20, 12, 5, 4, -100), ["referral value", "0 or more"]),
    ("TLV", (20, NAN, 5), ["purchases per period", "must be a number"]),
    ("TLV", (20, 12, 5, True), ["referrals", "not TRUE"]),
    ("TLV", (20, 12, DAY), ["periods", "not a date"]),
    ("TLV", (20, 12, 5, 4, "x"), ["referral value", "not text"]),
    # RETENTION_CLV
    ("RETENTION_CLV", ("hundred", 0.8, 0.1), ["margin per period", "not text"]),
    ("RETENTION_CLV", (100, None, 0.1), ["retention rate", "is blank"]),
    ("RETENTION_CLV", (100, 0.8, None), ["discount rate", "is blank"]),
    ("RETENTION_CLV", (-100, 0.8, 0.1), ["margin per period", "0 or more"]),
    ("RETENTION_CLV", (100, 80, 0.1), ["retention rate", "between 0 and 1", "80%"]),
    ("RETENTION_CLV", (100, 0.8, 10), ["discount rate", "between 0 and 1", "10%"]),
    ("RETENTION_CLV", (100, -0.8, 0.1), ["retention rate", "0 or more"]),
    ("RETENTION_CLV", (100, 0.8, 0.1, -3), ["periods", "0 or more"]),
    ("RETENTION_CLV", (100, 0.8, 0.1, "ten"), ["periods", "not text"]),
    ("RETENTION_CLV", (NAN, 0.8, 0.1), ["margin per period", "must be a number"]),
    ("RETENTION_CLV", (100, True, 0.1), ["retention rate", "not TRUE"]),
    ("RETENTION_CLV", (100, 0.8, DAY), ["discount rate", "not a date"]),
    # CHURN_RISK and CHURN_REASON take the same signs
    *[(name, args, words) for name in ("CHURN_RISK", "CHURN_REASON")
      for args, words in CHURN_SIGN_CASES],
    # CHURN_BAND
    ("CHURN_BAND", ("high",), ["score", "not text"]),
    ("CHURN_BAND", (None,), ["score", "is blank"]),
    ("CHURN_BAND", (-0.1,), ["score", "0 or more"]),
    ("CHURN_BAND", (70,), ["score", "between 0 and 1", "70%"]),
    ("CHURN_BAND", (NAN,), ["score", "must be a number"]),
    ("CHURN_BAND", (False,), ["score", "not FALSE"]),
    ("CHURN_BAND", (DAY,), ["score", "not a date"]),
    ("CHURN_BAND", (0.5, [["Bogus", 1]]), ["settings", "unknown setting", "Bogus"]),
    ("CHURN_BAND", (0.5, [["High risk from", 0.2], ["Medium risk from", 0.5]]),
     ["settings", "High risk from"]),
    ("CHURN_BAND", (0.5, [["High risk from", 60]]), ["settings", "High risk from"]),
    # LIFECYCLE_STAGE
    ("LIFECYCLE_STAGE", ("three", 10), ["completed", "not text"]),
    ("LIFECYCLE_STAGE", (None, 10), ["completed", "is blank"]),
    ("LIFECYCLE_STAGE", (3, None), ["days since", "is blank"]),
    ("LIFECYCLE_STAGE", (-3, 10), ["completed", "0 or more"]),
    ("LIFECYCLE_STAGE", (3, -10), ["days since", "0 or more"]),
    ("LIFECYCLE_STAGE", (3, 10, 0), ["usual interval", "1 or more"]),
    ("LIFECYCLE_STAGE", (3, 10, 30, 10), ["score", "between 0 and 1", "10%"]),
    ("LIFECYCLE_STAGE", (3, 10, 30, 0.1, "no"), ["upcoming", "TRUE or FALSE"]),
    ("LIFECYCLE_STAGE", (NAN, 10), ["completed", "must be a number"]),
    ("LIFECYCLE_STAGE", (True, 10), ["completed", "not TRUE"]),
    ("LIFECYCLE_STAGE", (3, DAY), ["days since", "not a date"]),
    ("LIFECYCLE_STAGE", (3, 10, 30, 0.1, False, [["Bogus", 1]]),
     ["settings", "unknown setting", "Bogus"]),
    # CLV_LEVERS: every argument is a single cell
    ("CLV_LEVERS", ("abc", 3), ["order value", "not text"]),
    ("CLV_LEVERS", (None, 3), ["order value", "is blank"]),
    ("CLV_LEVERS", (90, None), ["purchases", "is blank"]),
    ("CLV_LEVERS", (-90, 3), ["order value", "0 or more"]),
    ("CLV_LEVERS", (90, 3, -6), ["acquisition cost", "0 or more"]),
    ("CLV_LEVERS", (NAN, 3), ["order value", "must be a number"]),
    ("CLV_LEVERS", (True, 3), ["order value", "not TRUE"]),
    ("CLV_LEVERS", (90, DAY), ["purchases", "not a date"]),
    ("CLV_LEVERS", (90, 3, 6, 20), ["margin", "between 0 and 1", "20%"]),
    ("CLV_LEVERS", (90, 3, 6, 0.2, 10), ["change", "between 0 and 1", "10%"]),
    ("CLV_LEVERS", (col(90, 80), 3), ["order value", "single cell"]),
    ("CLV_LEVERS", (90, [[3, 4]]), ["purchases", "single cell"]),
    ("CLV_LEVERS", ([["x"]], 3), ["order value", "not text"]),
    # CLV_SUMMARY
    ("CLV_SUMMARY", ([SESSIONS_HEADER], AS_OF), ["sessions", "header row", "one session"]),
    ("CLV_SUMMARY", ("Date", AS_OF), ["sessions", "header row"]),
    ("CLV_SUMMARY", (None, AS_OF), ["sessions", "header row"]),
    ("CLV_SUMMARY", ([SESSIONS_HEADER, [None] * 4, [None] * 4], AS_OF), ["sessions", "no rows"]),
    ("CLV_SUMMARY", ([["Date", "Client ID", "Amount"], [DAY, "C1", 5.0]], AS_OF),
     ["Status", "missing"]),
    ("CLV_SUMMARY", ([["Client ID", "Amount", "Status"], ["C1", 5.0, "Completed"]], AS_OF),
     ["Date", "missing"]),
    ("CLV_SUMMARY", ([["Date", "Amount", "Status"], [DAY, 5.0, "Completed"]], AS_OF),
     ["Client ID", "missing"]),
    ("CLV_SUMMARY", ([["Date", "Client ID", "Status"], [DAY, "C1", "Completed"]], AS_OF),
     ["row 2", "Amount", "needs an amount"]),
    ("CLV_SUMMARY", (with_row([DAY, "C9", "abc", "Completed"]), AS_OF),
     ["row 8", "Amount", "text", "abc"]),
    ("CLV_SUMMARY", (with_row([DAY, "C9", -5.0, "Completed"]), AS_OF),
     ["row 8", "Amount", "0 or more"]),
    ("CLV_SUMMARY", (with_row([DAY, "C9", True, "Completed"]), AS_OF),
     ["row 8", "Amount", "TRUE"]),
    ("CLV_SUMMARY", (with_row([DAY, "C9", NAN, "Completed"]), AS_OF),
     ["row 8", "Amount", "needs an amount"]),
    ("CLV_SUMMARY", (with_row(["notadate", "C9", 5.0, "Completed"]), AS_OF),
     ["row 8", "Date", "notadate", "not a date"]),
    ("CLV_SUMMARY", (with_row([45000.0, "C9", 5.0, "Completed"]), AS_OF),
     ["row 8", "Date", "45000", "date"]),
    ("CLV_SUMMARY", (with_row([DAY, "C9", 5.0, "Done"]), AS_OF),
     ["row 8", "Status", "Done", "write Completed"]),
    ("CLV_SUMMARY", (with_row([DAY, None, 5.0, "Completed"]), AS_OF),
     ["row 8", "Client ID", "blank"]),
    ("CLV_SUMMARY", (GOOD_SESSIONS + [[DAY, "C9", "x", "Completed"], [DAY, "C9", -1.0, "Booked"]],
                     AS_OF), ["row 8", "Amount", "and 1 more"]),
    ("CLV_SUMMARY", (GOOD_SESSIONS, "notadate"), ["as-of date", "must be a date"]),
    ("CLV_SUMMARY", (GOOD_SESSIONS, True), ["as-of date", "must be a date"]),
    ("CLV_SUMMARY", (GOOD_SESSIONS, 45000.0), ["as-of date", "must be a date"]),
    ("CLV_SUMMARY", (GOOD_SESSIONS, AS_OF, [["Bogus", 1]]), ["settings", "unknown setting", "Bogus"]),
    ("CLV_SUMMARY", (GOOD_SESSIONS, AS_OF, [["Gross margin", 60]]),
     ["settings", "Gross margin", "between 0 and 1"]),
    ("CLV_SUMMARY", (GOOD_SESSIONS, AS_OF, [["Margin"]]), ["settings", "two columns"]),
]


@pytest.mark.parametrize("name, args, words", BAD_INPUT,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD_INPUT)])
def test_bad_input_gives_a_short_message(name, args, words):
    assert_message(call(name, *args), name, *words)


@pytest.mark.parametrize("name, args, words", [
    (n, tuple([[v]] if not isinstance(v, list) else v for v in a), w)
    for n, a, w in BAD_INPUT if n in CELL_UDFS])
def test_bad_single_cell_as_a_one_by_one_range(name, args, words):
    """xlwings gives a single cell as [[value]] (ndim=2): the answer is still one message."""
    assert_message(call(name, *args), name, *words)


def test_every_udf_has_bad_input_cases():
    assert {n for n, _, _ in BAD_INPUT} == set(CELL_UDFS) | set(TABLE_UDFS)
    assert set(CELL_UDFS) | set(TABLE_UDFS) <= {
        n for n, f in vars(udfs).items() if n.isupper() and callable(f)}


MISMATCHED = [
    ("CLV", (col(90, 80), col(3, 4, 5)), ["order value 2x1", "purchases 3x1"]),
    ("CLV", ([[90, 80]], col(3, 4)), ["order value 1x2", "purchases 2x1"]),
    ("CLV", (90, 3, col(1, 2), col(0.1, 0.2, 0.3)), ["acquisition cost 2x1", "margin 3x1"]),
    ("TLV", (col(20, 30), col(12, 12, 12), 5), ["average sale 2x1", "purchases per period 3x1"]),
    ("RETENTION_CLV", (100, col(0.8, 0.9), col(0.1, 0.1, 0.1)),
     ["retention rate 2x1", "discount rate 3x1"]),
    ("CHURN_RISK", (col(10, 20), col(30, 30, 30)), ["days since 2x1", "usual interval 3x1"]),
    ("CHURN_REASON", (col(10, 20), 30, [[0.1, 0.2]]), ["days since 2x1", "cancel share 1x2"]),
    ("CHURN_BAND", ([[0.1, 0.2], [0.35, 0.4]], [["Margin", 0.5]]), None),
    ("LIFECYCLE_STAGE", (col(1, 2), col(10, 20, 30)), ["completed 2x1", "days since 3x1"]),
]


@pytest.mark.parametrize("name, args, words", MISMATCHED)
def test_ranges_of_different_sizes(name, args, words):
    result = call(name, *args)
    if words is None:  # a settings range is not a per-cell range: no mismatch
        assert result == [["Low", "Low"], ["Medium", "Medium"]]
    else:
        assert_message(result, name, "ranges differ in size", *words)


# A column per argument: row 0 good, row 1 one bad cell, row 2 fully blank, row 3 good.
MIXED = [
    ("CLV", [(90, "x", None, 70), (3, 4, None, 2), (6, 6, None, 0), (0.2, 0.2, None, 1)],
     ["order value", "not text"]),
    ("CLV", [(90, 80, None, 70), (3, 4, None, 2), (6, 6, None, 0), (0.2, 20, None, 1)],
     ["margin", "20%"]),
    ("TLV", [(20, 30, None, 400), (12, -1, None, 1), (5, 5, None, 10), (0, 0, None, 4)],
     ["purchases per period", "0 or more"]),
    ("RETENTION_CLV", [(100, 100, None, 50), (0.8, 80, None, 0.5), (0.1, 0.1, None, 0.05),
                       (None, None, None, 3)], ["retention rate", "80%"]),
    ("CHURN_RISK", [(40, True, None, 400), (30, 30, None, None), (0.2, 0, None, 0.5),
                    (0.5, None, None, None), (0.9, None, None, None),
                    (False, False, None, True)], ["days since", "TRUE"]),
    ("CHURN_REASON", [(40, 10, None, 400), (30, 30, None, None), (0.2, 0, None, 0.5),
                      (0.5, NAN, None, None), (0.9, None, None, None),
                      (False, False, None, True)], ["reply rate now", "number"]),
    ("CHURN_BAND", [(0.1, DAY, None, 0.9)], ["score", "date"]),
    ("LIFECYCLE_STAGE", [(3, 1, None, 0), (10, "", None, 500), (30, 30, None, None),
                         (0.1, 0.1, None, 0.9), (False, False, None, False)],
     ["days since", "blank"]),
]


@pytest.mark.parametrize("name, columns, words", MIXED)
def test_a_bad_cell_among_good_ones(name, columns, words):
    result = call(name, *[col(*c) for c in columns])
    assert isinstance(result, list) and len(result) == 4
    assert all(isinstance(row, list) and len(row) == 1 for row in result)
    cells = [row[0] for row in result]
    for i in (0, 3):  # good rows: what the same formula gives for those cells alone
        alone = call(name, *[c[i] for c in columns])
        assert not (isinstance(alone, str) and alone.startswith(name)), alone
        if isinstance(alone, float):
            assert cells[i] == pytest.approx(alone, rel=1e-12)
        else:
            assert cells[i] == alone
    assert_message(cells[1], name, *words)
    assert cells[2] == ""


def test_first_bad_argument_of_a_row_is_reported():
    result = call("CLV", col(90, "x"), col(3, 3), col(6, -6), col(0.2, 20))
    assert result[0][0] == pytest.approx(formulas.clv(90, 3, 6, 0.2))
    assert_message(result[1][0], "CLV", "order value", "not text")


def test_partly_blank_row_is_a_message_not_a_blank():
    result = call("CLV", col(90, None), col(3, 4))
    assert_message(result[1][0], "CLV", "order value", "is blank")


@pytest.mark.parametrize("args", [(100, 1, 0), (col(100, 100), col(1.0, 0.8), 0)])
def test_retention_clv_unbounded_value_is_a_message(args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = call("RETENTION_CLV", *args)
    first = result[0][0] if isinstance(result, list) else result
    assert isinstance(first, str) and first.startswith("RETENTION_CLV: "), result


@pytest.mark.parametrize("name, args", [
    ("CLV", (col(1, 2), col(1, 2, 3), col(1, 2, 3, 4), col(0.1) * 5)),
    ("CHURN_RISK", (col(1, 2), col(1, 2, 3), col(0.1) * 4, col(0.1) * 5, col(0.1) * 6)),
    ("CLV_SUMMARY", (with_row([DAY, "C9", "paid in cash at the door on the day, see the notebook",
                               "Completed"]), AS_OF)),
])
def test_messages_stay_short_with_many_ranges_or_long_text(name, args):
    result = call(name, *args)
    assert isinstance(result, str) and result.startswith(f"{name}: ")
    assert len(result) < MAX_MESSAGE, f"{len(result)} chars: {result}"


# --------------------------------------------------------------------------- good input

def test_clv_worked_example():
    result = call("CLV", 90, 3, 6, 0.2)
    assert isinstance(result, float)
    assert abs(result - 52.80) < 1e-12
    assert result == formulas.clv(90, 3, 6, 0.2)


@pytest.mark.parametrize("args, expected", [
    ((90, 3), formulas.clv(90, 3)),
    ((90, 3, None, None), formulas.clv(90, 3, 0.0, 1.0)),
    ((90, 3, "", "  "), formulas.clv(90, 3, 0.0, 1.0)),
    ((90.0, 3.0, 0.0, 1.0), 270.0),
    ((90, 3, 6, 0), 0.0),
    (([[90]], [[3]], [[6]], [[0.2]]), formulas.clv(90, 3, 6, 0.2)),  # xlwings ndim=2
])
def test_clv_single_cells(args, expected):
    result = call("CLV", *args)
    assert isinstance(result, float) and result == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("shape", [(3, 1), (1, 3), (2, 2)])
def test_clv_range_matches_engine_array_call(shape):
    aov = np.array([90.0, 120.0, 45.5, 10.0])[: shape[0] * shape[1]].reshape(shape)
    n = np.array([3.0, 2.0, 10.0, 0.0])[: aov.size].reshape(shape)
    margin = np.array([0.2, 0.5, 1.0, 0.35])[: aov.size].reshape(shape)
    result = call("CLV", aov.tolist(), n.tolist(), 6, margin.tolist())
    expected = formulas.clv(aov, n, 6.0, margin)
    assert isinstance(result, list) and len(result) == shape[0]
    assert all(isinstance(row, list) and len(row) == shape[1] for row in result)
    assert all(isinstance(v, float) for row in result for v in row)
    np.testing.assert_allclose(np.array(result, dtype=float), expected, rtol=1e-12)


@pytest.mark.parametrize("args, expected", [
    ((20, 12, 5), 1200.0),
    ((400, 1, 10, 4), 20000.0),
    ((400, 1, 10, 4, 1000), 8000.0),
    ((400, 1, 10, 4, None), 20000.0),
])
def test_tlv_seed_examples(args, expected):
    result = call("TLV", *args)
    assert result == pytest.approx(expected, rel=1e-12)
    assert result == pytest.approx(formulas.tlv(*args), rel=1e-12)


def test_tlv_column():
    result = call("TLV", col(20, 400), col(12, 1), col(5, 10), col(0, 4), col(None, 1000))
    assert result == [[1200.0], [8000.0]]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("args", [(100, 0.8, 0.1), (100, 0.8, 0.1, 5), (50, 0.9, 0.0, 3),
                                  (100, 1.0, 0.0, 4), (100, 0.0, 0.1)])
def test_retention_clv_matches_engine(args):
    expected = formulas.retention_clv(*args)
    assert call("RETENTION_CLV", *args) == pytest.approx(expected, rel=1e-12)


def test_retention_clv_closed_form():
    assert call("RETENTION_CLV", 100, 0.8, 0.1) == pytest.approx(100 * 0.8 / (1.1 - 0.8))
    q = 0.8 / 1.1
    assert call("RETENTION_CLV", 100, 0.8, 0.1, 2) == pytest.approx(100 * (q + q * q))


SIGN_ROWS = [
    (100, 30, 0.2, 0.5, 0.9, True),
    (100, 30, 0.2, 0.5, 0.9, False),
    (45, 30, 0.0, None, None, False),
    (10, None, 0.5, None, None, False),
    (400, None, 0.0, 0.0, 1.0, False),
    (0, 7, 0.0, None, None, False),
]


def _engine_signs(row):
    days, interval, cancel, now, before, upcoming = row
    nan = lambda v: NAN if v is None else v  # noqa: E731
    return days, nan(interval), cancel, nan(now), nan(before), upcoming


@pytest.mark.parametrize("row", SIGN_ROWS)
def test_churn_risk_and_reason_match_engine(row):
    signs = _engine_signs(row)
    risk = call("CHURN_RISK", *row)
    assert isinstance(risk, float) and 0.0 <= risk <= 1.0
    assert risk == pytest.approx(churn.churn_risk(*signs, settings=Settings()), abs=1e-12)
    assert call("CHURN_REASON", *row) == churn.main_reason(*signs, settings=Settings())


def test_churn_columns_match_engine_arrays():
    columns = [col(*c) for c in zip(*SIGN_ROWS)]
    arrays = [np.array([_engine_signs(r)[i] for r in SIGN_ROWS], dtype=float) for i in range(6)]
    risk = call("CHURN_RISK", *columns)
    np.testing.assert_allclose([r[0] for r in risk], churn.churn_risk(*arrays), atol=1e-12)
    assert [r[0] for r in call("CHURN_REASON", *columns)] == list(churn.main_reason(*arrays))


@pytest.mark.parametrize("names", [
    [["Weight: overdue", 1], ["Weight: cancellations", 0], ["Weight: fewer replies", 0]],
    [["weight_overdue", 1], ["WEIGHT_CANCELLATIONS", 0], ["weight replies", 0]],
    [["WeightOverdue", 1], ["WeightCancellations", 0], ["WeightReplies", 0], [None, None]],
])
def test_settings_range_by_label_key_or_defined_name(names):
    settings = Settings(weight_overdue=1, weight_cancellations=0, weight_replies=0)
    row = (45, 30, 0.5, 0.0, 1.0, False)
    expected = churn.churn_risk(*_engine_signs(row), settings=settings)
    assert expected != pytest.approx(churn.churn_risk(*_engine_signs(row)))  # the setting bites
    assert call("CHURN_RISK", *row, names) == pytest.approx(expected, abs=1e-12)


def test_churn_band_column_and_settings():
    scores = [0.1, 0.35, 0.8, 0.3, 0.6]
    assert call("CHURN_BAND", col(*scores)) == [[b] for b in churn.risk_band(np.array(scores))]
    assert call("CHURN_BAND", 0.5) == "Medium"
    custom = [["Medium risk from", 0.6], ["High risk from", 0.9]]
    assert call("CHURN_BAND", 0.5, custom) == "Low"
    assert call("CHURN_BAND", 0.95, custom) == "High"


@pytest.mark.parametrize("args", [
    (0, 10), (1, 10, 30, 0.1), (3, 10, 30, 0.1), (3, 10, 30, 0.7), (3, 100, 30, 0.1),
    (3, 100, 30, 0.1, True), (5, 1000), (5, 10),
])
def test_lifecycle_stage_matches_engine(args):
    completed, days, interval, score, upcoming = args + (None, 0.0, False)[len(args) - 2:]
    expected = churn.lifecycle_stage(completed, days, NAN if interval is None else interval,
                                     score, upcoming)
    result = call("LIFECYCLE_STAGE", *args)
    assert result == expected and result in STAGES


LEVERS_HEADER = ["Lever", "From", "To", "CLV before", "CLV after", "Gain", "Gain %"]


@pytest.mark.parametrize("args", [(90, 3, 6, 0.2), (90, 3), (90, 3, 6, 0.2, 0.25),
                                  ([[90]], [[3]], [[6]], [[0.2]])])
def test_clv_levers_spills_header_and_five_rows(args):
    result = call("CLV_LEVERS", *args)
    assert isinstance(result, list) and len(result) == 6
    assert result[0] == LEVERS_HEADER
    assert all(len(row) == 7 for row in result)
    plain = [a[0][0] if isinstance(a, list) else a for a in args]
    table = formulas.clv_levers(*plain)
    assert [row[0] for row in result[1:]] == list(table["lever"])
    for row, (_, expected) in zip(result[1:], table.iterrows()):
        for got, want in zip(row[1:], expected.iloc[1:]):
            if pd.isna(want):
                assert got == ""
            else:
                assert isinstance(got, float) and got == pytest.approx(want, rel=1e-12)
    assert result[1][3] == pytest.approx(call("CLV", *args[:4]))
    assert result[5][1:3] == ["", ""]


def test_clv_levers_with_zero_clv_leaves_gain_percent_blank():
    result = call("CLV_LEVERS", 0, 3, 0, 0.2)
    assert [row[6] for row in result[1:]] == [""] * 5


SUMMARY_KEYS = udfs.SUMMARY_COLUMNS


def _typed_sessions(rows):
    frame = pd.DataFrame(rows[1:], columns=["date", "client_id", "amount", "status"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["amount"] = frame["amount"].astype(float).fillna(0.0)
    frame["package"] = None
    return frame


def _reference_metrics(rows, settings=None, as_of=None):
    sessions = _typed_sessions(rows)
    ids = list(dict.fromkeys(sessions["client_id"]))
    clients = pd.DataFrame({k: [None] * len(ids) for k in CLIENTS.keys})
    clients["client_id"] = ids
    return client_figures(clients, sessions, None, settings, as_of)[0].reset_index()


def _assert_summary_equals(result, reference):
    assert isinstance(result, list), result
    assert result[0] == [LABELS[k] for k in SUMMARY_KEYS]
    assert len(result) == 1 + len(reference)
    for row, (_, want) in zip(result[1:], reference.iterrows()):
        assert len(row) == len(SUMMARY_KEYS)
        for key, got in zip(SUMMARY_KEYS, row):
            expected = want[key]
            if pd.isna(expected):
                assert got == "", (key, got)
            elif isinstance(expected, pd.Timestamp):
                assert isinstance(got, dt.datetime) and got == expected.to_pydatetime(), key
            elif isinstance(expected, (float, np.floating)):
                assert got == pytest.approx(float(expected), rel=1e-12), key
            else:
                assert got == expected, key


@pytest.mark.parametrize("as_of", [AS_OF, "2024-06-30", dt.datetime(2024, 6, 30, 15, 45)])
def test_clv_summary_rows_equal_client_figures(as_of):
    reference = _reference_metrics(GOOD_SESSIONS, Settings(), AS_OF)
    assert list(reference["client_id"]) == ["C1", "C2", "C3"]
    _assert_summary_equals(call("CLV_SUMMARY", GOOD_SESSIONS, as_of), reference)


def test_clv_summary_with_settings_and_key_headers():
    rows = [["date", "CLIENT ID", "amount", "Status", "Package"]] + [
        r + ["Mini"] for r in GOOD_SESSIONS[1:]]
    settings_range = [["Gross margin", 0.4], ["Default acquisition cost", 10]]
    reference = _reference_metrics(GOOD_SESSIONS, Settings(margin=0.4,
                                                          default_acquisition_cost=10), AS_OF)
    _assert_summary_equals(call("CLV_SUMMARY", rows, AS_OF, settings_range), reference)
    default = _reference_metrics(GOOD_SESSIONS, Settings(), AS_OF)
    assert not np.allclose(reference["clv"], default["clv"])  # the settings changed the answer


def test_clv_summary_skips_blank_rows_inside_the_range():
    rows = GOOD_SESSIONS[:3] + [[None] * 4] + GOOD_SESSIONS[3:]
    _assert_summary_equals(call("CLV_SUMMARY", rows, AS_OF),
                           _reference_metrics(GOOD_SESSIONS, Settings(), AS_OF))


def test_clv_summary_blank_as_of_uses_the_settings_as_of():
    settings_range = [["As-of date", AS_OF]]
    reference = _reference_metrics(GOOD_SESSIONS, Settings(as_of=AS_OF), None)
    _assert_summary_equals(call("CLV_SUMMARY", GOOD_SESSIONS, None, settings_range), reference)


# --------------------------------------------------------------------------- fuzz

CELL = st.one_of(
    st.none(), st.just(""), st.just("  "),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e4, max_value=1e4), st.floats(min_value=0, max_value=1),
    st.integers(min_value=-10**6, max_value=10**6),
    st.text(max_size=25), st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)
SHAPES = st.tuples(st.integers(1, 4), st.integers(1, 3))
SETTING_NAMES = st.sampled_from(["Gross margin", "margin", "High risk from", "WeightOverdue",
                                 "As-of date", "Currency", "Bogus", None, "Default days between"
                                 " sessions"])
LABELS_BY_UDF = {
    "CHURN_REASON": set(REASONS) | {NO_REASON},
    "CHURN_BAND": set(RISK_BANDS),
    "LIFECYCLE_STAGE": set(STAGES),
}


def grid_of(draw, shape, cells=CELL):
    return [[draw(cells) for _ in range(shape[1])] for _ in range(shape[0])]


@st.composite
def cell_calls(draw):
    name = draw(st.sampled_from(CELL_UDFS))
    params = list(inspect.signature(getattr(udfs, name)).parameters.values())
    per_cell = [p for p in params if p.name != "settings"]
    n_required = sum(p.default is inspect.Parameter.empty for p in per_cell)
    count = draw(st.integers(n_required, len(per_cell)))
    common = draw(SHAPES)
    args, shapes = [], []
    for _ in range(count):
        kind = draw(st.sampled_from(["scalar", "one", "range", "range", "other"]))
        if kind == "scalar":
            args.append(draw(CELL))
            continue
        shape = {"one": (1, 1), "range": common}.get(kind) or draw(SHAPES)
        args.append(grid_of(draw, shape))
        shapes.append(shape)
    with_settings = count == len(per_cell) and len(params) > len(per_cell) and draw(st.booleans())
    if with_settings:
        rows = draw(st.integers(1, 3))
        args.append(draw(st.one_of(st.none(), st.just(
            [[draw(SETTING_NAMES), draw(CELL)] for _ in range(rows)]))))
    return name, args, {s for s in shapes if s != (1, 1)}, with_settings


def _check_cell(name, value):
    assert isinstance(value, (str, float)) and not isinstance(value, bool), repr(value)
    if isinstance(value, str) and value and value not in LABELS_BY_UDF.get(name, ()):
        assert value.startswith(f"{name}: "), value
        assert "\n" not in value and "Traceback" not in value, value
    if name == "CHURN_RISK" and isinstance(value, float):
        assert 0.0 <= value <= 1.0


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell_calls())
def test_fuzz_cell_formulas_never_raise(call_):
    name, args, range_shapes, with_settings = call_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = call(name, *args)
    if len(range_shapes) > 1:
        assert isinstance(result, str) and result.startswith(f"{name}: ranges differ in size")
    elif len(range_shapes) == 1:
        if isinstance(result, str) and with_settings:  # a bad settings range: one message
            _check_cell(name, result)
            assert result.startswith(f"{name}: settings")
            return
        (rows, cols), = range_shapes
        assert isinstance(result, list) and len(result) == rows, result
        for row in result:
            assert isinstance(row, list) and len(row) == cols
            for value in row:
                _check_cell(name, value)
    else:
        assert not isinstance(result, list), result
        _check_cell(name, result)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_table_formulas_never_raise(data):
    name = data.draw(st.sampled_from(TABLE_UDFS))
    if name == "CLV_LEVERS":
        ranges = SHAPES.flatmap(lambda shape: st.lists(
            st.lists(CELL, min_size=shape[1], max_size=shape[1]),
            min_size=shape[0], max_size=shape[0]))
        args = [data.draw(st.one_of(CELL, ranges)) for _ in range(data.draw(st.integers(2, 5)))]
        width, height = 7, 6
    else:
        good = st.sampled_from([DAY, "2024-02-30", "C1", "C2", 50.0, 0.0, "Completed",
                                "Cancelled", "Booked", None])
        body = data.draw(st.lists(st.lists(st.one_of(good, CELL), min_size=4, max_size=4),
                                  min_size=0, max_size=5))
        args = [[SESSIONS_HEADER] + body, data.draw(st.one_of(st.none(), CELL))]
        width, height = len(SUMMARY_KEYS), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = call(name, *args)
    if isinstance(result, str):
        assert result.startswith(f"{name}: ") and "\n" not in result, result
        assert "Traceback" not in result
        return
    assert isinstance(result, list) and all(isinstance(r, list) for r in result)
    assert all(len(r) == width for r in result)
    if height is not None:
        assert len(result) == height
    for row in result[1:]:
        for value in row:
            assert isinstance(value, (str, float, int, dt.datetime)), repr(value)
            assert not (isinstance(value, float) and math.isnan(value))


def test_lifecycle_stage_blank_score_is_the_default():
    assert call("LIFECYCLE_STAGE", 3, 10, 30, None) == call("LIFECYCLE_STAGE", 3, 10, 30)


# ------------------------------------------------------------------ a column = its cells

MODEL_COLUMN_UDFS = {  # per-cell arguments drawn; the model's parameters as single cells
    "P_ALIVE": 3, "EXPECTED_PURCHASES": 4, "P_NO_PURCHASE": 4, "EXPECTED_SPEND": 2,
}
MODEL_PARAMETERS = {"EXPECTED_SPEND": [6.25, 3.74, 15.44]}
NEAR_HISTORY = st.one_of(CELL, st.sampled_from([0.0, 1.0, 2.0, 5.0, 30.0, 39.0, 52.0]),
                         st.integers(0, 20))


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_column_answers_each_row_as_the_single_cells_do(data):
    """The column-wide conversion gives every row the answer (and the message) the
    single-cell call gives; a row blank in every required argument answers blank."""
    name = data.draw(st.sampled_from(CELL_UDFS + tuple(MODEL_COLUMN_UDFS)))
    rows = data.draw(st.integers(2, 12))  # a 1x1 range answers as a single cell
    function = getattr(udfs, name)
    if name in MODEL_COLUMN_UDFS:
        width, values = MODEL_COLUMN_UDFS[name], NEAR_HISTORY
        fixed = MODEL_PARAMETERS.get(name, [0.243, 4.414, 0.793, 2.426])
    else:
        params = [p for p in inspect.signature(function).parameters.values()
                  if p.name != "settings"]
        width, values, fixed = data.draw(st.integers(
            sum(p.default is inspect.Parameter.empty for p in params), len(params))), CELL, []
    columns = [[data.draw(values) for _ in range(rows)] for _ in range(width)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        whole = function(*[[[v] for v in c] for c in columns], *fixed)
        singles = [function(*[c[i] for c in columns], *fixed) for i in range(rows)]
    assert isinstance(whole, list) and len(whole) == rows, whole
    required = [k for k, s in REGISTRY_SPECS(name).items() if getattr(s, "required", False)]
    for i, (row, single) in enumerate(zip(whole, singles)):
        blank_row = required and all(
            _blank(columns[j][i]) for j, k in enumerate(list(REGISTRY_SPECS(name))[:width])
            if k in required)
        expected = "" if blank_row else single
        if isinstance(expected, float) and isinstance(row[0], float):
            assert row[0] == pytest.approx(expected, rel=1e-12, abs=1e-300), (i, columns)
        else:
            assert row[0] == expected, (i, [c[i] for c in columns])


def REGISTRY_SPECS(name):
    from clv_xl.excel.function import REGISTRY
    return REGISTRY[name].args


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


# --------------------------------------------------------------------------- CHURN_PROBABILITY

def test_churn_probability_spills_the_learned_churn_risk():
    result = call("CHURN_PROBABILITY", GOOD_SESSIONS, AS_OF)
    reference = _reference_metrics(GOOD_SESSIONS, Settings(), AS_OF)
    assert result[0] == ["Client ID", "Churn risk", "Risk band", "Stage", "Main reason"]
    assert [row[0] for row in result[1:]] == list(reference["client_id"])
    for row, (_, want) in zip(result[1:], reference.iterrows()):
        if want["completed"] == 0:  # a prospect (C3 has only a booking): no churn risk yet
            assert row[1:3] == ["", ""] and row[3] == "Prospect"
            continue
        assert row[1] == pytest.approx(want["churn_risk"], abs=1e-12)
        assert 0.0 <= row[1] <= 1.0
        assert row[2:] == [want["risk_band"], want["lifecycle_stage"], want["main_reason"]]


def test_churn_probability_bad_sessions_give_a_message():
    result = call("CHURN_PROBABILITY", [["Date", "Client ID", "Amount"], [DAY, "C1", 5.0]],
                  AS_OF)
    assert isinstance(result, str) and "Status" in result
