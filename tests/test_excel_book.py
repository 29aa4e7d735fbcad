"""The Excel door: ExcelBook over a stand-in for Excel, and the whole click from the button's
command to the results in the book.

``StandInBook`` is a small fake of the part of the xlwings Book/Sheet/Range API that ExcelBook
uses, backed by an openpyxl workbook, and it stores what it is given as Excel does: a string
that starts with "=" becomes a formula, a leading apostrophe is the quote prefix (the cell holds
the text after it), a string that reads as a number becomes that number. Formula cells read as
their cached value (None in a book openpyxl wrote), as xlwings reads values, not formulas.
"""

from __future__ import annotations

import datetime as dt
import sys
import types

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils.cell import coordinate_from_string, column_index_from_string

from clv_xl.batch import excel_book
from clv_xl.batch.excel_book import ExcelBook, excel_value
from clv_xl.demo import demo_data
from clv_xl.template import build_template
from tests.helpers.workbook_compare import describe

COMMAND = "import clv_xl.batch.excel_book as b; b.recompute_caller()"
INPUTS = ("Settings", "Clients", "Sessions", "Contacts")


# --- the stand-in for Excel ------------------------------------------------------------------

class StandInApp:
    def __init__(self):
        self.statuses: list = []
        self.alerts: list = []

    @property
    def status_bar(self):
        return self.statuses[-1] if self.statuses else False

    @status_bar.setter
    def status_bar(self, value):
        self.statuses.append(value)

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append((prompt, title))
        return "ok"


class StandInBook:
    def __init__(self, path):
        self.wb = load_workbook(path)
        self.name = path.name
        self.app = StandInApp()
        self.sheets = StandInSheets(self)


class StandInSheets:
    def __init__(self, book):
        self.book = book

    def __iter__(self):
        return iter(StandInSheet(ws) for ws in self.book.wb.worksheets)

    def __getitem__(self, name):
        return StandInSheet(self.book.wb[name])


class StandInSheet:
    def __init__(self, ws):
        self.ws, self.name = ws, ws.title

    @property
    def used_range(self):
        ws = self.ws
        return StandInRange(ws, ws.min_row, ws.min_column, ws.max_row, ws.max_column)

    def range(self, first, last=None):
        top, left = _cell(first)
        bottom, right = _cell(last) if last is not None else (top, left)
        return StandInRange(self.ws, top, left, bottom, right)


def _cell(ref):
    if isinstance(ref, tuple):
        return ref
    letters, row = coordinate_from_string(ref)
    return row, column_index_from_string(letters)


class StandInRange:
    def __init__(self, ws, top, left, bottom, right):
        self.ws, self.top, self.left, self.bottom, self.right = ws, top, left, bottom, right
        self.ndim = None
        self.err_to_str = False  # xlwings: an error cell reads as None unless err_to_str

    def options(self, ndim=None, err_to_str=False, **_):
        self.ndim, self.err_to_str = ndim, err_to_str
        return self

    @property
    def last_cell(self):
        return types.SimpleNamespace(row=self.bottom, column=self.right)

    @property
    def value(self):
        rows = [[_read(self.ws.cell(r, c), self.err_to_str)
                 for c in range(self.left, self.right + 1)]
                for r in range(self.top, self.bottom + 1)]
        if self.ndim == 2:
            return rows
        if len(rows) == 1 and len(rows[0]) == 1:
            return rows[0][0]
        return rows if len(rows) > 1 and len(rows[0]) > 1 else [v for row in rows for v in row]

    @value.setter
    def value(self, value):
        grid = value if isinstance(value, list) else [[value]]
        for i, row in enumerate(grid):
            for j, item in enumerate(row if isinstance(row, list) else [row]):
                _store(self.ws.cell(self.top + i, self.left + j), item)

    def clear_contents(self):
        for r in range(self.top, self.bottom + 1):
            for c in range(self.left, self.right + 1):
                self.ws.cell(r, c).value = None


def _read(cell, err_to_str=False):
    if cell.data_type == "e":
        return cell.value if err_to_str else None
    return None if cell.data_type == "f" else cell.value


def _store(cell, value):
    """What Excel keeps when xlwings assigns ``value``."""
    if isinstance(value, str):
        if value.startswith("'"):
            cell.value = value[1:]
            cell.data_type = "s"
            return
        if not value.startswith("="):
            try:
                value = float(value.replace(",", ""))
            except ValueError:
                pass
    cell.value = value


# --- ExcelBook on its own ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    data = demo_data(n_clients=40)
    return build_template(tmp_path_factory.mktemp("demo") / "clv_demo.xlsx", data)


def test_read_rows_from_a1_with_blanks_and_dates(demo_path):
    book = ExcelBook(StandInBook(demo_path))
    assert "Sessions" in book.sheet_names()
    rows = book.read_rows("Sessions")
    assert rows[0][:5] == ["Date", "Client ID", "Package", "Amount", "Status"]
    assert isinstance(rows[1][0], dt.datetime)
    dashboard = book.read_rows("Dashboard")  # used range starts at B1: still read from A1
    assert dashboard[0][:2] == [None, "Dashboard"]


def test_error_cells_are_read_as_errors_not_blanks(demo_path, tmp_path):
    from clv_xl.book.cell_errors import CellError

    path = tmp_path / "errors.xlsx"
    wb = load_workbook(demo_path)
    wb["Sessions"]["D2"].value = "#N/A"
    wb["Sessions"]["D2"].data_type = "e"
    wb["Sessions"]["E3"].value = "#N/A"  # typed text: Excel shows it as the error, as we do
    wb["Sessions"]["E3"].data_type = "s"
    wb.save(path)
    rows = ExcelBook(StandInBook(path)).read_rows("Sessions")
    assert rows[1][3] == "#N/A" and isinstance(rows[1][3], CellError)
    assert isinstance(rows[2][4], CellError)


def test_formula_looking_text_is_written_as_text_and_old_rows_are_cleared(demo_path):
    fake = StandInBook(demo_path)
    for r in range(1, 200):
        fake.wb["Forecast"].cell(r, 3, "old")
    book = ExcelBook(fake)
    issues = pd.DataFrame({"Sheet": ["Sessions", "Clients"], "Row": [7, 9],
                           "Column": ["Amount", "Client ID"],
                           "Value": ["=HYPERLINK(\"http://x\")", "00123"],
                           "Problem": ["-not a number", "@odd"], "Severity": ["error", "warning"]})
    forecast = pd.DataFrame({"Client ID": ["+C1", "C2"], "Forecast CLV (12 months)": [1.5, None]})
    outputs = types.SimpleNamespace(forecast=forecast, issues=issues, status="2 clients",
                                    figures=[("Clients", 2)])
    book.write_outputs(outputs)
    ws = fake.wb["Issues"]
    assert [ws.cell(2, c).value for c in range(1, 7)] == [
        "Sessions", 7, "Amount", "=HYPERLINK(\"http://x\")", "-not a number", "error"]
    assert ws.cell(2, 4).data_type == "s" and ws.cell(3, 4).value == "00123"
    grid = excel_book.forecast_grid(outputs)
    fws = fake.wb["Forecast"]
    assert fws.max_row == len(grid) or all(fws.cell(r, 3).value is None
                                           for r in range(len(grid) + 1, 200))
    written = [[fws.cell(r, c).value for c in range(1, 3)] for r in range(1, len(grid) + 1)]
    assert ["+C1", 1.5] in written and ["C2", None] in written


def test_progress_goes_to_the_status_bar_and_back(demo_path):
    fake = StandInBook(demo_path)
    book = ExcelBook(fake)
    book.progress("reading Sessions", 0.25)
    book.done()
    assert fake.app.statuses == ["clv-xl: reading Sessions (25%)", False]


def test_an_error_is_one_line_in_the_book_not_a_traceback(demo_path, monkeypatch):
    import xlwings

    fake = StandInBook(demo_path)
    broken = types.ModuleType("clv_xl.batch.pipeline")

    def recompute(book, as_of=None):
        raise ValueError("Sessions row 7: Amount is not a number\n(and more)")

    broken.recompute = recompute
    monkeypatch.setitem(sys.modules, "clv_xl.batch.pipeline", broken)
    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: fake))
    exec(COMMAND, {})
    message = "Recompute failed: Sessions row 7: Amount is not a number (and more)"
    assert fake.wb["Forecast"]["A2"].value == message
    assert fake.app.statuses[-1] == message and fake.app.alerts[0][0] == message


def test_excel_value_keeps_numbers_and_quotes_what_excel_would_convert():
    assert excel_value(float("nan")) is None and excel_value(pd.NaT) is None
    assert excel_value("=1+1") == "'=1+1" and excel_value("Anna") == "Anna"
    assert excel_value(pd.Timestamp("2024-03-01")) == dt.datetime(2024, 3, 1)


# --- the whole click ------------------------------------------------------------------------------

def test_the_whole_click(demo_path, monkeypatch, tmp_path):
    """Button -> macro -> command (tests/test_macro.py reads it back from the .xlsm) -> the
    entry point run against the book -> the pipeline's results in Forecast and Issues."""
    pipeline = pytest.importorskip("clv_xl.batch.pipeline")
    import xlwings

    from clv_xl.template.macro import recompute_command

    assert recompute_command() == COMMAND
    fake = StandInBook(demo_path)
    bad = fake.wb["Sessions"].cell(3, 4)  # an Amount typed as formula-looking text
    bad.value, bad.data_type = "=2+2", "s"
    before = fake.wb
    expected_book = StandInBook(demo_path)
    expected_book.wb["Sessions"].cell(3, 4).value = "=2+2"
    expected_book.wb["Sessions"].cell(3, 4).data_type = "s"
    expected = pipeline.recompute(_ReadOnly(ExcelBook(expected_book)))

    monkeypatch.setattr(xlwings.Book, "caller", classmethod(lambda cls: fake))
    exec(COMMAND, {})

    assert fake.app.statuses and fake.app.statuses[-1] is False, fake.app.statuses
    assert fake.app.alerts == []
    for sheet, grid in (("Forecast", excel_book.forecast_grid(expected)),
                        ("Issues", excel_book.issues_grid(expected))):
        ws = fake.wb[sheet]
        got = [[ws.cell(r, c).value for c in range(1, len(row) + 1)]
               for r, row in enumerate(grid, start=1)]
        want = [[_as_stored(v) for v in row] for row in grid]
        assert got == want, sheet
    issues = fake.wb["Issues"]
    quoted = [c for row in issues.iter_rows() for c in row if c.value == "=2+2"]
    assert quoted and all(c.data_type == "s" for c in quoted)

    saved = tmp_path / "after.xlsx"
    before.save(saved)
    original, after = describe(demo_path), describe(saved)
    changed = {k for k in set(original) | set(after) if original.get(k) != after.get(k)}
    assert {k.split("!")[0] for k in changed} <= {"Forecast", "Issues", "Sessions"}
    sessions = {k: v for k, v in after["Sessions!cells"].items() if k != "D3"}
    assert sessions == {k: v for k, v in original["Sessions!cells"].items() if k != "D3"}


class _ReadOnly:
    """A Book that computes without writing: the expected outputs."""

    def __init__(self, book):
        self._book, self.name = book, book.name

    def sheet_names(self):
        return self._book.sheet_names()

    def read_rows(self, sheet):
        return self._book.read_rows(sheet)

    def write_outputs(self, outputs):
        pass

    def progress(self, stage, fraction):
        pass


def _as_stored(value):
    """What the stand-in holds after ExcelBook writes ``value``."""
    value = excel_value(value)
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value
