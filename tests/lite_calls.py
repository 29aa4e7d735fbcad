"""Calls of every Lite formula, with the cells exactly as xlwings Lite passes them.

Shared by tests/test_lite.py (in this process) and by the split tests, which run the same calls
in a Python without the desktop packages (JSON-able: dates are Excel serial numbers).
"""

from __future__ import annotations

import datetime as dt

EPOCH = dt.datetime(1899, 12, 30)


def serial(day) -> float:
    day = dt.datetime(day.year, day.month, day.day)
    return float((day - EPOCH).days)


def cell(value):
    return [[value]]


def sessions_as_lite(sessions, empty_package: bool = True):
    """The demo sessions as Lite passes a Sessions[#All] range: header row, dates as serial
    numbers, whole amounts as int, an empty Package cell as 0."""
    rows = [["Date", "Client ID", "Package", "Amount", "Status"]]
    for i, s in enumerate(sessions.itertuples(index=False)):
        amount = int(s.amount) if float(s.amount).is_integer() else float(s.amount)
        package = 0 if (empty_package and i % 7 == 0) else s.package
        rows.append([serial(s.date), s.client_id, package, amount, s.status])
    return rows


def known_calls(sessions_rows, as_of_serial):
    """name -> list of (label, argument matrices); None is an argument left out."""
    fit_table = [["Parameter", "Estimate", "Std. error"], ["r", 0.243, 0.01],
                 ["alpha", 4.414, 0.1], ["a", 0.793, 0.1], ["b", 2.426, 0.2],
                 ["p", 6.25, 1.0], ["q", 3.74, 0.5], ["gamma", 15.44, 2.0],
                 ["time unit (days)", 7, ""]]
    sbg_table = [["Parameter", "Estimate"], ["alpha", 0.668], ["beta", 3.806]]
    c = cell
    return {
        "CLV": [("readme", [c(90), c(3), c(6), c(0.2)]),
                ("margin left out", [c(90), c(3), c(6), None]),
                ("margin typed 20", [c(90), c(3), c(6), c(20)]),
                ("ranges", [[[90], [80], [0]], [[3], [2], [1]], c(6), [[0.2], [20], [""]]])],
        "NET_CLV": [("readme", [c(90), c(3), c(6), c(0.2)])],
        "TLV": [("readme", [c(400), c(1), c(10), c(4)])],
        "RETENTION_CLV": [("readme", [c(100), c(0.8), c(0.1)]),
                          ("unbounded", [c(100), c(1), c(0)])],
        "CHURN_RISK": [("readme", [c(400), c(200)]), ("empty interval", [c(400), c(0)])],
        "CHURN_REASON": [("readme", [c(400), c(200)])],
        "CHURN_BAND": [("readme", [c(0.6)])],
        "LIFECYCLE_STAGE": [("readme", [c(3), c(400), c(200), c(0.6)])],
        "CLV_LEVERS": [("readme", [c(90), c(3), c(6), c(0.2)])],
        "CLV_SUMMARY": [("sessions", [sessions_rows, c(as_of_serial)]),
                        ("empty as-of", [sessions_rows, c(0)])],
        "CLV_FIT": [("sessions", [sessions_rows, c(as_of_serial)])],
        "P_ALIVE": [("table", [c(2), c(30.43), c(38.86), fit_table]),
                    ("numbers", [c(2), c(30.43), c(38.86), c(0.243), c(4.414), c(0.793),
                                 c(2.426)])],
        "EXPECTED_PURCHASES": [("table", [c(39), c(2), c(30.43), c(38.86), fit_table])],
        "P_NO_PURCHASE": [("table", [c(52), c(2), c(30.43), c(38.86), fit_table])],
        "EXPECTED_SPEND": [("table", [c(2), c(45), fit_table])],
        "MODEL_CLV": [("table", [c(2), c(30.43), c(38.86), c(45), fit_table])],
        "SBG_FIT": [("cohort", [[[1000], [631], [468], [382], [326]]])],
        "SBG_RETENTION": [("table", [c(2), sbg_table])],
        "SBG_SURVIVAL": [("table", [c(7), sbg_table])],
        "MEMBER_LIFETIME": [("readme", [c(1.5), c(2)])],
        "MEMBER_TLV": [("readme", [c(20), c(1.5), c(2)])],
    }


def all_calls(names, sessions_rows, as_of_serial):
    """A call for every formula in ``names``: the known ones, and for a formula added later
    its required arguments as 1 (it must answer, a number or a message, never crash)."""
    import inspect

    known = known_calls(sessions_rows, as_of_serial)
    calls = {}
    for name, function in names.items():
        if name in known:
            calls[name] = known[name]
        else:
            required = [p for p in inspect.signature(function).parameters.values()
                        if p.default is inspect.Parameter.empty]
            calls[name] = [("ones", [cell(1) for _ in required])]
    return calls
