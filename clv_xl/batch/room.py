"""Room for more rows: the hidden Calc sheet of a book on disk rebuilt for more clients and
sessions (``clv-xl import`` when its rows would not fit, ``clv-xl grow``).

The book's own formulas read fixed blocks of rows (:mod:`clv_xl.template.calc`): the Clients
rows the book was built with, and a block of Sessions and Contacts rows sized ahead. A row
beyond them is invisible to the formulas (a client there shows #VALUE!). To make room, the
Calc sheet is built again by the template's own :func:`~clv_xl.template.calc.add_calc` for
the bigger layout and swapped into the zip with the workbook names it defines; every other
part stays as it is. Excel's calculation chain, which lists formula cells by address, is
dropped (Excel rebuilds it; the books recalculate fully on open anyway).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape

from ..book.io import BookError
from ..book.package import WORKBOOK, WORKBOOK_RELS, sheet_parts
from ..book.schema import CLIENTS, CONTACTS, SESSIONS
from ..template.calc import (CONTACT_ROWS, SESSION_ROWS, SHEET, Layout, _capacity, add_calc,
                             input_name)
from ..template.inputs import CLIENT_SPARE_ROWS
from .file_book import full_calc_on_load

_NAME = re.compile(r'<definedName\b([^>]*)>(.*?)</definedName>', re.S)
_NAME_ATTR = re.compile(r'\bname="([^"]+)"')
_LAST_ROW = re.compile(r"\$?(\d+)$")
_CALC_CHAIN = "xl/calcChain.xml"


def current_layout(archive: zipfile.ZipFile) -> Layout | None:
    """The rows the book's formulas read, from its workbook names; None for a book without a
    Calc sheet (an older or foreign book: nothing to grow)."""
    if SHEET not in sheet_parts(archive):
        return None
    names = _names(archive.read(WORKBOOK).decode("utf-8"))
    wanted = {"clients": "ClientRows", "sessions": input_name(SESSIONS, "date"),
              "contacts": input_name(CONTACTS, "date")}
    rows = {}
    for key, name in wanted.items():
        target = names.get(name)
        found = _LAST_ROW.search(target or "")
        if found is None:
            return None
        rows[key] = int(found.group(1)) - 1  # the blocks start in row 2
    return Layout(**rows)


def needed_layout(now: Layout, clients: int, sessions: int, contacts: int = 0) -> Layout:
    """``now``, or a bigger layout when the filled rows (counted from row 2) do not fit:
    clients get the spare rows of a new template, sessions and contacts half as many again."""
    out = now
    if clients > now.clients:
        out = replace(out, clients=clients + CLIENT_SPARE_ROWS)
    if sessions > now.sessions:
        out = replace(out, sessions=_capacity(sessions, SESSION_ROWS))
    if contacts > now.contacts:
        out = replace(out, contacts=_capacity(contacts, CONTACT_ROWS))
    return out


def calc_members(archive: zipfile.ZipFile, layout: Layout) -> dict[str, bytes | None]:
    """The zip members that give the book ``layout``: its Calc sheet, its workbook.xml with the
    Calc names, and the calculation chain removed (None) with its references."""
    sheet, names = _built_calc(layout)
    member = sheet_parts(archive)[SHEET]
    workbook = _with_names(archive.read(WORKBOOK).decode("utf-8"), names)
    members: dict[str, bytes | None] = {
        member: sheet, WORKBOOK: full_calc_on_load(workbook.encode("utf-8"))}
    if _CALC_CHAIN in archive.namelist():
        members[_CALC_CHAIN] = None
        rels = archive.read(WORKBOOK_RELS).decode("utf-8")
        members[WORKBOOK_RELS] = re.sub(r"<Relationship\b[^>]*calcChain[^>]*/>", "",
                                        rels).encode("utf-8")
        types = archive.read("[Content_Types].xml").decode("utf-8")
        members["[Content_Types].xml"] = re.sub(
            rf'<Override\b[^>]*PartName="/{re.escape(_CALC_CHAIN)}"[^>]*/>', "", types
        ).encode("utf-8")
    return members


def _built_calc(layout: Layout) -> tuple[bytes, dict[str, str]]:
    """The Calc worksheet XML for ``layout`` (text as inline strings, so it needs no shared
    strings of its own) and the names it defines, as the template builder writes them."""
    from openpyxl import Workbook

    wb = Workbook()  # its first sheet stays: a workbook's only sheet cannot be hidden
    add_calc(wb, layout)
    buffer = io.BytesIO()
    wb.save(buffer)
    with zipfile.ZipFile(buffer) as built:
        xml = built.read(sheet_parts(built)[SHEET]).decode("utf-8")
        strings = _shared_strings(built)
        names = _names(built.read(WORKBOOK).decode("utf-8"))

    def inline(match):
        attrs = re.sub(r'\s*\bt="s"', "", match.group(1))
        return (f'<c{attrs} t="inlineStr"><is><t xml:space="preserve">'
                f"{escape(strings[int(match.group(2))])}</t></is></c>")

    xml = re.sub(r'<c\b([^>]*\bt="s"[^>]*)><v>(\d+)</v></c>', inline, xml)
    return xml.encode("utf-8"), names


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    from defusedxml import ElementTree

    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    return ["".join(t.text or "" for t in si.iter(f"{ns}t")) for si in root.iter(f"{ns}si")]


def _names(workbook_xml: str) -> dict[str, str]:
    """Workbook-level defined names -> their formula text (as stored, XML-escaped)."""
    out = {}
    for match in _NAME.finditer(workbook_xml):
        if "localSheetId" in match.group(1):
            continue
        name = _NAME_ATTR.search(match.group(1))
        if name:
            out[name.group(1)] = match.group(2)
    return out


def _with_names(workbook_xml: str, names: dict[str, str]) -> str:
    """workbook.xml with ``names`` set: existing ones get the new text, missing ones are
    added at the end of ``<definedNames>``."""
    left = dict(names)

    def swap(match):
        name = _NAME_ATTR.search(match.group(1))
        if name and name.group(1) in left and "localSheetId" not in match.group(1):
            return f"<definedName{match.group(1)}>{left.pop(name.group(1))}</definedName>"
        return match.group(0)

    xml = _NAME.sub(swap, workbook_xml)
    added = "".join(f'<definedName name="{n}">{t}</definedName>' for n, t in left.items())
    if added:
        if "</definedNames>" not in xml:
            raise BookError("the book's workbook part has no defined names to grow")
        xml = xml.replace("</definedNames>", added + "</definedNames>", 1)
    return xml


@dataclass(frozen=True)
class Growth:
    """The rows a book's formulas read now and after it is given room."""

    before: Layout
    after: Layout

    def members(self, archive: zipfile.ZipFile) -> dict[str, bytes | None]:
        return calc_members(archive, self.after)

    def blank_client_rows(self, first_free: int, new_rows: int) -> int:
        """Clients rows to add with only their computed columns, below ``new_rows`` rows
        written from sheet row ``first_free``, so the table covers every row Calc reads."""
        if self.after.clients == self.before.clients:
            return 0
        return max(0, self.after.clients + 1 - (first_free + new_rows - 1))

    def describe(self) -> str:
        parts = [f"{label} {getattr(self.before, key):,} -> {getattr(self.after, key):,}"
                 for key, label in (("clients", "clients"), ("sessions", "sessions"),
                                    ("contacts", "contacts"))
                 if getattr(self.before, key) != getattr(self.after, key)]
        return "rows the book's formulas read: " + ", ".join(parts)


def growth(path, clients: int, sessions: int, contacts: int = 0) -> Growth | None:
    """The room a book needs for ``clients``, ``sessions`` and ``contacts`` filled rows (from
    row 2), or None when it has it (or has no Calc sheet)."""
    from .append import table_last_rows

    with zipfile.ZipFile(path) as archive:
        now = current_layout(archive)
    if now is None:
        return None
    table_rows = table_last_rows(path).get(CLIENTS.name, 1) - 1
    after = needed_layout(now, max(clients, table_rows), sessions, contacts)
    return None if after == now else Growth(now, after)


def grow_book(path, out=None):
    """``clv-xl grow``: the tables of Clients, Sessions and Contacts stretched over every filled
    row (rows typed below them get the computed columns) and the Calc sheet given room for
    them. Returns (Growth or None, written, backup); (None, None, None) when nothing is to do."""
    from pathlib import Path

    from ..book.io import BookReader
    from .append import append_rows, table_last_rows
    from .importing import first_free_row

    path = Path(path)
    reader = BookReader(path)
    present = set(reader.sheet_names())
    if CLIENTS.name not in present:
        raise BookError(f"{path.name} has no sheet named {CLIENTS.name!r}: grow works on a "
                        "clv-xl book (clv-xl template makes one)")
    free = {sheet.name: first_free_row(reader, sheet)
            for sheet in (CLIENTS, SESSIONS, CONTACTS) if sheet.name in present}
    tables = table_last_rows(path)
    filled = {name: at[1] - 2 for name, at in free.items()}
    plan = growth(path, *(filled.get(s.name, 0) for s in (CLIENTS, SESSIONS, CONTACTS)))
    additions = {}
    for name, (columns, first_free) in free.items():
        last = tables.get(name)
        if last is None:
            continue
        want = first_free - 1
        if name == CLIENTS.name and plan is not None:
            want = max(want, plan.after.clients + 1)
        if want > last:
            additions[name] = ({}, last + 1, [{}] * (want - last))
    if plan is None and not additions:
        return None, None, None
    written, backup = append_rows(path, additions, out,
                                  room=None if plan is None else plan.members)
    return plan, written, backup
