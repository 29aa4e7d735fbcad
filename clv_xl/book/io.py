"""Reading input tables from a workbook or a CSV file, and writing result tables.

python-calamine reads (a Rust reader, about ten times faster than openpyxl on large
sheets); openpyxl writes. Text from a cell is always written back as text, never as a
formula.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from .schema import INPUT_SHEETS, NUMBER_KINDS
from ..engine.units import fold
from .cell_errors import error_cells
from .package import Package, PackageError, check_package, one_line
from .validate import SchemaError

#: A workbook that unpacks to more than this is refused before parsing (zip bombs).
MAX_UNPACKED_BYTES = 2_000_000_000


class BookError(ValueError):
    """The file cannot be read as a book: the message says why, in one line."""


def check_size(path: Path) -> Package:
    """Refuse a file whose uncompressed contents are absurdly large, or whose zip package is
    damaged or hostile (:func:`clv_xl.book.package.check_package`), before anything parses it.
    Returns what the check found (sheet parts, error cells)."""
    try:
        return check_package(path, MAX_UNPACKED_BYTES)
    except PackageError as exc:
        raise BookError(str(exc)) from None


class BookReader:
    """A .xlsx/.xlsm file, read with python-calamine: the reading half of the batch's
    :class:`~clv_xl.batch.book.Book` (blank cells become None)."""

    def __init__(self, path) -> None:
        self.path = Path(path)
        self.name = self.path.name
        if not self.path.is_file():
            raise BookError(f"{self.path} does not exist")
        if self.path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise BookError(f"{self.name}: clv-xl reads and writes .xlsx or .xlsm books")
        self._package = check_size(self.path)
        from python_calamine import CalamineWorkbook

        try:
            self._reader = CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # noqa: BLE001 - calamine raises its own error types
            raise BookError(f"{self.name} cannot be read as a workbook: {one_line(exc)}") \
                from None

    def sheet_names(self) -> list[str]:
        return list(self._reader.sheet_names)

    def read_rows(self, sheet: str) -> list[list]:
        try:
            rows = self._reader.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - calamine's errors (XmlError, ZipError, ...)
            raise BookError(f"{self.name}: the sheet {sheet!r} is damaged and cannot be read "
                            f"({one_line(exc)})") from None
        rows = [[None if v == "" else v for v in row] for row in rows]
        return self._with_errors(sheet, rows)

    def _with_errors(self, sheet: str, rows: list[list]) -> list[list]:
        """``rows`` with the error cells (#N/A, ...), which calamine gives as "", as
        :class:`~clv_xl.book.cell_errors.CellError` values."""
        member = self._package.parts.get(sheet)
        if member is None:
            return rows
        errors = self._package.error_cells.get(member)
        if errors is None:  # a worksheet outside xl/worksheets/: not scanned yet
            with zipfile.ZipFile(self.path) as archive:
                errors = error_cells(archive, member)
        for (r, c), error in errors.items():
            if r < len(rows) and c < len(rows[r]):
                rows[r][c] = error
        return rows

    def progress(self, stage: str, fraction: float) -> None:
        """Reading alone reports no progress."""


def rows_to_frame(rows: list[list], sheet: str) -> tuple[pd.DataFrame, int]:
    """The raw rows of a sheet (from row 1) as a DataFrame under its header, and the sheet
    row of the first data row. The header is the first row with any value; columns with a
    blank header and trailing blank rows are left out."""
    header_at = next((i for i, row in enumerate(rows)
                      if any(v is not None and str(v).strip() != "" for v in row)), None)
    if header_at is None:
        raise SchemaError(f"sheet {sheet!r} is empty: it needs a header row")
    header = [None if v is None else str(v).strip() for v in rows[header_at]]
    keep = [j for j, h in enumerate(header) if h]
    end = len(rows)
    while end > header_at + 1 and all(v is None or v == "" for v in rows[end - 1]):
        end -= 1
    body = rows[header_at + 1:end]
    width = len(header)
    if any(len(row) != width for row in body):
        body = [list(row[:width]) + [None] * (width - len(row)) for row in body]
    frame = pd.DataFrame(body, columns=range(width), dtype=object) if body else \
        pd.DataFrame(columns=range(width), dtype=object)
    frame = frame[keep]
    frame.columns = [header[j] for j in keep]
    return frame, header_at + 2


def read_table(path, sheet: str) -> tuple[pd.DataFrame, int]:
    """The raw cells of one sheet as a DataFrame under its header row, and the sheet row of
    the first data row. A CSV file is read as that one table (its sheet name is ignored)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        if not path.exists():
            raise BookError(f"{path} does not exist")
        frame = pd.read_csv(path, dtype=object, keep_default_na=False)
        return _numbers_from_text(frame.replace("", None), sheet), 2
    book = BookReader(path)
    if sheet not in book.sheet_names():
        raise SchemaError(f"the book has no sheet named {sheet!r}")
    return rows_to_frame(book.read_rows(sheet), sheet)


def _numbers_from_text(frame: pd.DataFrame, sheet: str) -> pd.DataFrame:
    """A CSV holds only text: in the sheet's number columns, text that reads as a number
    becomes one (ids and other text columns stay as they are, leading zeros and all)."""
    numeric = {fold(name) for declared in INPUT_SHEETS if declared.name == sheet
               for column in declared.columns if column.kind in NUMBER_KINDS
               for name in (column.header, column.key)}
    out = frame.copy()
    for column in out.columns:
        if fold(column) in numeric:
            numbers = pd.to_numeric(out[column], errors="coerce")
            out[column] = out[column].where(numbers.isna(), numbers.astype(object))
    return out


def write_tables(path, tables: dict[str, pd.DataFrame]) -> Path:
    """Write each DataFrame to a sheet of a new workbook (headers in row 1)."""
    from openpyxl import Workbook  # desktop only: reading rows needs no openpyxl

    book = Workbook(write_only=True)
    for name, table in tables.items():
        sheet = book.create_sheet(name)
        sheet.append([text_cell(sheet, str(c)) for c in table.columns])
        for row in table.itertuples(index=False):
            sheet.append([excel_cell(sheet, v) for v in row])
    path = Path(path)
    book.save(path)
    return path


def excel_cell(sheet, value):
    """A value as a cell; strings stay strings even when they start with '='."""
    if isinstance(value, str):
        return text_cell(sheet, value)
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def text_cell(sheet, text: str):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell
