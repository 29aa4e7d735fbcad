"""The macro-enabled template: same book as the .xlsx, plus the VBA module and the Recompute
buttons; pyOpenVBA's in-memory Excel clicks a button and the test reads the command it sends."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

pyopenvba = pytest.importorskip("pyopenvba")
from pyopenvba import ExcelFile  # noqa: E402
from pyopenvba.apps.excel import ExcelApplication  # noqa: E402
from pyopenvba.exceptions import VBARuntimeError  # noqa: E402

from clv_xl.template import build_template  # noqa: E402
from clv_xl.template.macro import (  # noqa: E402
    BUTTON_TEXT, MACRO, MODULE, build_macro_template, recompute_command, vba_source)
from tests.helpers.workbook_compare import differences  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_BAS = ROOT / "workbook" / "vba" / f"{MODULE}.bas"
COMMITTED_XLSM = ROOT / "workbook" / "clv_template.xlsm"
COMMAND = "import clv_xl.batch.excel_book as b; b.recompute_caller()"

#: The xlwings add-in, as far as the button can tell: a RunPython that records its command.
STUB_ADDIN = '''
Public Sub RunPython(cmd As String)
    Worksheets("Forecast").Range("A2").Value = cmd
End Sub
'''


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """(xlsx, xlsm) of a fresh build."""
    tmp = tmp_path_factory.mktemp("xlsm")
    xlsx = build_template(tmp / "clv_template.xlsx")
    return xlsx, build_macro_template(xlsx, tmp / "clv_template.xlsm")


def with_addin(app: ExcelApplication, installed: bool = True) -> ExcelApplication:
    """Teach the in-memory Excel what real Excel does with Application.Run "'Book'!Macro":
    run Macro from the open book (here: the add-in), or fail with error 1004 when that book is
    not open. pyOpenVBA resolves only a bare macro name, so the workbook-qualified call the
    button makes goes through this; everything else is passed on untouched."""
    if installed:
        app.add_module(STUB_ADDIN, name="xlwings_stub")
    plain = app.interpreter.run

    def run(name, args=(), *, module=""):
        book, bang, macro = name.rpartition("!")
        if not bang:
            return plain(name, args, module=module)
        if book.strip("'").lower() != "xlwings.xlam" or not installed:
            raise VBARuntimeError(1004, f"Cannot run the macro '{name}'. The macro may not be "
                                        "available in this workbook or all macros may be disabled.")
        return plain(macro, args, module="xlwings_stub")

    app.interpreter.run = run
    return app


def click(xlsm, sheet: str, installed: bool = True) -> ExcelApplication:
    """Open the book, find the Recompute button on ``sheet`` and run its macro."""
    app = with_addin(ExcelApplication.open(xlsm), installed)
    (button,) = [s for s in app.sheet(sheet).shapes() if s.text == BUTTON_TEXT]
    app.run(button.macro)
    return app


def test_the_package_module_equals_the_committed_bas():
    shipped = vba_source().replace("\r\n", "\n")
    assert COMMITTED_BAS.read_text(encoding="utf-8").replace("\r\n", "\n") == shipped
    assert recompute_command() == COMMAND


def test_the_xlsm_keeps_everything_of_the_xlsx(books):
    xlsx, xlsm = books
    assert differences(xlsx, xlsm) == []
    wb = load_workbook(xlsm)
    assert [type(c).__name__ for c in wb["Dashboard"]._charts] == ["BarChart"] * 3 + ["LineChart"]
    assert wb["Clients"].tables and wb.defined_names


def test_the_committed_xlsm_equals_a_fresh_build(books):
    assert COMMITTED_XLSM.exists(), "run: python -m clv_xl.template workbook --demo"
    assert differences(COMMITTED_XLSM, books[1]) == []
    with ExcelFile(COMMITTED_XLSM) as book:
        assert book.vba_modules()[MODULE] == vba_source()


def test_the_vba_module_is_the_bas_file(books):
    with ExcelFile(books[1]) as book:
        modules = book.vba_modules()
        assert modules[MODULE] == vba_source()
        # Late binding: no reference to the add-in's project, so no "Can't find project".
        assert not [r for r in book.references() if r.kind == "project"]


def test_a_recompute_button_on_start_and_dashboard(books):
    app = ExcelApplication.open(books[1])
    for sheet in ("Start", "Dashboard"):
        buttons = [s for s in app.sheet(sheet).shapes() if s.text == BUTTON_TEXT]
        assert len(buttons) == 1, sheet
        assert buttons[0].macro == MACRO and buttons[0].kind == "formControl"


@pytest.mark.parametrize("sheet", ["Start", "Dashboard"])
def test_the_buttons_overlap_no_cell_and_no_chart(books, sheet):
    xlsx, xlsm = books
    ws = load_workbook(xlsx)[sheet]
    (button,) = [s for s in ExcelApplication.open(xlsm).sheet(sheet).shapes()
                 if s.text == BUTTON_TEXT]
    lefts, tops = _edges(ws, "col", 40), _edges(ws, "row", 60)
    cols = [j for j in range(1, 40) if lefts[j] < button.left + button.width
            and lefts[j + 1] > button.left]
    rows = [i for i in range(1, 60) if tops[i] < button.top + button.height
            and tops[i + 1] > button.top]
    for i in rows:
        for j in range(1, max(cols) + 1):
            value = ws.cell(i, j).value
            if j in cols:
                assert value is None, f"{sheet}!{ws.cell(i, j).coordinate} under the button"
            elif isinstance(value, str):  # text running on to the right, under the button?
                width = len(value) * 7 * 0.75  # Calibri 11: about 7 px a character
                assert lefts[j] + width < button.left or ws.cell(i, j).alignment.wrap_text, \
                    f"{sheet}!{ws.cell(i, j).coordinate} runs under the button"
    for chart in ws._charts:
        assert chart.anchor._from.col + 1 > max(cols) or chart.anchor._from.row + 1 > max(rows)


def _edges(ws, axis: str, n: int) -> list[float]:
    """Left (or top) edge in points of columns (rows) 1..n, index 0 unused."""
    edges, at = [0.0, 0.0], 0.0
    for k in range(1, n + 1):
        if axis == "col":
            dim = ws.column_dimensions.get(get_column_letter(k))
            width = dim.width if dim is not None and dim.width else 8.43
            at += (int(width * 7 + 0.5) + 5) * 0.75
        else:
            at += ws.row_dimensions[k].height or 15.0
        edges.append(at)
    return edges


@pytest.mark.parametrize("sheet", ["Start", "Dashboard"])
def test_the_button_sends_the_one_command(books, sheet):
    app = click(books[1], sheet)
    assert app.sheet("Forecast").value("A2") == COMMAND
    assert app.dialogs == []


def test_without_the_add_in_the_button_explains_and_changes_nothing(books):
    app = click(books[1], "Start", installed=False)
    ((kind, prompt, title, _style),) = app.dialogs
    assert kind.lower() == "msgbox" and "clv-xl" in title
    assert "pip install ." in prompt and "xlwings addin install" in prompt
    assert "pip install clv-xl" not in prompt  # not on the public index
    assert "Cannot run the macro" in prompt
    assert app.sheet("Forecast").value("A2") is None


def test_the_start_sheet_says_what_to_do_without_the_add_in(books):
    ws = load_workbook(books[0])["Start"]
    (title,) = [c for c in ws["B"] if c.value == "Recompute button"]
    note = ws.cell(title.row + 1, 2).value
    assert "xlwings addin install" in note and "pip install ." in note
    assert "pip install clv-xl" not in note
    assert "add-in is missing" in note
