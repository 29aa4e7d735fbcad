"""The Excel door of the batch run: the calling workbook as a :class:`~clv_xl.batch.book.Book`.

The Recompute button of ``clv_template.xlsm`` runs, through xlwings' ``RunPython``::

    import clv_xl.batch.excel_book as b; b.recompute_caller()

:func:`recompute_caller` takes the calling book (``xw.Book.caller()``), wraps it in
:class:`ExcelBook` and runs :func:`clv_xl.batch.pipeline.recompute` on it: the same pipeline the
command line runs on a file. Progress goes to Excel's status bar; an error becomes one short
line in the status bar, in Forecast!A2 and in a message box, never a Python traceback dialog.

This is the only module of the package that imports xlwings (and only when a book is opened).
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from ..book.cell_errors import with_cell_errors

FORECAST, ISSUES = "Forecast", "Issues"
TITLE = "Forecast"
#: Text Excel would turn into something else when it is assigned to a cell: a formula
#: (= + - @), a quote prefix ('), or a number or date ("00123", "1-2", "3/4").
_FORMULA_LIKE = re.compile(r"^[=+\-@']")
_NUMBER_LIKE = re.compile(r"^[\d\s.,:/%()$€£¥eE+-]*\d[\d\s.,:/%()$€£¥eE+-]*$")


class ExcelBook:
    """A workbook open in Excel (an ``xlwings.Book``), read and written as the pipeline needs."""

    def __init__(self, xw_book) -> None:
        self.book = xw_book
        self.name = xw_book.name
        self.written = False

    # --- reading ------------------------------------------------------------------------------

    def sheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.book.sheets]

    def read_rows(self, sheet: str) -> list[list]:
        """The cell values of the used range, from A1 (blanks are None, dates datetimes)."""
        ws = self.book.sheets[sheet]
        last = ws.used_range.last_cell
        values = ws.range((1, 1), (last.row, last.column)).options(ndim=2,
                                                                     err_to_str=True).value
        return with_cell_errors([list(row) for row in values or []])

    # --- writing ------------------------------------------------------------------------------

    def write_outputs(self, outputs) -> None:
        """Replace the contents of Forecast and Issues (formats and other sheets untouched)."""
        self._replace(FORECAST, forecast_grid(outputs))
        self._replace(ISSUES, issues_grid(outputs))
        self.written = True

    def _replace(self, sheet: str, grid: list[list]) -> None:
        ws = self.book.sheets[sheet]
        ws.used_range.clear_contents()
        if not grid:
            return
        width = max(len(row) for row in grid)
        block = [[excel_value(v) for v in row] + [None] * (width - len(row)) for row in grid]
        ws.range((1, 1), (len(block), width)).value = block

    def progress(self, stage: str, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        self.book.app.status_bar = f"clv-xl: {stage} ({fraction:.0%})"

    def done(self) -> None:
        """Give the status bar back to Excel."""
        self.book.app.status_bar = False

    def report_error(self, message: str) -> None:
        """Show ``message`` in the status bar, in Forecast!A2 and, where xlwings can, a box."""
        app = self.book.app
        app.status_bar = message
        if FORECAST in self.sheet_names():
            self.book.sheets[FORECAST].range("A2").value = excel_value(message)
        alert = getattr(app, "alert", None)
        if alert is not None:
            try:
                alert(message, title="clv-xl: Recompute", mode="critical")
            except Exception:  # noqa: BLE001 - the message is already in the book
                pass


def recompute_caller(as_of=None) -> None:
    """The Recompute button's entry point: recompute the calling workbook in place."""
    import xlwings as xw

    book = ExcelBook(xw.Book.caller())
    try:
        from .pipeline import recompute

        book.progress("starting", 0.0)
        outputs = recompute(book, as_of=as_of)
        if not book.written:
            book.write_outputs(outputs)
    except Exception as exc:  # noqa: BLE001 - shown in the book instead of a traceback dialog
        book.report_error(error_line(exc))
        return
    book.done()


def error_line(exc: BaseException, limit: int = 240) -> str:
    """One short line for the user: 'Recompute failed: <what>'."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    line = f"Recompute failed: {text}"
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- what goes into the sheets --------------------------------------------------------------

def forecast_grid(outputs) -> list[list]:
    """The Forecast sheet from A1: the layout the pipeline declares, else title, status,
    figures, a blank row, the header and one row per client."""
    declared = _declared("forecast_grid")
    if declared is not None:
        return declared(outputs)
    rows: list[list] = [[TITLE], [outputs.status]]
    rows += [[label, value] for label, value in outputs.figures]
    rows.append([])
    return rows + _table(outputs.forecast)


def issues_grid(outputs) -> list[list]:
    """The Issues sheet from A1: the header and one row per issue."""
    declared = _declared("issues_grid")
    if declared is not None:
        return declared(outputs)
    return _table(outputs.issues)


def _declared(name: str):
    """``clv_xl.batch.outputs.<name>``, the layout shared with the file door, if it has one."""
    try:
        from . import outputs
    except ImportError:
        return None
    return getattr(outputs, name, None)


def _table(frame) -> list[list]:
    return [list(frame.columns), *frame.itertuples(index=False, name=None)]


def excel_value(value):
    """``value`` as xlwings should assign it so that Excel stores exactly it.

    Missing values become blanks, numpy and pandas scalars plain Python ones, and text Excel
    would read as a formula, a number or a date gets a leading apostrophe: Excel keeps the
    apostrophe as the cell's quote prefix, not as part of the text, and the cell holds the text.
    """
    if value is None or (not isinstance(value, (str, list, tuple)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, str):
        quote = _FORMULA_LIKE.match(value) or _NUMBER_LIKE.match(value)
        return "'" + value if quote else value
    if isinstance(value, (bool, int, float, dt.date, dt.datetime)):
        return value
    return str(value)
