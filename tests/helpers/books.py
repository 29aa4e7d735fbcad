"""Every kind of book the project writes, for the Excel conformance suite.

``python -m tests.helpers.books OUT`` writes into OUT: the template (.xlsx and .xlsm), the demo
book (.xlsx and .xlsm), a demo book whose rows hold hostile text, the .xlsm template after
an import that makes it grow, and each of the three filled
books recomputed by ``clv-xl recompute``; it prints ``{"lxml": ..., "books": {...}}`` as JSON.
It runs in a subprocess so that ``OPENPYXL_LXML`` (read once, when openpyxl is imported)
decides how openpyxl writes: with lxml (``True``, openpyxl's default where lxml is installed,
as in Anaconda) or with the standard library (``False``, as where lxml is missing).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: Text Excel must take back as it was: markup characters, a control character (openpyxl refuses
#: raw ones, so it is written as Excel's own escape ``_x0007_``, which readers decode), emoji
#: (outside the Basic Multilingual Plane: two UTF-16 units each), a formula look-alike.
HOSTILE = "<&> \"q\" 'a' _x0007_bell _x001F_unit 😀🎉 =1+1 ]]> &amp;"
#: Excel's limit for the text of one cell, in characters (UTF-16 units).
LONGEST_CELL = 32767


def hostile_data(data):
    """``data`` with hostile text in names, notes, packages and client ids (some rows then
    refer to no client, so the Issues sheet repeats the hostile text)."""
    clients, sessions = data.clients.copy(), data.sessions.copy()
    clients.loc[0, "name"] = HOSTILE
    clients.loc[1, "notes"] = "N" * LONGEST_CELL
    clients.loc[2, "segment"] = "😀" * 10
    sessions.loc[0, "package"] = HOSTILE
    sessions.loc[1, "client_id"] = HOSTILE  # no such client: listed in Issues with its value
    sessions.loc[2, "client_id"] = "X" * LONGEST_CELL
    sessions["amount"] = sessions["amount"].astype(object)
    sessions.loc[3, "amount"] = "12 <&> 😀"  # not a number: listed in Issues
    return type(data)(**{**vars(data), "clients": clients, "sessions": sessions})


def _imported(template: Path, out: Path) -> Path:
    """The .xlsm template after ``clv-xl import`` of more clients than it has rows for, so the
    import grows its tables and rebuilds its Calc sheet."""
    from clv_xl.cli import main as clv_xl

    export = out / "export.csv"
    export.write_text("Date,Customer,Total,Status\n" + "".join(
        f"2025-{1 + i % 12:02d}-{1 + i % 28:02d},C{i % 260:03d},{20 + i % 90}.50,Completed\n"
        for i in range(700)), encoding="utf-8")
    book = out / "imported.xlsm"
    if clv_xl(["import", str(export), "--into", str(template), "--out", str(book)]) != 0:
        raise SystemExit("import into the template failed")
    return book


def build_all(out: Path) -> dict[str, str]:
    from clv_xl.cli import main as clv_xl
    from clv_xl.demo import demo_data
    from clv_xl.template import build_template
    from clv_xl.template.macro import build_macro_template

    out.mkdir(parents=True, exist_ok=True)
    data = demo_data(seed=7, n_clients=40)
    books = {"template.xlsx": build_template(out / "template.xlsx")}
    books["template.xlsm"] = build_macro_template(books["template.xlsx"], out / "template.xlsm")
    books["demo.xlsx"] = build_template(out / "demo.xlsx", data)
    books["demo.xlsm"] = build_macro_template(books["demo.xlsx"], out / "demo.xlsm")
    books["hostile.xlsx"] = build_template(out / "hostile.xlsx", hostile_data(data))
    books["imported.xlsm"] = _imported(books["template.xlsm"], out)
    for name in ("demo.xlsx", "demo.xlsm", "hostile.xlsx"):
        target = out / f"recomputed-{name}"
        code = clv_xl(["recompute", str(books[name]), "--out", str(target)])
        if code != 0:
            raise SystemExit(f"recompute {name} failed")
        books[f"recomputed-{name}"] = target
    return {name: str(path) for name, path in books.items()}


def main(argv=None) -> None:
    (out,) = argv if argv is not None else sys.argv[1:]
    from openpyxl import xml

    books = build_all(Path(out))
    print(json.dumps({"lxml": bool(xml.LXML), "books": books}))


if __name__ == "__main__":
    main()
