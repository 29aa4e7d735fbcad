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
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .schema import INPUT_SHEETS, NUMBER_KINDS
from .settings import settings_from_rows
from .validate import SchemaError, fold

#: A workbook that unpacks to more than this is refused before parsing (zip bombs).
MAX_UNPACKED_BYTES = 2_000_000_000


class BookError(ValueError):
    """The file cannot be read as a book: the message says why, in one line."""


def check_size(path: Path) -> None:
    """Refuse a file whose uncompressed contents are absurdly large."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise BookError(f"{path.name} is not an Excel workbook (.xlsx/.xlsm)") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise BookError(f"{path.name} unpacks to {unpacked / 1e9:.1f} GB; refusing to read it")


def read_table(path, sheet: str) -> tuple[pd.DataFrame, int]:
    """The raw cells of one sheet as a DataFrame under its header row, and the sheet row of
    the first data row. A CSV file is read as that one table (its sheet name is ignored)."""
    path = Path(path)
    if not path.exists():
        raise BookError(f"{path} does not exist")
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=object, keep_default_na=False)
        return _numbers_from_text(frame.replace("", None), sheet), 2
    from python_calamine import CalamineWorkbook

    check_size(path)
    book = CalamineWorkbook.from_path(str(path))
    if sheet not in book.sheet_names:
        raise SchemaError(f"the book has no sheet named {sheet!r}")
    rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    header_at = next((i for i, r in enumerate(rows) if any(v != "" for v in r)), None)
    if header_at is None:
        raise SchemaError(f"sheet {sheet!r} is empty: it needs a header row")
    header = [str(h).strip() for h in rows[header_at]]
    body = rows[header_at + 1:]
    while body and all(v == "" for v in body[-1]):
        body.pop()
    frame = pd.DataFrame(body, columns=header, dtype=object).replace("", None)
    return frame, header_at + 2


def read_settings(path) -> dict:
    """The values of the book's Settings sheet, by setting key (blank cells left out)."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    check_size(path)
    book = CalamineWorkbook.from_path(str(path))
    if "Settings" not in book.sheet_names:
        return {}
    rows = book.get_sheet_by_name("Settings").to_python()
    return {k: v for k, v in settings_from_rows(rows, strict=False).items() if v != ""}


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


def text_cell(sheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell
