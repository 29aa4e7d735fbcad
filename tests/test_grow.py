"""Room for more rows: ``clv-xl import`` and ``clv-xl grow`` make the book's own formulas count
every filled row (LibreOffice recalculates the result), and the rebuilt book keeps Excel's
package rules (a calculation chain Excel wrote is dropped with its references)."""

from __future__ import annotations

import random
from datetime import date
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from clv_xl.cli import main
from helpers import ooxml
from libreoffice import recalculate, require_soffice

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbook" / "clv_template.xlsx"
CHAIN = "xl/calcChain.xml"  # Excel's calculation chain, a part of the package


def _typed(book: Path, clients: int, seed: int = 3) -> dict[str, tuple[int, float]]:
    """The template filled as a script (or LibreOffice) fills it: ``clients`` clients from row
    2 down, past the table's blank rows, and their sessions below Sessions' one-row table;
    each client's (completed sessions, revenue) as typed."""
    rng = random.Random(seed)
    wb = load_workbook(book)
    clients_ws, sessions_ws = wb["Clients"], wb["Sessions"]
    truth, row = {}, 2
    for c in range(clients):
        cid = f"T{c:04d}"
        clients_ws.cell(2 + c, 1, cid)
        done, revenue = 0, 0.0
        for _ in range(rng.randint(1, 3)):
            amount = rng.choice([40.0, 95.5, 180.0])
            status = rng.choice(["Completed", "Completed", "Cancelled"])
            day = date(2025, rng.randint(1, 9), rng.randint(1, 28))
            for col, value in enumerate((day, cid, "Session", amount, status), start=1):
                sessions_ws.cell(row, col, value)
            row += 1
            if status == "Completed":
                done, revenue = done + 1, revenue + amount
        truth[cid] = (done, revenue)
    wb.save(book)
    return truth


def _clients(book: Path) -> dict[str, tuple]:
    values = load_workbook(book, data_only=True)["Clients"]
    rows = list(values.values)
    at = {name: rows[0].index(name) for name in ("Client ID", "Completed", "Revenue")}
    return {r[at["Client ID"]]: (r[at["Completed"]], r[at["Revenue"]]) for r in rows[1:]
            if r[at["Client ID"]]}


def _data_check(book: Path) -> str:
    wb = load_workbook(book, data_only=True)
    name = wb.defined_names["DataCheck"]
    (sheet, ref), = name.destinations
    return wb[sheet][ref.replace("$", "")].value


def test_rows_typed_below_the_tables_count_after_grow(tmp_path, capsys):
    require_soffice()
    book = tmp_path / "typed.xlsx"
    shutil.copyfile(TEMPLATE, book)
    truth = _typed(book, clients=260)  # the template's Clients table has 200 rows
    before = recalculate(book, tmp_path / "before")
    assert "run clv-xl grow" in _data_check(before)
    assert sum(1 for cid, (done, _) in _clients(before).items()
               if done is None or isinstance(done, str)) >= 60  # not counted: no formulas

    assert main(["grow", str(book)]) == 0
    said = capsys.readouterr().out
    assert "clients 200 -> 460" in said, said
    after = recalculate(book, tmp_path / "after")
    assert _data_check(after) == "OK"
    seen = _clients(after)
    assert set(seen) == set(truth)
    for cid, (done, revenue) in truth.items():
        assert seen[cid][0] == done, cid
        assert seen[cid][1] == pytest.approx(revenue), cid

    assert main(["grow", str(book)]) == 0  # once is enough
    assert "Nothing to do" in capsys.readouterr().out


def _with_calc_chain(book: Path, out: Path) -> None:
    """``book`` as Excel saves it: with a calculation chain (xl/calcChain.xml), its
    relationship and its content type."""
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", (
                    b'<Relationship Id="rIdChain" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
                    b"</Relationships>"))
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", (
                    f'<Override PartName="/{CHAIN}" ContentType="application/vnd.'
                    'openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>'
                ).encode())
            dst.writestr(info, data)
        dst.writestr(CHAIN, (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns='
            '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="L2" i="3"/>'
            "</calcChain>"))


def test_a_grown_book_keeps_excels_package_rules(tmp_path):
    book = tmp_path / "excel-saved.xlsx"
    _with_calc_chain(TEMPLATE, book)
    assert ooxml.package_problems(ooxml.Package(book)) == []  # the fixture is sound
    export = tmp_path / "export.csv"
    export.write_text("Date,Customer,Total\n" + "".join(
        f"2025-03-{1 + i % 28:02d},C{i:03d},{50 + i}.00\n" for i in range(230)))
    assert main(["import", str(export), "--into", str(book)]) == 0
    package = ooxml.Package(book)
    assert ooxml.package_problems(package) == []
    with zipfile.ZipFile(book) as archive:
        names = archive.namelist()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        types = archive.read("[Content_Types].xml").decode()
        workbook = archive.read("xl/workbook.xml").decode()
    assert CHAIN not in names and "calcChain" not in rels + types
    assert re.search(r'<definedName name="ClientRows">Clients!\$A\$2:\$A\$431<', workbook)
    assert 'fullCalcOnLoad="1"' in workbook
    with zipfile.ZipFile(book.with_name("excel-saved.bak.xlsx")) as backup:
        assert CHAIN in backup.namelist()  # the previous version, as it was
