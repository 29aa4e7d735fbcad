"""Error cells (#N/A, #REF!, #DIV/0!, ...) of a worksheet, found in its XML.

python-calamine gives an error cell as "" (as if blank); a formula that broke in Excel would
then silently count as an empty cell. :func:`error_cells` finds them in the sheet's XML
(``<c r="B7" t="e"><v>#N/A</v></c>``, streamed, a few hundred MB a second) so that the
reader can hand them on as :class:`CellError` values and the checks can name them.
"""

from __future__ import annotations

import re
import zipfile

_ERROR_CELL = re.compile(
    rb'<(?:\w+:)?c\b([^>]*?\bt="e"[^>]*)>\s*(?:<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*)?'
    rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
_CHUNK = 1 << 22
#: The error values Excel shows in a cell (what xlwings gives with ``err_to_str``).
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!",
                          "#CONNECT!", "#UNKNOWN!", "#BUSY!"})


class CellError(str):
    """An error value of a cell, e.g. ``CellError("#N/A")`` (a str, so that it is shown as
    Excel shows it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"CellError({str(self)!r})"


def with_cell_errors(rows: list[list]) -> list[list]:
    """``rows`` with each Excel error text ("#N/A", as xlwings reads an error cell with
    ``err_to_str``) made a :class:`CellError`."""
    for row in rows:
        for j, value in enumerate(row):
            if type(value) is str and value[:1] == "#" and value in EXCEL_ERRORS:
                row[j] = CellError(value)
    return rows


def error_cells(archive: zipfile.ZipFile, member: str) -> dict[tuple[int, int], CellError]:
    """{(row index, column index) from 0 (A1 = (0, 0)): the error} of the worksheet part."""
    found: dict[tuple[int, int], CellError] = {}
    tail = b""
    with archive.open(member) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            data = tail + chunk
            if not chunk:
                _scan(data, found)
                return found
            cut = data.rfind(b"<c ")  # a cell may straddle chunks: keep the last one
            cut = cut if cut > 0 else len(data)
            if b't="e"' in data:
                _scan(data[:cut], found)
            tail = data[cut:]


def _scan(data: bytes, found: dict) -> None:
    for match in _ERROR_CELL.finditer(data):
        ref = _REF.search(match.group(1))
        if ref is None:
            continue
        column = 0
        for letter in ref.group(1):
            column = column * 26 + letter - 64
        code = match.group(2).decode("utf-8", "replace").strip() or "#VALUE!"
        found[(int(ref.group(2)) - 1, column - 1)] = CellError(code)
