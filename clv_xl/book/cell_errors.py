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
    scanner = ErrorScanner()
    with archive.open(member) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                return scanner.finish()
            scanner.feed(chunk)


class ErrorScanner:
    """:func:`error_cells` of a worksheet fed in chunks as it is unpacked (so that the
    package check, which unpacks every part anyway, finds them in the same pass)."""

    def __init__(self) -> None:
        self.found: dict[tuple[int, int], CellError] = {}
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk
        cut = data.rfind(b"<c ")  # the last cell may go on in the next chunk: keep it
        if cut < 0:  # no cell starts here (but "<c" may end this chunk)
            self._tail = data[-2:]
            return
        if data.find(b't="e"', 0, cut) >= 0:
            _scan(data, self.found, cut)
        self._tail = data[cut:]

    def finish(self) -> dict[tuple[int, int], CellError]:
        _scan(self._tail, self.found, len(self._tail))
        self._tail = b""
        return self.found


def _scan(data: bytes, found: dict, end: int) -> None:
    for match in _ERROR_CELL.finditer(data, 0, end):
        ref = _REF.search(match.group(1))
        if ref is None:
            continue
        column = 0
        for letter in ref.group(1):
            column = column * 26 + letter - 64
        code = match.group(2).decode("utf-8", "replace").strip() or "#VALUE!"
        found[(int(ref.group(2)) - 1, column - 1)] = CellError(code)
