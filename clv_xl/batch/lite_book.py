"""The xlwings Lite door of the batch run: the open workbook, seen through xlwings Lite.

Lite cannot read the file from disk; its ``@script`` gets the open book as an ``xlwings.Book``
over Office.js (sheets, ``range(...).options(ndim=2).value``, ``used_range``,
``clear_contents``), the same calls :class:`~clv_xl.batch.excel_book.ExcelBook` makes. What
differs: Office.js has no status bar (xlwings' Lite engine raises on ``app.status_bar``), so
progress and errors go to the Lite output pane with ``print``, and an error also to Forecast!A2.
:func:`clv_xl.lite.scripts.recompute` is the script; docs/lite.md explains it.
"""

from __future__ import annotations

from .excel_book import FORECAST, ExcelBook, error_line, excel_value


class LiteBook(ExcelBook):
    """A book open in xlwings Lite; reads and writes as :class:`ExcelBook`, reports by print."""

    def __init__(self, xw_book, echo=print) -> None:
        super().__init__(xw_book)
        self.echo = echo

    def progress(self, stage: str, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        self.echo(f"clv-xl: {stage} ({fraction:.0%})")

    def done(self) -> None:
        self.echo("clv-xl: done: Forecast and Issues are up to date")

    def report_error(self, message: str) -> None:
        self.echo(message)
        if FORECAST in self.sheet_names():
            self.book.sheets[FORECAST].range("A2").value = excel_value(message)


def recompute_lite(xw_book, as_of=None, echo=print) -> LiteBook:
    """Recompute the open book in place (the Lite Recompute script); never raises."""
    book = LiteBook(xw_book, echo)
    try:
        from .pipeline import recompute

        book.progress("starting", 0.0)
        outputs = recompute(book, as_of=as_of)
        if not book.written:
            book.write_outputs(outputs)
    except Exception as exc:  # noqa: BLE001 - shown in the book and the output pane
        book.report_error(error_line(exc))
        return book
    book.done()
    return book
