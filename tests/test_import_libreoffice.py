"""The proof that an import lands where the book's own formulas see it: LibreOffice
recalculates a template filled by ``clv-xl import`` (more clients than the Clients table's
blank rows, so the tables must grow) and its per-client Completed count and Revenue equal
the export's, summed here from the export's own rows."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from clv_xl.cli import main
from libreoffice import recalculate, require_soffice

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook" / "clv_template.xlsx"


def _export(path: Path, clients: int = 230, seed: int = 7) -> dict[str, tuple[int, float]]:
    """A Square-like export (US dates, $ amounts, refunds in parentheses), and each client's
    (completed sessions, revenue) as the export means them."""
    rng = random.Random(seed)
    lines = ["Date,Customer ID,Description,Net Sales,Event Type"]
    truth = {}
    for c in range(clients):
        cid = f"CUST{c:04d}"
        done, revenue, last = 0, 0.0, None
        for k in range(rng.randint(1, 4)):
            month, day = rng.randint(1, 11), rng.randint(13, 28)
            amount = rng.choice([35.0, 60.0, 120.0, 1250.5])
            lines.append(f'{month}/{day}/2025,{cid},Session,"${amount:,.2f}",Payment')
            done += 1
            revenue += amount
            if last is None or (month, day) > last[0]:
                last = ((month, day), amount)
        if c % 10 == 0:  # a refund after the last session lowers it
            lines.append(f'12/30/2025,{cid},Session,"($20.00)",Refund')
            revenue -= min(20.0, last[1])
        truth[cid] = (done, revenue)
    path.write_text("\n".join(lines) + "\n")
    return truth


def test_imported_rows_are_counted_by_the_books_own_formulas(tmp_path, capsys):
    require_soffice()
    book = tmp_path / "book.xlsx"
    shutil.copyfile(TEMPLATE, book)
    export = tmp_path / "square.csv"
    truth = _export(export)
    assert main(["import", str(export), "--into", str(book)]) == 0, capsys.readouterr().err
    values = load_workbook(recalculate(book, tmp_path / "out"), data_only=True)["Clients"]
    rows = list(values.values)
    header = rows[0]
    at = {name: header.index(name) for name in ("Client ID", "Completed", "Revenue")}
    seen = {r[at["Client ID"]]: (r[at["Completed"]], r[at["Revenue"]]) for r in rows[1:]
            if r[at["Client ID"]]}
    assert set(seen) == set(truth)
    for cid, (done, revenue) in truth.items():
        assert seen[cid][0] == done, cid
        assert seen[cid][1] == pytest.approx(revenue), cid
