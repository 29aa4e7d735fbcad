"""The xlwings Lite door: every formula, called with the cells exactly as Lite passes them,
against the classic formula; the Recompute script over a stand-in for Lite's object model;
the files `clv-xl lite` writes.

Lite's ``xlwings`` module exists only inside Pyodide; tests/helpers/lite_xlwings.py stands in
for it (its docstring says what it reproduces and from where).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import math
import sys
import types

import numpy as np
import pandas as pd
import pytest

from clv_xl.batch import excel_book
from clv_xl.batch.excel_book import ExcelBook
from clv_xl.demo import demo_data
from clv_xl.excel import udfs
from clv_xl.excel.args import DateArg
from clv_xl.excel import function as excel_function
from clv_xl.template import build_template
from tests import lite_calls
from tests.helpers import lite_xlwings
from tests.helpers.lite_xlwings import ValueCell, call, cell
from tests.test_excel_book import StandInBook, _ReadOnly, _as_stored

DATA = demo_data(n_clients=120)
AS_OF = dt.datetime(2026, 6, 30)
SESSIONS_LITE = lite_calls.sessions_as_lite(DATA.sessions)


def import_under_lite(*modules):
    """Import ``modules`` afresh with the stand-in as ``xlwings``, as Lite's Pyodide has it."""
    saved = sys.modules.get("xlwings")
    for name in modules:
        sys.modules.pop(name, None)
    sys.modules["xlwings"] = lite_xlwings
    try:
        return [importlib.import_module(name) for name in modules]
    finally:
        if saved is not None:
            sys.modules["xlwings"] = saved
        else:
            sys.modules.pop("xlwings", None)


@pytest.fixture(scope="module")
def lite():
    functions, scripts = import_under_lite("clv_xl.lite.functions", "clv_xl.lite.scripts")
    return types.SimpleNamespace(functions=functions, scripts=scripts)


def classic_answer(name, matrices):
    """The classic formula on the same cells as classic xlwings passes them (a 1x1 range as
    the value, a left-out argument as the Python default), shaped as Excel shows it."""
    function = excel_function.REGISTRY[name].function
    parameters = list(inspect.signature(function).parameters.values())
    args = []
    for parameter, matrix in zip(parameters, matrices + [None] * len(parameters)):
        if matrix is None:
            args.append(None if parameter.default is inspect.Parameter.empty
                        else parameter.default)
        else:
            args.append(matrix[0][0] if len(matrix) == 1 and len(matrix[0]) == 1 else matrix)
    return shown(name, function(*args))


def shown(name, answer):
    """A classic formula's answer as Lite shows it (a whole error: #VALUE! with the message)."""
    if isinstance(answer, str) and answer.startswith(f"{name}: "):
        return ValueCell(answer)
    return lite_xlwings._write(answer)


def same(got, want):
    if isinstance(want, ValueCell) or isinstance(got, ValueCell):
        return got == want
    return len(got) == len(want) and all(
        len(g) == len(w) and all(_same_cell(a, b) for a, b in zip(g, w))
        for g, w in zip(got, want))


def _same_cell(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


# --- every formula is there, registered as Lite expects -------------------------------------

def test_every_formula_is_a_lite_function_with_the_same_arguments_and_help(lite):
    registry = excel_function.REGISTRY
    assert set(lite.functions.__all__) == set(registry) and len(registry) >= 21
    for name, entry in registry.items():
        function = getattr(lite.functions, name)
        info = function.__xlfunc__
        assert info["name"] == name and info["ret"]["doc"] == entry.help
        classic = inspect.signature(entry.function).parameters
        assert [(a["name"], a.get("optional", "required")) for a in info["args"]] == [
            (p.name, "required" if p.default is inspect.Parameter.empty else p.default)
            for p in classic.values()], name
        for a in info["args"]:
            spec = entry.args[a["name"]]
            assert a["doc"] == spec.doc
            assert a["options"] == ({} if isinstance(spec, DateArg) else {"ndim": 2})


def test_a_formula_added_to_the_registry_appears_in_lite(lite):
    from clv_xl.excel.args import Number
    from clv_xl.excel.function import cell_formula

    @cell_formula(x=Number("x", "A number."))
    def TWICE_FOR_TEST(x):
        """Twice x."""
        return 2 * x

    try:
        (functions,) = import_under_lite("clv_xl.lite.functions")
        assert call(functions.TWICE_FOR_TEST, cell(21)) == [[42.0]]
    finally:
        excel_function.REGISTRY.pop("TWICE_FOR_TEST")
        import_under_lite("clv_xl.lite.functions")


# --- the same answers as the classic formulas ------------------------------------------------

LITE_ONLY = {("CHURN_RISK", "empty interval"), ("CLV_SUMMARY", "sessions"),
             ("CLV_SUMMARY", "empty as-of"), ("CLV_FIT", "sessions")}


def test_every_call_answers_as_the_classic_formula(lite):
    calls = lite_calls.all_calls(lite.functions.FORMULAS, SESSIONS_LITE,
                                 lite_calls.serial(AS_OF))
    for name, examples in calls.items():
        for label, matrices in examples:
            got = call(getattr(lite.functions, name), *matrices)
            assert isinstance(got, (list, ValueCell)), (name, label)
            if (name, label) not in LITE_ONLY:
                assert same(got, classic_answer(name, matrices)), (name, label, got)


def test_readme_examples(lite):
    f = lite.functions
    assert call(f.CLV, cell(90), cell(3), cell(6), cell(0.2))[0][0] == pytest.approx(52.8)
    assert call(f.CHURN_BAND, cell(0.7)) == [["High"]]
    levers = call(f.CLV_LEVERS, cell(90), cell(3), cell(6), cell(0.2))
    assert levers[0][0] == "Lever" and levers[-1][0] == "All four"  # spills the table


# --- Lite's conventions ----------------------------------------------------------------------

def test_blank_margin_left_out_or_text_blank_is_the_default_and_an_empty_cell_is_zero(lite):
    clv = lite.functions.CLV
    assert call(clv, cell(90), cell(3), cell(6)) == [[264.0]]            # left out: 100%
    assert call(clv, cell(90), cell(3), cell(6), cell("")) == [[264.0]]  # ="" in the cell
    assert call(clv, cell(90), cell(3), cell(6), cell(0)) == [[0.0]]     # empty cell: 0%


def test_where_zero_is_invalid_an_empty_cell_reads_as_blank(lite):
    f = lite.functions
    assert call(f.CHURN_RISK, cell(400), cell(0)) == [[udfs.CHURN_RISK(400, None)]]
    assert call(f.LIFECYCLE_STAGE, cell(3), cell(400), cell(0)) == \
        [[udfs.LIFECYCLE_STAGE(3, 400, None)]]
    table = [["Parameter", "Estimate"], ["r", 0.243], ["alpha", 4.414], ["a", 0.793],
             ["b", 2.426]]
    assert call(f.P_ALIVE, cell(2), cell(30.43), cell(38.86), table, cell(0), cell(0), cell(0),
                cell(0)) == call(f.P_ALIVE, cell(2), cell(30.43), cell(38.86), table)


def test_dates_arrive_as_serial_numbers_and_are_read_as_dates(lite):
    f = lite.functions
    rows = [["Date", "Client ID", "Package", "Amount", "Status"]]
    for s in DATA.sessions.itertuples(index=False):
        rows.append([pd.Timestamp(s.date).to_pydatetime(), s.client_id, s.package,
                     float(s.amount), s.status])
    for i in range(1, len(rows), 7):  # the cells Lite passed as 0 are empty on the desktop
        rows[i][2] = None
    classic = shown("CLV_SUMMARY", udfs.CLV_SUMMARY(rows, AS_OF))
    got = call(f.CLV_SUMMARY, SESSIONS_LITE, cell(lite_calls.serial(AS_OF)))
    assert same(got, classic) and len(got) == DATA.sessions["client_id"].nunique() + 1
    assert isinstance(got[1][1], dt.datetime)  # first session, a date again
    today = shown("CLV_SUMMARY", udfs.CLV_SUMMARY(rows, None))
    assert same(call(f.CLV_SUMMARY, SESSIONS_LITE, cell(0)), today)  # empty as-of cell
    fit = call(f.CLV_FIT, SESSIONS_LITE, cell(lite_calls.serial(AS_OF)))
    assert same(fit, shown("CLV_FIT", udfs.CLV_FIT(rows, AS_OF))) and fit[1][0] == "model" and fit[2][0] == "r"


def test_a_whole_error_is_a_real_value_error_with_the_message_a_cell_error_stays_in_its_cell(lite):
    clv = lite.functions.CLV
    message = "CLV: margin must be between 0 and 1 (type 20%, not 20)"
    assert call(clv, cell(90), cell(3), cell(6), cell(20)) == ValueCell(message)
    spilled = call(clv, [[90], [90]], [[3], [3]], cell(6), [[0.2], [20]])
    assert spilled[0][0] == pytest.approx(52.8) and spilled[1][0] == message
    assert call(lite.functions.CLV_SUMMARY, cell("x")) == ValueCell(
        "CLV_SUMMARY: sessions needs a header row and at least one session")
    assert call(lite.functions.CHURN_REASON, cell(400), cell(200)) == [["Overdue"]]


# --- the Recompute script --------------------------------------------------------------------

class LiteStandInApp:
    """Office.js has no status bar: xlwings' Lite engine raises on it (and has no alert box)."""

    @property
    def status_bar(self):
        raise NotImplementedError("App.status_bar is not supported on this engine")

    @status_bar.setter
    def status_bar(self, value):
        raise NotImplementedError("App.status_bar is not supported on this engine")


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("lite") / "clv_demo.xlsx", DATA)


def lite_book(path):
    book = StandInBook(path)
    book.app = LiteStandInApp()
    return book


def test_recompute_script_fills_forecast_and_issues_like_the_pipeline(lite, demo_path, capsys):
    from clv_xl.batch import pipeline

    expected = pipeline.recompute(_ReadOnly(ExcelBook(StandInBook(demo_path))))
    fake = lite_book(demo_path)
    assert lite.scripts.recompute.__xlscript__["name"] == "recompute"
    lite.scripts.recompute(fake)
    printed = capsys.readouterr().out.splitlines()  # Lite's output pane
    assert printed[-1].startswith("clv-xl: done") and any("read" in p for p in printed)
    for sheet, grid in (("Forecast", excel_book.forecast_grid(expected)),
                        ("Issues", excel_book.issues_grid(expected))):
        ws = fake.wb[sheet]
        got = [[ws.cell(r, c).value for c in range(1, len(row) + 1)]
               for r, row in enumerate(grid, start=1)]
        want = [[_as_stored(v) for v in row] for row in grid]
        # the status line carries the time of the run
        assert got[1:] == want[1:] if sheet == "Forecast" else got == want, sheet


def test_recompute_script_error_goes_to_forecast_a2_and_the_output_pane(demo_path, monkeypatch):
    from clv_xl.batch import lite_book as door

    fake = lite_book(demo_path)
    del fake.wb["Sessions"]
    printed = []
    door.recompute_lite(fake, echo=printed.append)
    assert fake.wb["Forecast"]["A2"].value == printed[-1]
    assert printed[-1].startswith("Recompute failed:") and "Sessions" in printed[-1]


# --- clv-xl lite -----------------------------------------------------------------------------

def test_cli_writes_main_py_and_requirements_that_register_everything(tmp_path, lite):
    from clv_xl import __version__
    from clv_xl.cli import main

    assert main(["lite", "--out", str(tmp_path)]) == 0
    requirements = (tmp_path / "requirements.txt").read_text().splitlines()
    assert f"clv-xl=={__version__}" in requirements
    assert all(line.startswith("#") for line in requirements if "clv-xl==" not in line)
    namespace = {"__name__": "main"}
    saved = sys.modules["xlwings"]
    sys.modules["xlwings"] = lite_xlwings
    try:
        exec((tmp_path / "main.py").read_text(), namespace)
    finally:
        sys.modules["xlwings"] = saved
    registered = {k for k, v in namespace.items() if hasattr(v, "__xlfunc__")}
    assert registered == set(excel_function.REGISTRY)
    assert hasattr(namespace["recompute"], "__xlscript__")
    assert main(["lite", "--out", str(tmp_path), "--requirement", "https://x/clv_xl.whl"]) == 0
    assert "https://x/clv_xl.whl" in (tmp_path / "requirements.txt").read_text()
