"""Appending rows to the input tables of a book on disk (``clv-xl import``).

The book's zip is rewritten as :mod:`.file_book` does it (members copied as stored, the new
book written beside the old one and moved over it, BOOK.bak kept), with only the worksheet
XML of the sheets that receive rows and their table parts changed:

- existing cells are kept as they are; the new rows go below the last row that holds a value
  in one of the table's input columns (into the blank rows a table keeps for typing, then
  below them);
- each new cell takes the style of its column in the table's first data row (dates get a date
  style); text is an inline string, never a formula;
- a new row below the table's last row gets the table's computed-column formulas (its
  ``calculatedColumnFormula``), and the table's range grows to cover it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree

from ..book.io import BookError
from ..book.package import _NS_PKG, sheet_parts
from .file_book import _Styles, _column_number, cell_xml, write_outputs

_ROW = re.compile(r"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(r'\br="([A-Z]+)(\d+)"')
_STYLE = re.compile(r'\bs="(\d+)"')
_TABLE_REF = re.compile(r'(\bref=")([A-Z]+)(\d+):([A-Z]+)(\d+)(")')


def append_rows(path: Path, additions: dict[str, tuple[dict[str, int], int, list[dict]]],
                out: Path | None = None, room=None):
    """Write ``path`` (or ``out``) with rows added to sheets. ``additions``: sheet name ->
    ({header: column number}, the first free sheet row, rows as {header: value}; an empty
    row gets only the table's computed columns). ``room``: a function of the open zip that
    returns more members to replace (:func:`.room.calc_members`), written in the same pass.
    Returns (written, backup) as :func:`~.file_book.write_outputs` does."""
    members: dict[str, bytes | None] = {}
    with zipfile.ZipFile(path) as archive:
        if room is not None:
            members.update(room(archive))
        parts = sheet_parts(archive)
        styles = _Styles(archive.read("xl/styles.xml") if "xl/styles.xml" in
                         archive.namelist() else b"")
        for sheet, (columns, first_free, rows) in additions.items():
            if not rows:
                continue
            member = parts.get(sheet)
            if member is None:
                raise BookError(f"{path.name} has no sheet named {sheet!r}")
            table_member, table_xml = _table_of(archive, member, sheet)
            formulas = _calculated_columns(table_xml) if table_xml else {}
            xml = archive.read(member).decode("utf-8")
            new_xml, last = _append(xml, columns, rows, first_free, formulas, styles)
            members[member] = new_xml.encode("utf-8")
            if table_xml is not None:
                members[table_member] = _grow_table(table_xml, last).encode("utf-8")
    if not members:
        return None, None
    return write_outputs(path, {}, out, members=members)


def table_last_rows(path: Path) -> dict[str, int]:
    """Sheet name -> the last row of its Excel table (sheets without a table left out)."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for sheet, member in sheet_parts(archive).items():
            _, xml = _table_of(archive, member, sheet)
            match = _TABLE_REF.search(xml) if xml else None
            if match:
                out[sheet] = int(match.group(5))
    return out


def _table_of(archive, member: str, sheet: str) -> tuple[str | None, str | None]:
    """(zip member, XML) of the Excel table on a sheet (the one named like the sheet first)."""
    rels_name = str(PurePosixPath(member).parent / "_rels" / (PurePosixPath(member).name + ".rels"))
    if rels_name not in archive.namelist():
        return None, None
    rels = ElementTree.fromstring(archive.read(rels_name))
    found = []
    for rel in rels.iter(f"{{{_NS_PKG}}}Relationship"):
        if not rel.get("Type", "").endswith("/table"):
            continue
        target = rel.get("Target", "")
        name = target.lstrip("/") if target.startswith("/") else \
            str(PurePosixPath(member).parent / target)
        name = _normalise(name)
        if name in archive.namelist():
            found.append((name, archive.read(name).decode("utf-8")))
    for name, xml in found:
        if re.search(rf'\bdisplayName="{re.escape(sheet)}"', xml):
            return name, xml
    return found[0] if found else (None, None)


def _normalise(member: str) -> str:
    out: list[str] = []
    for part in member.split("/"):
        if part == "..":
            if out:
                out.pop()
        elif part not in ("", "."):
            out.append(part)
    return "/".join(out)


def _calculated_columns(table_xml: str) -> dict[int, str]:
    """Column number (from the table's first column) -> the formula of a computed column."""
    first = _TABLE_REF.search(table_xml)
    start = _column_number(first.group(2)) if first else 1
    formulas = {}
    columns = re.findall(r"<tableColumn\b[^>]*?(?:/>|>(.*?)</tableColumn>)", table_xml, re.S)
    for i, body in enumerate(columns):
        match = re.search(r"<calculatedColumnFormula[^>]*>(.*?)</calculatedColumnFormula>",
                          body or "", re.S)
        if match:
            formulas[start + i] = match.group(1)  # already XML-escaped
    return formulas


def _append(xml: str, columns: dict[str, int], rows: list[dict], first_free: int,
            formulas: dict[int, str], styles) -> tuple[str, int]:
    """The worksheet XML with ``rows`` written from sheet row ``first_free`` on, and the last
    row written. Rows above ``first_free`` are copied as they are, unparsed."""
    from openpyxl.utils import get_column_letter

    match = re.search(r"<sheetData\b[^>]*?(?:/>|>(.*?)</sheetData>)", xml, re.S)
    if match is None or re.search(r"<\w+:sheetData\b", xml):
        raise BookError("a worksheet this command cannot append to (no plain <sheetData>)")
    body = match.group(1) or ""
    found = [(int(re.search(r'\br="(\d+)"', m.group(1)).group(1)), m)
             for m in _ROW.finditer(body)]
    split = next((i for i, (r, _) in enumerate(found) if r >= first_free), len(found))
    kept = body[:found[split][1].start()] if split < len(found) else body
    template = next((_cells(m) for r, m in found if r == 2), {})  # styles every new row
    tail = {r: (m.group(1), _cells(m)) for r, m in found[split:]}
    template_styles = {col: _style(cell) for col, cell in template.items()}
    letters = {col: get_column_letter(col) for col in set(columns.values()) | set(formulas)}
    last = first_free + len(rows) - 1
    for i, values in enumerate(rows):
        r = first_free + i
        attrs, cells = tail.get(r, (f' r="{r}"', {}))
        for header, col in columns.items():
            value = values.get(header)
            if value is None:
                continue
            style = _style(cells[col]) if col in cells else template_styles.get(col)
            cells[col] = cell_xml(f"{letters[col]}{r}", style, value, styles)
        for col, formula in formulas.items():
            if col not in cells or "<f" not in cells[col]:
                style = template_styles.get(col)
                s = f' s="{style}"' if style else ""
                cells[col] = f'<c r="{letters[col]}{r}"{s}><f>{formula}</f></c>'
        tail[r] = (attrs, cells)
    new_rows = "".join(f"<row{tail[r][0]}>" + "".join(c for _, c in sorted(tail[r][1].items()))
                       + "</row>" for r in sorted(tail))
    new_xml = xml[:match.start()] + f"<sheetData>{kept}{new_rows}</sheetData>" + \
        xml[match.end():]
    width = max([c for _, cells in tail.values() for c in cells] + list(template) + [1])
    end = max([last] + [r for r, _ in found])
    new_xml = re.sub(r'(<dimension\b[^>]*?\bref=")[^"]*(")',
                     rf"\g<1>A1:{get_column_letter(width)}{end}\g<2>", new_xml, count=1)
    return new_xml, last


def _cells(row_match) -> dict[int, str]:
    """Column number -> the ``<c>`` element, of one ``<row>``."""
    cells = {}
    for cell in _CELL.finditer(row_match.group(2) or ""):
        ref = _REF.search(cell.group(1))
        cells[_column_number(ref.group(1))] = cell.group(0)
    return cells


def _style(cell: str) -> str | None:
    found = _STYLE.search(cell.split(">", 1)[0])
    return found.group(1) if found else None


def _grow_table(table_xml: str, last_row: int) -> str:
    """The table (and its autoFilter) reaching down to ``last_row`` at least."""
    def grow(m):
        end = max(int(m.group(5)), last_row)
        return f"{m.group(1)}{m.group(2)}{m.group(3)}:{m.group(4)}{end}{m.group(6)}"
    return _TABLE_REF.sub(grow, table_xml)
