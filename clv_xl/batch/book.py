"""The one small interface both doors of the batch run implement.

The pipeline (:mod:`clv_xl.batch.pipeline`) reads and writes a workbook only through a
:class:`Book`: the headless door (:class:`clv_xl.batch.file_book.FileBook`, a file on disk) and
the Excel door (:class:`clv_xl.batch.excel_book.ExcelBook`, a book open in Excel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .outputs import Outputs


class Book(Protocol):
    name: str

    def sheet_names(self) -> list[str]:
        """The names of the book's sheets, in order."""

    def read_rows(self, sheet: str) -> list[list]:
        """Raw cell values of the used range from row 1 (and column A): None for blanks,
        dates as datetime/date."""

    def write_outputs(self, outputs: Outputs) -> None:
        """Replace the contents of the Forecast and Issues sheets (only those sheets)."""

    def progress(self, stage: str, fraction: float) -> None:
        """Report progress: ``fraction`` is 0..1 within the whole run."""

    # Optional: ``close()``, called when the run ends (the file door lets go of its lock).
